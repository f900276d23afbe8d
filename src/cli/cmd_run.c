/* thaw run: a Lua experiment headless, for CI. Progress goes to stderr (one
 * updating line on a terminal, else a line per epoch); the run folder gets
 * metrics, plots, the final model, a copy of the script and a summary.
 * Exit codes: 0 ok, 1 script error or a failed save, 2 failed thaw.check,
 * 130 Ctrl-C or SIGTERM (after the current batch, with a checkpoint). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "thaw/dist.h"
#include "thaw/modelfile.h"
#include "thaw/options.h"
#include "thaw/run.h"
#include "thaw/runlog.h"
#include "thaw/script.h"

static volatile sig_atomic_t stop_requested;

static void on_sigint(int sig)
{
	(void)sig;
	if (stop_requested) /* a second Ctrl-C: stop now */
		_exit(130);
	stop_requested = 1;
}

typedef struct run_ctx {
	thaw_runlog *log;
	int tty;
} run_ctx;

/* The host's sinks: progress lines on stderr and the run folder. */
static int sink(const thaw_event *ev, void *user)
{
	run_ctx *r = user;
	cli_progress_event(ev, r->tty);
	if (r->log && thaw_runlog_event(r->log, ev) < 0) { /* the run fails at its end */
		cli_progress_end_line();
		fprintf(stderr, "thaw run: error: %s\n", thaw_errmsg());
	}
	return 0;
}

static int should_stop(void *user)
{
	(void)user;
	return stop_requested;
}

static const char usage[] =
	"usage: thaw run SCRIPT [--out DIR] [--seed N] [--resume DIR] [-- ARGS...]\n"
	"Runs a Lua experiment headless. The run folder (default runs/<date>-<script>/)\n"
	"gets metrics.jsonl, metrics.csv, loss.png, accuracy.png, confusion-*.png,\n"
	"model.thaw, a copy of the script and summary.json.\n"
	"Exit codes: 0 ok, 1 script error or a save failed (status \"save-failed\"),\n"
	"2 a thaw.check failed, 130 interrupted (Ctrl-C or SIGTERM, also outside thaw.fit).\n"
	"--resume of a folder with no checkpoint yet is refused: start it afresh.\n"
	"Under mpirun -np N (or srun) N processes train each thaw.fit as one model,\n"
	"each on a share of every batch; rank 0 alone writes the run folder.\n";

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int cmd_run(int argc, char **argv)
{
	const char *script = NULL, *out = NULL, *resume = NULL;
	uint64_t seed = 1;
	int first_arg = argc, seed_given = 0;
	/* the script's own arguments follow the first --; options and the
	 * script's name may come in any order before it */
	int nopt = argc; /* where -- is */
	for (int i = 1; i < argc && nopt == argc; i++)
		if (!strcmp(argv[i], "--"))
			nopt = i;
	first_arg = nopt < argc ? nopt + 1 : argc;
	static const struct option lo[] = {{"out", required_argument, NULL, 'o'},
					   {"resume", required_argument, NULL, 'r'},
					   {"seed", required_argument, NULL, 's'},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	int c;
	while ((c = cli_getopt("run", nopt, argv, "ho:", lo)) != -1) {
		thaw_option_value v;
		switch (c) {
		case 'o': out = optarg; break;
		case 'r': resume = optarg; break;
		case 's':
			if (thaw_option_parse("seed", optarg, &v) < 0)
				return cli_usage_error("run", "--%s", thaw_errmsg());
			seed = v.u;
			seed_given = 1;
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: return CLI_EUSAGE;
		}
	}
	if (optind < nopt)
		script = argv[optind++];
	if (optind < nopt)
		return cli_usage_error("run", "one script at a time (got '%s' and '%s'); script arguments go after --",
				       script, argv[optind]);
	if (!script) {
		fputs(usage, stderr);
		return 1;
	}
	if (access(script, R_OK) != 0) {
		cli_errorf("run", "%s: cannot read the script: %s", script, strerror(errno));
		return 1;
	}
	char dir[4096];
	if (resume) {
		if (out && strcmp(out, resume) != 0) {
			cli_errorf("run", "--resume continues in its own folder; leave out --out");
			return 1;
		}
		snprintf(dir, sizeof dir, "%s", resume);
	} else if (out) {
		snprintf(dir, sizeof dir, "%s", out);
	} else {
		char stamp[32], name[256];
		time_t now = time(NULL);
		strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
		snprintf(name, sizeof name, "%s", base_name(script));
		char *dot = strrchr(name, '.');
		if (dot && !strcmp(dot, ".lua"))
			*dot = 0;
		snprintf(dir, sizeof dir, "runs/%s-%s", stamp, name);
		for (int k = 2; access(dir, F_OK) == 0 && k < 1000; k++)
			snprintf(dir, sizeof dir, "runs/%s-%s-%d", stamp, name, k);
	}
	/* a resumed run takes its seed and arguments from its checkpoint,
	 * unless given again */
	run_ctx r = {.tty = isatty(2)};
	thaw_run_opts ro = {.dir = dir, .resume = resume, .seed = seed, .argc = argc - first_arg,
			    .argv = argv + first_arg, .on_event = sink, .user = &r, .should_stop = should_stop};
	thaw_run *run = thaw_run_new(&ro);
	if (!run) {
		cli_errorf("run", "%s", thaw_errmsg());
		if (resume && strstr(thaw_errmsg(), "no checkpoint yet"))
			fprintf(stderr, "thaw run: start it afresh with: thaw run %s --out %s\n", script, resume);
		return 1;
	}
	if (resume && seed_given)
		thaw_run_set_seed(run, seed);
	const thaw_position *at = thaw_run_resume_point(run);
	/* under MPI rank 0 alone writes the run folder and reports */
	int writer = thaw_dist_writer();
	r.log = writer ? thaw_runlog_open(dir, at ? at->phase_index : 0, at ? at->epoch : 0) : NULL;
	thaw_script *s = r.log || !writer ? thaw_script_new(run) : NULL;
	char copy[4400];
	snprintf(copy, sizeof copy, "%s/%s", dir, base_name(script));
	if (!s || (writer && !resume && thaw_copy_file(script, copy) < 0)) {
		cli_errorf("run", "%s", thaw_errmsg());
		thaw_script_free(s);
		thaw_runlog_free(r.log);
		thaw_run_free(run);
		return 1;
	}
	if (writer)
		fprintf(stderr, "thaw run: %s -> %s/%s\n", script, dir,
			thaw_dist_size() > 1 ? " (MPI: rank 0 of the job writes it)" : "");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL); /* kill, a CI or Slurm time limit: as Ctrl-C */
	int code = thaw_script_run(s, script);
	cli_progress_end_line();
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	char model_path[4400];
	snprintf(model_path, sizeof model_path, "%s/model.thaw", dir);
	if (writer && (code == THAW_RUN_OK || code == THAW_RUN_CHECK) && thaw_script_save_model(s, model_path) < 0)
		thaw_run_save_failed(run, model_path, thaw_errmsg());
	/* a save that failed fails the run, whatever else happened: the run's
	 * (checkpoints, phase-N.thaw, model.thaw) or the run folder's */
	const char *save_file = NULL, *save_err = writer ? thaw_run_save_error(run, &save_file) : NULL;
	if (save_err)
		thaw_runlog_save_failed(r.log, save_file, save_err);
	else if (writer)
		save_err = thaw_runlog_save_error(r.log, &save_file);
	int exit_code = save_err ? 1 : code;
	const char *status = save_err		       ? "save-failed"
			     : code == THAW_RUN_OK      ? "ok"
			     : code == THAW_RUN_CHECK ? "check failed"
			     : code == THAW_RUN_INTERRUPTED ? "interrupted"
							    : "error";
	int passed, failed;
	thaw_script_checks(s, &passed, &failed);
	const char *script_err = code == THAW_RUN_OK ? NULL : thaw_script_error(s);
	const char *err = save_err ? save_err : script_err;
	if (writer && thaw_runlog_finish(r.log, script, status, exit_code, passed, failed, err) < 0) {
		fprintf(stderr, "thaw run: error: %s\n", thaw_errmsg());
		if (!save_err) {
			save_err = "summary.json not written";
			exit_code = 1;
			status = "save-failed";
		}
	}
	/* the script's own error too, unless it is the failed save raised again */
	if (code == THAW_RUN_ERROR && !(save_err && strstr(script_err, save_err)))
		fprintf(stderr, "thaw run: error: %s\n", script_err);
	else if (!writer)
		; /* rank 0 reports the rest */
	else if (code == THAW_RUN_CHECK)
		fprintf(stderr, "thaw run: %d check%s failed:\n%s\n", failed, failed == 1 ? "" : "s", script_err);
	else if (code == THAW_RUN_INTERRUPTED && !save_err)
		fprintf(stderr, "thaw run: interrupted; continue with: thaw run %s --resume %s\n", script, dir);
	if (save_err)
		fprintf(stderr, "thaw run: error: a save failed: %s\n", save_err);
	if (writer)
		fprintf(stderr, "thaw run: %s (exit %d); results in %s/\n", status, exit_code, dir);
	code = exit_code;
	thaw_script_free(s);
	thaw_runlog_free(r.log);
	thaw_run_free(run);
	return code;
}
