/* Experiment sweeps: the product of a grid of script parameters, each point
 * one `thaw run` of the same script in its own run folder under a sweep
 * folder; run N at a time on this machine or as one Slurm array job; then
 * every point's summary.json collected into one table (CSV, text, PNG).
 * A thaw_sweep owns its parameters, values and points; results own their
 * rows. The folder is the state: manifest.tsv records the grid and the
 * points, each point's summary.json (or its `exit` record) says whether it
 * finished, so a sweep stopped anywhere continues where it was.
 *
 *   thaw_sweep_spec sp = {.script = "exp.lua", .dir = "sweeps/exp", .repeat = 1, .seed = 1};
 *   thaw_sweep_spec_grid(&sp, "k=5,10,20");
 *   thaw_sweep *s = thaw_sweep_new(&sp);          // NULL on error
 *   thaw_sweep_prepare(s);                         // manifest.tsv; or the one there
 *   thaw_sweep_run_local(s, 2, NULL, NULL, NULL);  // or thaw_slurm_submit
 *   thaw_sweep_results *r = thaw_sweep_collect(s, NULL);
 *   thaw_sweep_results_write(r);                   // results.csv/.txt/.png
 *   thaw_sweep_results_free(r); thaw_sweep_free(s);
 *
 * A point's arguments: the script arguments given after -- (a grid name
 * that is a number N puts its value at arg[N] instead), then one NAME=VALUE
 * per named grid parameter; the script reads them in `arg` or, parsed, in
 * thaw.params. Repeat r (0-based) of a point runs with seed + r. */
#ifndef THAW_SWEEP_H
#define THAW_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#define THAW_SWEEP_MAX_PARAMS 16
#define THAW_SWEEP_MAX_POINTS 10000

/* One grid parameter: `--grid lr=1e-3,3e-4`. */
typedef struct thaw_sweep_param {
	char *name;
	char **values; /* (n) */
	int n;
} thaw_sweep_param;

/* What the user asked for; the strings are borrowed for thaw_sweep_new. */
typedef struct thaw_sweep_spec {
	const char *script;  /* the experiment (made absolute in the sweep) */
	const char *dir;     /* the sweep folder */
	thaw_sweep_param params[THAW_SWEEP_MAX_PARAMS];
	int n_params;
	int repeat;          /* runs of each grid point, seeds seed..seed+repeat-1 */
	uint64_t seed;
	int mpi;             /* > 0: each point trains on this many MPI ranks */
	const char *launcher; /* the MPI launcher's words; NULL: mpirun -np N / srun --mpi=pmix */
	int argc;            /* the script arguments after -- */
	char **argv;
} thaw_sweep_spec;

/* Parses "NAME=V1,V2,..." into the next parameter of sp (allocating; freed
 * by thaw_sweep_spec_free). Names: letters, digits, _ . - (a leading letter
 * or _), or a positive number (a positional argument). Values: non-empty,
 * no tabs or newlines, no value twice. 0, or THAW_EINVAL naming the text. */
int thaw_sweep_spec_grid(thaw_sweep_spec *sp, const char *text);
void thaw_sweep_spec_free(thaw_sweep_spec *sp);

typedef struct thaw_sweep_point {
	int index;
	int rep;                         /* 0 .. repeat-1 */
	uint64_t seed;
	int value[THAW_SWEEP_MAX_PARAMS]; /* index into params[p].values */
	char dir[512];                   /* the run folder, relative to the sweep folder */
} thaw_sweep_point;

typedef struct thaw_sweep {
	char dir[4096];    /* as given */
	char script[4096]; /* absolute */
	thaw_sweep_param params[THAW_SWEEP_MAX_PARAMS];
	int n_params;
	int repeat;
	uint64_t seed;
	int mpi;
	char launcher[512]; /* "" for the default */
	int argc;
	char **argv;
	thaw_sweep_point *points; /* (n_points), grid order, repeats innermost */
	int n_points;
} thaw_sweep;

/* The points of a spec (the last parameter varies fastest). NULL on error:
 * a script that cannot be read, a positional parameter beyond the given
 * arguments, more than THAW_SWEEP_MAX_POINTS points. */
thaw_sweep *thaw_sweep_new(const thaw_sweep_spec *sp);
/* Reads DIR/manifest.tsv; NULL with a message naming the file and line. */
thaw_sweep *thaw_sweep_open(const char *dir);
void thaw_sweep_free(thaw_sweep *s);
/* Makes the sweep folder and writes manifest.tsv; when the folder holds a
 * manifest already it must describe the same sweep (script, grid, repeat,
 * seed, arguments) — THAW_EINVAL says what differs — and is kept, so a
 * re-run continues the sweep. */
int thaw_sweep_prepare(const thaw_sweep *s);

/* "k=5 lr=1e-3" (and " rep 2" with repeats): a point for people. */
void thaw_sweep_point_label(const thaw_sweep *s, int i, char *buf, size_t size);
/* path = the sweep folder / the point's run folder [/ file]. */
void thaw_sweep_point_path(const thaw_sweep *s, int i, const char *file, char *buf, size_t size);

/* ---- a point's state, from its folder */
typedef enum thaw_point_status {
	THAW_POINT_TODO,        /* no folder, or nothing in it: not run */
	THAW_POINT_STARTED,     /* a log but no summary.json or exit record yet: running (or
				 * killed before its wrapper could write anything) */
	THAW_POINT_OK,          /* summary status "ok" */
	THAW_POINT_CHECK,       /* "check failed": finished, a thaw.check did not hold */
	THAW_POINT_ERROR,       /* "error", or an exit record without a summary */
	THAW_POINT_INTERRUPTED, /* "interrupted" (checkpoint written) */
	THAW_POINT_KILLED       /* ended by a signal (exit record), no summary */
} thaw_point_status;

typedef struct thaw_point_state {
	thaw_point_status status;
	int exit_code; /* -1 when unknown */
	int signal;    /* THAW_POINT_KILLED: which */
	int resumable; /* the folder holds a checkpoint a re-run continues from */
} thaw_point_state;

thaw_point_state thaw_sweep_point_state(const thaw_sweep *s, int i);
/* TODO and STARTED have no result yet. OK and CHECK are finished: a re-run skips them (the same seed and
 * arguments would give the same result). */
int thaw_point_finished(thaw_point_status st);
const char *thaw_point_status_name(thaw_point_status st);

/* The command that runs point i: [launcher...] exe run SCRIPT --out DIR
 * --seed S -- ARGS (or exe run SCRIPT --resume DIR for a point with a
 * checkpoint). `exe` is the thaw binary; in_slurm picks srun over mpirun
 * for --mpi. Fills argv (NULL-terminated, strings in buf); returns argc or
 * THAW_EINVAL when cap or size is too small. */
int thaw_sweep_point_argv(const thaw_sweep *s, int i, const char *exe, int in_slurm, char **argv, int cap,
			  char *buf, size_t size);

/* The path of the running thaw binary (/proc/self/exe), for the children. */
int thaw_self_exe(char *buf, size_t size);

/* ---- running points. A point runs as `exe sweep --point DIR I` (the
 * wrapper, in cmd_sweep.c: the log, the exit record), which runs the
 * command of thaw_sweep_point_argv. */
typedef enum thaw_sweep_event_kind {
	THAW_SWEEP_START,   /* point started (local) */
	THAW_SWEEP_DONE,    /* point ended; state says how */
	THAW_SWEEP_QUEUE    /* Slurm: the queue's counts changed */
} thaw_sweep_event_kind;

typedef struct thaw_sweep_event {
	thaw_sweep_event_kind kind;
	int point; /* START, DONE */
	thaw_point_state state;
	const char *note; /* DONE: Slurm's state when known (sacct), else NULL */
	int done, total;  /* points finished or failed so far, points run in this call */
	int running, pending; /* QUEUE (and local: running) */
} thaw_sweep_event;

typedef void (*thaw_sweep_event_fn)(const thaw_sweep_event *ev, void *user);

/* Runs every unfinished point, at most `jobs` at a time, each in its own
 * process group; should_stop (polled) sends SIGINT to the running points
 * once (they write checkpoints and end) and starts no more. Returns the
 * number of points that failed (0: all finished), THAW_ESTOP when stopped,
 * or < 0 when a point could not be started. */
int thaw_sweep_run_local(const thaw_sweep *s, int jobs, thaw_sweep_event_fn on_event, void *user,
			 int (*should_stop)(void *user));

/* ---- Slurm */
typedef struct thaw_slurm_opts {
	const char *partition, *time, *mem; /* NULL: the cluster's defaults */
	int cpus_per_task;                  /* 0: the default */
} thaw_slurm_opts;

/* Writes DIR/sweep.sbatch and submits the unfinished points as one array
 * job (`sbatch --parsable --array=LIST`, task I = point I); *job gets its
 * id, *n_submitted the task count (0: nothing left to run, nothing
 * submitted), submitted[i] (n_points, may be NULL) 1 for each point sent. */
int thaw_slurm_submit(const thaw_sweep *s, const thaw_slurm_opts *o, char *job, size_t size, int *n_submitted,
		      char *submitted);
/* Watches job with squeue every poll_s seconds until no task is left,
 * reporting the submitted points as they end (their folders say how; with accounting
 * enabled, sacct names what ended the others). Returns the number of
 * submitted points that did not finish, THAW_ESTOP when should_stop (the
 * job goes on), < 0 when squeue keeps failing. */
int thaw_slurm_watch(const thaw_sweep *s, const char *job, const char *submitted, double poll_s,
		     thaw_sweep_event_fn on_event, void *user, int (*should_stop)(void *user));
/* 1 when the cluster keeps accounting (scontrol show config:
 * AccountingStorageType is not accounting_storage/none), 0 when not, < 0
 * when scontrol fails. */
int thaw_slurm_accounting(void);
/* Runs argv (PATH searched), its stdout into out (NUL-terminated, cut at
 * size-1), stderr into err when not NULL. Returns the exit status, or < 0
 * when it cannot be run (a message naming argv[0]). */
int thaw_exec_capture(char *const argv[], char *out, size_t size, char *err, size_t err_size);

/* ---- results */
typedef struct thaw_sweep_row {
	int point;
	thaw_point_state state;
	double metric;   /* NaN when the point has none */
	char error[200]; /* the first line of the summary's error, "" when none */
	char queue;      /* thaw_slurm_annotate: 'P' pending or 'R' running in Slurm, else 0 */
	int n_values;
	double *values; /* (n_values) per column of results->columns, NaN when absent */
} thaw_sweep_row;

typedef struct thaw_sweep_results {
	const thaw_sweep *sweep; /* borrowed */
	char metric[128];
	int lower_better;
	char **columns; /* (n_columns) every number found in the summaries, dotted */
	int n_columns;
	thaw_sweep_row *rows; /* (n_rows) one per point, in point order */
	int n_rows;
	int n_ok, n_failed, n_todo;
} thaw_sweep_results;

/* Reads every point's summary.json. Names: top-level numbers (seconds,
 * epochs, checks_passed), the last epoch's (loss, accuracy, val_loss,
 * val_accuracy, epoch) and each evaluation's as NAME.accuracy, NAME.loss,
 * NAME.topk_accuracy. metric NULL or "": the last evaluation's accuracy,
 * else val_accuracy, else accuracy; "NAME:min" / "NAME:max" sets the order
 * (by default lower is better for names with "loss" and for seconds).
 * NULL on error (a summary.json that is not JSON is named). */
thaw_sweep_results *thaw_sweep_collect(const thaw_sweep *s, const char *metric);
void thaw_sweep_results_free(thaw_sweep_results *r);
/* The table sorted by the metric (best first, unfinished points last):
 * rank, parameters, status, metric, seconds, folder; with repeats, then
 * each grid point's mean, standard deviation and count. Caller frees. */
char *thaw_sweep_results_text(const thaw_sweep_results *r);
/* results.csv (a row per point, every column), results.txt (the text
 * table) and results.png (the metric over the grid parameter with the
 * most values, a line per combination of the others, mean over repeats)
 * in the sweep folder. 0 or < 0. */
int thaw_sweep_results_write(const thaw_sweep_results *r);

/* Marks the rows of unfinished points whose tasks are still in Slurm's
 * queue, for every job in DIR/slurm/jobs (the table then says "pending
 * (Slurm)" or "running (Slurm)"). Returns how many; 0 without jobs or when
 * squeue cannot tell (nothing marked). */
int thaw_slurm_annotate(thaw_sweep_results *r);

/* Splits a script argument "NAME=VALUE" (NAME as for grid names, not a
 * number): returns the name's length and sets *value, or 0 when arg is
 * not of that form. thaw.params is made of these. */
size_t thaw_param_split(const char *arg, const char **value);

#endif
