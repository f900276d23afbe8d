/* thaw scripts: Lua 5.4 experiments that drive the core through
 * `require "thaw"`. A thaw_script owns one Lua state; the host (the headless
 * runner, the workbench) receives progress through hooks and may stop a
 * running phase at the next batch. The API is documented in docs/lua.md.
 *
 *   thaw_script *s = thaw_script_new(&hooks, &cfg);
 *   int code = thaw_script_run(s, "exp.lua");   // THAW_RUN_* exit code
 *   thaw_script_free(s);
 */
#ifndef THAW_SCRIPT_H
#define THAW_SCRIPT_H

#include <stdint.h>

#include "thaw/fit.h"

enum {
	THAW_RUN_OK = 0,
	THAW_RUN_ERROR = 1,       /* a script error (message has file:line and a traceback) */
	THAW_RUN_CHECK = 2,       /* a thaw.check did not hold */
	THAW_RUN_INTERRUPTED = 130 /* stopped by the host (Ctrl-C): checkpoint written */
};

typedef struct thaw_script_hooks {
	/* progress; any may be NULL. The thaw_model is borrowed for the call. */
	void (*on_batch)(const thaw_batch_stats *s, void *user);
	void (*on_epoch)(const thaw_epoch_stats *s, const thaw_model *m, void *user);
	/* an evaluation: name ("test"), metrics, class names (n = mt->K), and
	 * the model and data it ran on (borrowed for the call; the hook runs on
	 * the script's thread, so it may run the model itself) */
	void (*on_eval)(const char *name, const thaw_metrics *mt, const char *const *classes,
			thaw_model *m, const thaw_dataset *d, void *user);
	/* a line for the log (print(), conversions, check results) */
	void (*on_log)(const char *line, void *user);
	/* polled at every batch: nonzero stops the run (as Ctrl-C does) */
	int (*should_stop)(void *user);
	void *user;
} thaw_script_hooks;

typedef struct thaw_script_config {
	const char *run_dir; /* checkpoints go here; NULL: none */
	const char *resume_dir; /* continue from the checkpoints of this run folder */
	uint64_t seed;       /* thaw.seed's starting value */
	int argc;            /* script arguments: the global `arg` table */
	char **argv;
} thaw_script_config;

typedef struct thaw_script thaw_script;

thaw_script *thaw_script_new(const thaw_script_hooks *hooks, const thaw_script_config *cfg);
void thaw_script_free(thaw_script *s);
/* Runs the file; returns a THAW_RUN_* code. thaw_script_error() then holds
 * the message of an error or of the failed checks. */
int thaw_script_run(thaw_script *s, const char *path);
const char *thaw_script_error(const thaw_script *s);
/* Where a resumed run continues: phase (1-based, 0 when not resuming) and
 * the epochs of it already finished. */
void thaw_script_resume_point(const thaw_script *s, int *phase, int *epochs);
/* Saves the model the script trained last (or evaluated, when it never
 * trained); 0 when there is none. */
int thaw_script_save_model(thaw_script *s, const char *path);
/* Number of thaw.check calls that held / failed so far. */
void thaw_script_checks(const thaw_script *s, int *passed, int *failed);

#endif
