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
 * is remembered for the summary; other kinds are ignored. 0 or < 0. */
int thaw_runlog_event(thaw_runlog *r, const thaw_event *ev);
/* Writes summary.json: status ("ok", "check failed", "error", "interrupted"),
 * exit code, checks, wall time, the last epoch row, evaluations, error. */
int thaw_runlog_finish(thaw_runlog *r, const char *script, const char *status, int exit_code,
		       int checks_passed, int checks_failed, const char *error);

/* mkdir -p; 0 or < 0 with a message naming the path. */
int thaw_mkdirs(const char *path);
/* Copies a file (the script into its run folder). */
int thaw_copy_file(const char *from, const char *to);

#endif
