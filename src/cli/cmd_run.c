/* thaw run: a Lua experiment headless, for CI. Progress goes to stderr (one
 * updating line on a terminal, else a line per epoch); the run folder gets
 * metrics, plots, the final model, a copy of the script and a summary.
 * Exit codes: 0 ok, 1 script error, 2 failed thaw.check, 130 Ctrl-C (after
 * the current batch, with a checkpoint). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "thaw/modelfile.h"
#include "thaw/options.h"
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

static void hook_batch(const thaw_batch_stats *s, void *user)
{
	thaw_event ev = {.kind = THAW_EV_BATCH, .model = s->model, .trainer = s->trainer, .u.batch = *s};
	cli_progress_event(&ev, ((run_ctx *)user)->tty);
}

static void sink(run_ctx *r, const thaw_event *ev)
{
	cli_progress_event(ev, r->tty);
	if (r->log && thaw_runlog_event(r->log, ev) < 0)
		fprintf(stderr, "thaw run: warning: %s\n", thaw_errmsg());
}

static void hook_epoch(const thaw_epoch_stats *s, const thaw_model *m, void *user)
{
	thaw_event ev = {.kind = THAW_EV_EPOCH, .model = (thaw_model *)m, .u.epoch = *s};
	sink(user, &ev);
}

static void hook_eval(const char *name, const thaw_metrics *mt, const char *const *classes,
		      thaw_model *m, const thaw_dataset *d, void *user)
{
	thaw_event ev = {.kind = THAW_EV_EVAL, .model = m, .u.eval = {name, mt, classes, d}};
	sink(user, &ev);
}

static void hook_log(const char *line, void *user)
{
	thaw_event ev = {.kind = THAW_EV_LOG, .u.line = line};
	sink(user, &ev);
}

static int hook_stop(void *user)
{
	(void)user;
	return stop_requested;
}

static const char usage[] =
	"usage: thaw run SCRIPT [--out DIR] [--seed N] [--resume DIR] [-- ARGS...]\n"
	"Runs a Lua experiment headless. The run folder (default runs/<date>-<script>/)\n"
	"gets metrics.jsonl, metrics.csv, loss.png, accuracy.png, confusion-*.png,\n"
	"model.thaw, a copy of the script and summary.json.\n"
	"Exit codes: 0 ok, 1 script error, 2 a thaw.check failed, 130 interrupted.\n";

/* The seed and script arguments of a run, kept in its folder so --resume
 * continues the same run ("seed N" then one "arg X" line each). */
static int save_run_args(const char *dir, uint64_t seed, int argc, char **argv)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/run-args", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return thaw_error(THAW_EIO, "%s: cannot write", path);
	fprintf(f, "seed %llu\n", (unsigned long long)seed);
	for (int i = 0; i < argc; i++)
		fprintf(f, "arg %s\n", argv[i]);
	return fclose(f) == 0 ? 0 : thaw_error(THAW_EIO, "%s: write failed", path);
}

/* Reads them back; *argv (and its strings) are the caller's to free. */
static int load_run_args(const char *dir, uint64_t *seed, int *argc, char ***argv)
{
	char path[4200], line[4096];
	snprintf(path, sizeof path, "%s/run-args", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return thaw_error(THAW_EIO, "%s: missing: is %s a thaw run folder?", path, dir);
	*argc = 0;
	*argv = NULL;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		unsigned long long v;
		if (sscanf(line, "seed %llu", &v) == 1) {
			*seed = v;
		} else if (!strncmp(line, "arg ", 4)) {
			char **na = realloc(*argv, sizeof *na * (size_t)(*argc + 1));
			if (!na)
				break;
			*argv = na;
			na[(*argc)++] = strdup(line + 4);
		}
	}
	fclose(f);
	return 0;
}

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
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(nopt, argv, ":ho:", lo, NULL)) != -1) {
		thaw_option_value v;
		switch (c) {
		case 'o': out = optarg; break;
		case 'r': resume = optarg; break;
		case 's':
			if (thaw_option_parse("seed", optarg, &v) < 0) {
				cli_errorf("run", "--%s", thaw_errmsg());
				return 1;
			}
			seed = v.u;
			seed_given = 1;
			break;
		case 'h': fputs(usage, stdout); return 0;
		case ':':
			cli_errorf("run", "option '%s' needs a value", argv[optind - 1]);
			fputs(usage, stderr);
			return 1;
		default:
			cli_errorf("run", "unknown option '%s'", argv[optind - 1]);
			fputs(usage, stderr);
			return 1;
		}
	}
	if (optind < nopt)
		script = argv[optind++];
	if (optind < nopt) {
		cli_errorf("run", "one script at a time (got '%s' and '%s'); script arguments go after --", script,
			   argv[optind]);
		return 1;
	}
	if (!script) {
		fputs(usage, stderr);
		return 1;
	}
	if (access(script, R_OK) != 0) {
		cli_errorf("run", "%s: cannot read the script", script);
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
	int sargc = argc - first_arg, free_args = 0;
	char **sargv = argv + first_arg;
	if (resume) { /* the same seed and arguments as the run being continued */
		uint64_t rseed = seed;
		int rargc = 0;
		char **rargv = NULL;
		if (load_run_args(dir, &rseed, &rargc, &rargv) < 0) {
			cli_errorf("run", "%s", thaw_errmsg());
			return 1;
		}
		if (!seed_given)
			seed = rseed;
		if (sargc == 0) {
			sargc = rargc;
			sargv = rargv;
			free_args = 1;
		} else {
			for (int i = 0; i < rargc; i++)
				free(rargv[i]);
			free(rargv);
		}
	}
	run_ctx r = {.tty = isatty(2)};
	thaw_script_hooks hooks = {hook_batch, hook_epoch, hook_eval, hook_log, hook_stop, &r};
	thaw_script_config cfg = {.run_dir = dir, .resume_dir = resume, .seed = seed,
				  .argc = sargc, .argv = sargv};
	thaw_script *s = thaw_script_new(&hooks, &cfg);
	if (!s) {
		cli_errorf("run", "%s", thaw_errmsg());
		return 1;
	}
	int keep_phase = 0, keep_epoch = 0;
	thaw_script_resume_point(s, &keep_phase, &keep_epoch);
	r.log = thaw_runlog_open(dir, keep_phase, keep_epoch);
	char copy[4400];
	snprintf(copy, sizeof copy, "%s/%s", dir, base_name(script));
	if (!r.log || (!resume && (thaw_copy_file(script, copy) < 0 || save_run_args(dir, seed, sargc, sargv) < 0))) {
		cli_errorf("run", "%s", thaw_errmsg());
		thaw_runlog_free(r.log);
		thaw_script_free(s);
		return 1;
	}
	fprintf(stderr, "thaw run: %s -> %s/\n", script, dir);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	int code = thaw_script_run(s, script);
	cli_progress_end_line();
	signal(SIGINT, SIG_DFL);
	const char *status = code == THAW_RUN_OK      ? "ok"
			     : code == THAW_RUN_CHECK ? "check failed"
			     : code == THAW_RUN_INTERRUPTED ? "interrupted"
							    : "error";
	char model_path[4400];
	snprintf(model_path, sizeof model_path, "%s/model.thaw", dir);
	if ((code == THAW_RUN_OK || code == THAW_RUN_CHECK) && thaw_script_save_model(s, model_path) < 0)
		fprintf(stderr, "thaw run: warning: model not saved: %s\n", thaw_errmsg());
	int passed, failed;
	thaw_script_checks(s, &passed, &failed);
	const char *err = code == THAW_RUN_OK ? NULL : thaw_script_error(s);
	if (thaw_runlog_finish(r.log, script, status, code, passed, failed, err) < 0)
		fprintf(stderr, "thaw run: warning: %s\n", thaw_errmsg());
	if (code == THAW_RUN_ERROR)
		fprintf(stderr, "thaw run: error: %s\n", err);
	else if (code == THAW_RUN_CHECK)
		fprintf(stderr, "thaw run: %d check%s failed:\n%s\n", failed, failed == 1 ? "" : "s", err);
	else if (code == THAW_RUN_INTERRUPTED)
		fprintf(stderr, "thaw run: interrupted; continue with: thaw run %s --resume %s\n", script, dir);
	fprintf(stderr, "thaw run: %s (exit %d); results in %s/\n", status, code, dir);
	thaw_runlog_free(r.log);
	thaw_script_free(s);
	if (free_args) {
		for (int i = 0; i < sargc; i++)
			free(sargv[i]);
		free(sargv);
	}
	return code;
}
