/* A run folder: what a headless run leaves behind — metrics.jsonl and
 * metrics.csv (one row per epoch and phase), loss.png and accuracy.png
 * (curves over the whole run, phase boundaries marked), confusion-<name>.png
 * per evaluation, and summary.json (top-k accuracy only where k is less
 * than the class count). The runlog owns its open files. */
#ifndef THAW_RUNLOG_H
#define THAW_RUNLOG_H

#include "thaw/event.h"

typedef struct thaw_runlog thaw_runlog;

/* Creates dir (and parents). With keep_until_phase > 0 (resuming), the rows
 * already there up to phase keep_until_phase, epoch keep_until_epoch are
 * kept (read back from metrics.csv) and later ones dropped; otherwise the
 * files start empty. */
thaw_runlog *thaw_runlog_open(const char *dir, int keep_until_phase, int keep_until_epoch);
void thaw_runlog_free(thaw_runlog *r);
const char *thaw_runlog_dir(const thaw_runlog *r);
/* The run folder as a sink of the event stream: an EPOCH event appends a
 * row and redraws the curves; an EVAL event writes confusion-<name>.png and
 * is remembered for the summary; a LOG event that is a warning is listed
 * in the summary; other kinds are ignored. 0 or < 0 (a file could not be
 * written: recorded as the run's failed save, see below). Every file is
 * written atomically (thaw/atomic.h): a kill leaves whole files. */
int thaw_runlog_event(thaw_runlog *r, const thaw_event *ev);
/* A save that failed (the host's: a checkpoint, model.thaw); the runlog's
 * own failed writes are recorded the same way. The first one is kept and
 * summary.json shows it as "save_failed": {"file": ..., "reason": ...}. */
void thaw_runlog_save_failed(thaw_runlog *r, const char *file, const char *reason);
/* The first failed save's message and file; NULL when none. Borrowed. */
const char *thaw_runlog_save_error(const thaw_runlog *r, const char **file);
/* Writes summary.json: status ("ok", "check failed", "error", "interrupted",
 * "save-failed"), exit code, checks, wall time, the last epoch row,
 * evaluations, warnings, the failed save, error. */
int thaw_runlog_finish(thaw_runlog *r, const char *script, const char *status, int exit_code,
		       int checks_passed, int checks_failed, const char *error);

/* mkdir -p; 0 or < 0 with a message naming the path. */
int thaw_mkdirs(const char *path);
/* Copies a file (the script into its run folder). */
int thaw_copy_file(const char *from, const char *to);

#endif
