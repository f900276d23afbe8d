/* thaw run: a training run above thaw_fit — the text of its events, its
 * checkpoints and how it resumes. A thaw_run numbers the phases of a run,
 * passes every event to the host's sinks (progress lines, run folder,
 * workbench), writes checkpoints with the typed training position, stops
 * when the host asks (Ctrl-C) and continues an interrupted run exactly.
 * The Lua host, `thaw train` and the workbench all train through it.
 *
 *   thaw_run_opts ro = {.dir = "runs/x", .seed = 1, .on_event = sink, .user = &ctx};
 *   thaw_run *r = thaw_run_new(&ro);            // NULL on error
 *   thaw_phase_result res;
 *   int rc = thaw_run_fit(r, m, train, &fit_opts, 1, &res);  // THAW_ESTOP: interrupted
 *   thaw_run_free(r);
 *
 * The run borrows the model and data for the call; the caller owns them. */
#ifndef THAW_RUN_H
#define THAW_RUN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "thaw/event.h"
#include "thaw/fit.h"
#include "thaw/modelfile.h"

/* The one formatter: the line of text an event stands for (phase begin,
 * epoch, evaluation, phase end, log; a batch gives the updating progress
 * line without a bar). Returns the length written (truncated to size-1),
 * 0 for an event that has no line. */
int thaw_event_format(const thaw_event *ev, char *buf, size_t size);
/* The same line for a narrow log (the workbench's): an epoch keeps its
 * losses and accuracies and drops speed and times ("head 3/10  loss 1.427
 * acc 41.0%  val 1.299 45.0%"); other events as thaw_event_format. */
int thaw_event_format_brief(const thaw_event *ev, char *buf, size_t size);
/* The progress bar of a batch event, `width` cells of '#' and ' '. */
int thaw_event_format_bar(const thaw_event *ev, int width, char *buf, size_t size);

/* Where a run stands, as checkpoints record it. */
typedef struct thaw_position {
	char phase[64];
	int phase_index; /* which phase of the run (1-based); 0: none */
	int epoch;       /* epochs of that phase finished */
	int batch;       /* batches done of the epoch after them */
	int64_t step;    /* optimizer steps taken in the phase */
	uint64_t seed;   /* the run's seed */
} thaw_position;

/* Writes m with its position (and the run's arguments, for resuming) to
 * path atomically. 0 or < 0. */
int thaw_checkpoint_save(const char *path, const thaw_model *m, const thaw_position *pos, int argc,
			 char *const *argv);
/* Reads a checkpoint: the model, and its position in *pos (phase_index 0
 * when the file holds none: a plain model). Files of older thaw versions,
 * which kept the position in the `optimizer` text, load too. */
thaw_model *thaw_checkpoint_load(const char *path, thaw_position *pos, thaw_train_state *st);

typedef struct thaw_run_opts {
	const char *dir;        /* the run folder: checkpoint.thaw, phase-N.thaw; NULL: none */
	const char *checkpoint; /* the rolling checkpoint instead of DIR/checkpoint.thaw */
	const char *resume;     /* continue from this checkpoint file or run folder */
	int checkpoint_every;   /* > 0: also every N batches (else after every epoch) */
	uint64_t seed;          /* the run's seed; a resumed run takes the checkpoint's */
	int argc;               /* the run's arguments, kept in checkpoints */
	char **argv;
	thaw_event_fn on_event; /* the host's sinks; NULL: none */
	void *user;
	int (*should_stop)(void *user); /* polled at every batch: nonzero interrupts */
} thaw_run_opts;

typedef struct thaw_run thaw_run;

typedef struct thaw_phase_result {
	int epochs;      /* epochs finished */
	int restored;    /* 1: a phase the resumed run had finished, restored, not trained */
	int interrupted; /* 1: stopped by should_stop; a checkpoint holds where */
	int stopped;     /* stopped early (patience, a callback, an interrupt) */
} thaw_phase_result;

/* A run. With o->resume, reads the checkpoint's position, seed and
 * arguments, after removing the temporary files writers killed mid-save
 * left in the run folder. A run folder without checkpoint.thaw (stopped
 * before its first checkpoint) is an error that says so: there is nothing
 * to continue, the run is to be started afresh. */
thaw_run *thaw_run_new(const thaw_run_opts *o);
void thaw_run_free(thaw_run *r);
/* Sets the host's sinks (as o->on_event / o->user do). */
void thaw_run_set_sink(thaw_run *r, thaw_event_fn on_event, void *user);
/* The position a resumed run continues from; NULL when not resuming. */
const thaw_position *thaw_run_resume_point(const thaw_run *r);
/* The run's seed and arguments (a resumed run's own when none were given);
 * borrowed. */
uint64_t thaw_run_seed(const thaw_run *r);
int thaw_run_args(const thaw_run *r, char ***argv);
/* The run folder, NULL when there is none. */
const char *thaw_run_dir(const thaw_run *r);
/* Overrides the seed (a resumed run given --seed). */
void thaw_run_set_seed(thaw_run *r, uint64_t seed);
/* The host's should_stop (0 without one): hosts poll it between batches,
 * the script host also between Lua instructions. */
int thaw_run_should_stop(thaw_run *r);
/* The index the next phase gets (1 for the first). */
int thaw_run_next_phase(const thaw_run *r);

/* Trains one phase: thaw_fit with the next phase index, the host's sinks
 * and then o->on_event (the caller's own) called for every event; with
 * `checkpoint`, the rolling checkpoint after every epoch (and every
 * checkpoint_every batches) and phase-N.thaw at the end. A resumed run
 * restores the phases it had finished and continues the one it stopped
 * in. Returns 0, THAW_ESTOP when interrupted (checkpoint written), or < 0
 * (THAW_EIO when a checkpoint could not be written: the phase stops there).
 * *res (may be NULL) says what happened. */
int thaw_run_fit(thaw_run *r, thaw_model *m, const thaw_dataset *d, const thaw_fit_opts *o, int checkpoint,
		 thaw_phase_result *res);
/* Writes the rolling checkpoint of m at the current position. */
int thaw_run_checkpoint(thaw_run *r, const thaw_model *m);
/* Saves that failed fail the run: every save the run makes (checkpoints,
 * phase-N.thaw) is recorded here when it fails, and hosts record theirs
 * (the final model.thaw, the run folder's files). A checkpoint that cannot
 * be written also stops its phase: thaw_run_fit returns THAW_EIO. Only the
 * first failure is kept. */
void thaw_run_save_failed(thaw_run *r, const char *file, const char *reason);
/* The first failed save's message ("runs/x/checkpoint.thaw: write failed
 * ...: No space left on device ..."), its file in *file; NULL when every
 * save worked. Borrowed. */
const char *thaw_run_save_error(const thaw_run *r, const char **file);
/* Publishes a warning: a LOG event with .warning set (the progress lines
 * show it, summary.json lists it). thaw_run_fit warns by itself when a
 * phase's epoch loss grows over 10 times the loss of its first batch (the
 * loss diverges), and when the loss stops being finite (which ends the
 * phase with THAW_ENAN). */
void thaw_run_warn(thaw_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Passes an event to the host's sinks (the script host's evaluations and
 * log lines); returns what the sink returned. */
int thaw_run_publish(thaw_run *r, const thaw_event *ev);
void thaw_run_log(thaw_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void thaw_run_vlog(thaw_run *r, const char *fmt, va_list ap);

#endif
