/* thaw scripts: Lua 5.4 experiments that drive the core through
 * `require "thaw"`. A thaw_script owns one Lua state; it trains through a
 * thaw_run (thaw/run.h) the host makes and owns, so the host's sinks get
 * every event of the script (phases, batches, epochs, evaluations, log
 * lines), the run's checkpoints are written and a resumed run continues;
 * the run's should_stop stops the script at the next batch (or the next
 * Lua instructions). The API is documented in docs/lua.md.
 *
 *   thaw_run *run = thaw_run_new(&run_opts);
 *   thaw_script *s = thaw_script_new(run);
 *   int code = thaw_script_run(s, "exp.lua");   // THAW_RUN_* exit code
 *   thaw_script_free(s);
 *   thaw_run_free(run);
 */
#ifndef THAW_SCRIPT_H
#define THAW_SCRIPT_H

#include <stdint.h>

#include "thaw/run.h"

enum {
	THAW_RUN_OK = 0,
	THAW_RUN_ERROR = 1,       /* a script error (message has file:line and a traceback) */
	THAW_RUN_CHECK = 2,       /* a thaw.check did not hold */
	THAW_RUN_INTERRUPTED = 130 /* stopped by the host (Ctrl-C): checkpoint written */
};

typedef struct thaw_script thaw_script;

/* A script host on run (borrowed: it must outlive the script). thaw.seed()
 * starts at the run's seed, `arg` holds the run's arguments. */
thaw_script *thaw_script_new(thaw_run *run);
void thaw_script_free(thaw_script *s);
/* Runs the file; returns a THAW_RUN_* code. thaw_script_error() then holds
 * the message of an error or of the failed checks. */
int thaw_script_run(thaw_script *s, const char *path);
const char *thaw_script_error(const thaw_script *s);
/* Saves the model the script trained last (or evaluated, when it never
 * trained); 0 when there is none. */
int thaw_script_save_model(thaw_script *s, const char *path);
/* Number of thaw.check calls that held / failed so far. */
void thaw_script_checks(const thaw_script *s, int *passed, int *failed);

#endif
