/* thaw sweep: the product of a grid of script parameters, each point one
 * `thaw run` in its own folder, N at a time here (--local N) or as one
 * Slurm array job (--slurm); then the points' summaries in one table.
 * `thaw sweep --point DIR I` is the wrapper every point runs in (here and
 * in the batch script): it keeps the point's log and its exit record. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "thaw/runlog.h"
#include "thaw/sweep.h"

static const char usage[] =
	"usage: thaw sweep SCRIPT --grid NAME=V1,V2,... [--grid ...] [--repeat N] [--seed N]\n"
	"                  [--local N | --slurm [--partition P] [--time T] [--cpus-per-task N] [--mem M]\n"
	"                  [--no-watch]] [--mpi N] [--launcher CMD] [--out DIR] [--metric NAME] [-- ARGS]\n"
	"       thaw sweep --collect DIR [--metric NAME]\n"
	"Runs SCRIPT once per point of the grid's product (times --repeat, seeds\n"
	"--seed, --seed+1, ...), each as `thaw run SCRIPT --out DIR/points/NNN-... --seed S\n"
	"-- ARGS NAME=VALUE...`: the script reads arg, or thaw.params.NAME (numbers as\n"
	"numbers). A grid NAME that is a number N sets arg[N] instead. The sweep folder\n"
	"(default sweeps/<script>) gets manifest.tsv, a run folder per point with its\n"
	"log.txt, and results.csv, results.txt and results.png (the metric over the grid).\n"
	"Running the same command again skips the points that finished and continues\n"
	"interrupted ones from their checkpoints.\n"
	"  --local N          run N points at a time on this machine (default 1)\n"
	"  --slurm            submit one Slurm array job (sweep.sbatch in the folder) and\n"
	"                     watch it with squeue; --partition, --time, --cpus-per-task,\n"
	"                     --mem go to sbatch; --no-watch returns after submitting\n"
	"  --mpi N            each point trains on N MPI ranks: mpirun -np N here,\n"
	"                     srun --mpi=pmix -n N in Slurm (--launcher CMD replaces that)\n"
	"  --metric NAME      the column to sort and plot: val_accuracy, accuracy, loss,\n"
	"                     an evaluation's NAME.accuracy (default: the last one), ...;\n"
	"                     NAME:min or NAME:max sets which end is best\n"
	"  --collect DIR      collect the points of a sweep (running, stopped or done)\n"
	"Exit codes: 0 every point ok, 1 a point failed or an error, 130 interrupted.\n";

static volatile sig_atomic_t stops;

static void on_sigint(int sig)
{
	(void)sig;
	stops++;
}

static int should_stop(void *user)
{
	(void)user;
	return stops;
}

typedef struct sweep_ui {
	const thaw_sweep *s;
	const char *job;
} sweep_ui;

static void on_event(const thaw_sweep_event *ev, void *user)
{
	sweep_ui *u = user;
	char lab[512], log[4800];
	if (ev->kind == THAW_SWEEP_QUEUE) {
		fprintf(stderr, "thaw sweep: job %s: %d running, %d pending, %d of %d done\n", u->job, ev->running,
			ev->pending, ev->done, ev->total);
		return;
	}
	thaw_sweep_point_label(u->s, ev->point, lab, sizeof lab);
	if (ev->kind == THAW_SWEEP_START) {
		thaw_sweep_point_path(u->s, ev->point, NULL, log, sizeof log);
		fprintf(stderr, "thaw sweep: start %s -> %s/\n", lab, log);
		return;
	}
	const thaw_point_state *st = &ev->state;
	if (thaw_point_finished(st->status) && st->status == THAW_POINT_OK) {
		fprintf(stderr, "thaw sweep: [%d/%d] %s: ok\n", ev->done, ev->total, lab);
		return;
	}
	char how[96];
	if (st->status == THAW_POINT_KILLED)
		snprintf(how, sizeof how, "killed by signal %d", st->signal);
	else if (st->status == THAW_POINT_TODO)
		snprintf(how, sizeof how, "did not run");
	else if (st->status == THAW_POINT_STARTED)
		snprintf(how, sizeof how, "ended without a record (killed?)");
	else if (st->exit_code >= 0)
		snprintf(how, sizeof how, "%s (exit %d)", thaw_point_status_name(st->status), st->exit_code);
	else
		snprintf(how, sizeof how, "%s", thaw_point_status_name(st->status));
	thaw_sweep_point_path(u->s, ev->point, "log.txt", log, sizeof log);
	if (st->status == THAW_POINT_TODO && u->job) /* never started: Slurm's own output may say why */
		snprintf(log, sizeof log, "%s/slurm/%s_%d.out", u->s->dir, u->job, ev->point);
	if (access(log, F_OK) != 0)
		snprintf(log + strlen(log), sizeof log - strlen(log), " (none written)");
	fprintf(stderr, "thaw sweep: [%d/%d] %s: FAILED: %s%s%s; log %s\n", ev->done, ev->total, lab, how,
		ev->note ? "; " : "", ev->note ? ev->note : "", log);
}

/* Collects and prints the table; writes results.*; returns 0 when every
 * point is ok, 1 otherwise. */
static int collect(const thaw_sweep *s, const char *metric)
{
	thaw_sweep_results *r = thaw_sweep_collect(s, metric);
	if (!r) {
		cli_errorf("sweep", "%s", thaw_errmsg());
		return 1;
	}
	thaw_slurm_annotate(r); /* a Slurm sweep still running: which points wait or run */
	char *text = thaw_sweep_results_text(r);
	if (text)
		fputs(text, stdout);
	free(text);
	fflush(stdout);
	int rc = thaw_sweep_results_write(r);
	if (rc < 0)
		cli_errorf("sweep", "%s", thaw_errmsg());
	else
		fprintf(stderr, "thaw sweep: results in %s/results.csv, results.txt, results.png\n", s->dir);
	int all_ok = r->n_ok == r->n_rows;
	thaw_sweep_results_free(r);
	return rc < 0 || !all_ok;
}

/* ---- the wrapper of one point */
static volatile sig_atomic_t child_pid;

static void pass_on(int sig)
{
	(void)sig;
	if (child_pid > 0) /* the run stops after its batch, with a checkpoint */
		kill(child_pid, SIGINT);
}

static int run_point(const char *dir, const char *index)
{
	thaw_sweep *s = thaw_sweep_open(dir);
	if (!s) {
		cli_errorf("sweep", "%s", thaw_errmsg());
		return 1;
	}
	long i;
	if (cli_parse_long(index, 0, s->n_points - 1, &i) < 0) {
		cli_errorf("sweep", "--point %s: %s has points 0..%d", index, dir, s->n_points - 1);
		thaw_sweep_free(s);
		return 1;
	}
	char exe[4096], buf[32768], *argv[256];
	int argc = thaw_self_exe(exe, sizeof exe);
	if (argc == 0)
		argc = thaw_sweep_point_argv(s, (int)i, exe, getenv("SLURM_JOB_ID") != NULL, argv, 256, buf,
					     sizeof buf);
	char pdir[4800], log[4800], path[4800];
	thaw_sweep_point_path(s, (int)i, NULL, pdir, sizeof pdir);
	thaw_sweep_point_path(s, (int)i, "log.txt", log, sizeof log);
	int resume = argc > 0 && thaw_sweep_point_state(s, (int)i).resumable;
	if (argc < 0 || thaw_mkdirs(pdir) < 0) {
		cli_errorf("sweep", "%s", thaw_errmsg());
		thaw_sweep_free(s);
		return 1;
	}
	/* what the last attempt left says nothing about this one */
	thaw_sweep_point_path(s, (int)i, "summary.json", path, sizeof path);
	unlink(path);
	thaw_sweep_point_path(s, (int)i, "exit", path, sizeof path);
	unlink(path);
	int fd = open(log, O_WRONLY | O_CREAT | (resume ? O_APPEND : O_TRUNC), 0644);
	if (fd < 0) {
		cli_errorf("sweep", "%s: cannot write: %s", log, strerror(errno));
		thaw_sweep_free(s);
		return 1;
	}
	dprintf(fd, "thaw sweep: point %ld:", i);
	for (int k = 0; k < argc; k++)
		dprintf(fd, " %s", argv[k]);
	dprintf(fd, "\n");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = pass_on;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
		execvp(argv[0], argv);
		fprintf(stderr, "thaw sweep: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int status = 0, code;
	if (pid > 0) {
		child_pid = pid;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	FILE *f = fopen(path, "w");
	if (pid < 0) {
		code = 1;
		dprintf(fd, "thaw sweep: cannot start the point: %s\n", strerror(errno));
		if (f)
			fprintf(f, "exit 1\n");
	} else if (WIFSIGNALED(status)) {
		code = 128 + WTERMSIG(status);
		dprintf(fd, "thaw sweep: point %ld killed by signal %d\n", i, WTERMSIG(status));
		if (f)
			fprintf(f, "signal %d\n", WTERMSIG(status));
	} else {
		code = WEXITSTATUS(status);
		dprintf(fd, "thaw sweep: point %ld ended: exit %d\n", i, code);
		if (f)
			fprintf(f, "exit %d\n", code);
	}
	if (!f || fclose(f) != 0)
		dprintf(fd, "thaw sweep: %s: cannot write the exit record\n", path);
	close(fd);
	thaw_sweep_free(s);
	return code;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int cmd_sweep(int argc, char **argv)
{
	thaw_sweep_spec sp = {.repeat = 1, .seed = 1};
	thaw_slurm_opts so = {0};
	const char *out = NULL, *metric = NULL, *collect_dir = NULL, *point_dir = NULL;
	int local = 0, slurm = 0, watch = 1, code = 1;
	int nopt = cli_dashdash(argc, argv);
	enum { O_GRID = 256, O_REPEAT, O_SEED, O_LOCAL, O_SLURM, O_PART, O_TIME, O_CPUS, O_MEM, O_NOWATCH,
	       O_MPI, O_LAUNCHER, O_METRIC, O_COLLECT, O_POINT };
	static const struct option lo[] = {{"grid", required_argument, NULL, O_GRID},
					   {"repeat", required_argument, NULL, O_REPEAT},
					   {"seed", required_argument, NULL, O_SEED},
					   {"local", required_argument, NULL, O_LOCAL},
					   {"slurm", no_argument, NULL, O_SLURM},
					   {"partition", required_argument, NULL, O_PART},
					   {"time", required_argument, NULL, O_TIME},
					   {"cpus-per-task", required_argument, NULL, O_CPUS},
					   {"mem", required_argument, NULL, O_MEM},
					   {"no-watch", no_argument, NULL, O_NOWATCH},
					   {"mpi", required_argument, NULL, O_MPI},
					   {"launcher", required_argument, NULL, O_LAUNCHER},
					   {"metric", required_argument, NULL, O_METRIC},
					   {"collect", required_argument, NULL, O_COLLECT},
					   {"point", required_argument, NULL, O_POINT},
					   {"out", required_argument, NULL, 'o'},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	int c;
	while ((c = cli_getopt("sweep", nopt, argv, "ho:", lo)) != -1) {
		switch (c) {
		case O_GRID:
			if (thaw_sweep_spec_grid(&sp, optarg) < 0) {
				code = cli_usage_error("sweep", "%s", thaw_errmsg());
				goto done;
			}
			break;
		case O_REPEAT:
			if (cli_int(optarg, 1, 1000, &sp.repeat) < 0)
				goto done;
			break;
		case O_SEED:
			if (cli_u64(optarg, &sp.seed) < 0)
				goto done;
			break;
		case O_LOCAL:
			if (cli_int(optarg, 1, 1024, &local) < 0)
				goto done;
			break;
		case O_SLURM: slurm = 1; break;
		case O_PART: so.partition = optarg; break;
		case O_TIME: so.time = optarg; break;
		case O_CPUS:
			if (cli_int(optarg, 1, 4096, &so.cpus_per_task) < 0)
				goto done;
			break;
		case O_MEM: so.mem = optarg; break;
		case O_NOWATCH: watch = 0; break;
		case O_MPI:
			if (cli_int(optarg, 1, 4096, &sp.mpi) < 0)
				goto done;
			break;
		case O_LAUNCHER: sp.launcher = optarg; break;
		case O_METRIC: metric = optarg; break;
		case O_COLLECT: collect_dir = optarg; break;
		case O_POINT: point_dir = optarg; break;
		case 'o': out = optarg; break;
		case 'h':
			fputs(usage, stdout);
			code = 0;
			goto done;
		default: goto done;
		}
	}
	if (point_dir) {
		if (optind + 1 != nopt) {
			code = cli_usage_error("sweep", "--point DIR takes one point number");
			goto done;
		}
		code = run_point(point_dir, argv[optind]);
		goto done;
	}
	if (collect_dir) {
		if (optind < nopt || sp.n_params) {
			code = cli_usage_error("sweep", "--collect DIR takes the sweep from its folder: no script or --grid");
			goto done;
		}
		thaw_sweep *s = thaw_sweep_open(collect_dir);
		if (!s) {
			cli_errorf("sweep", "%s", thaw_errmsg());
			goto done;
		}
		code = collect(s, metric);
		thaw_sweep_free(s);
		goto done;
	}
	if (optind >= nopt) {
		fputs(usage, stderr);
		goto done;
	}
	if (optind + 1 < nopt) {
		code = cli_usage_error("sweep", "one script at a time (got '%s' and '%s'); script arguments go after --",
				       argv[optind], argv[optind + 1]);
		goto done;
	}
	if (slurm && local) {
		code = cli_usage_error("sweep", "--slurm or --local, not both");
		goto done;
	}
	if (!slurm && (so.partition || so.time || so.mem || so.cpus_per_task || !watch)) {
		code = cli_usage_error("sweep", "--partition, --time, --cpus-per-task, --mem and --no-watch need --slurm");
		goto done;
	}
	if (sp.n_params == 0 && sp.repeat == 1) {
		code = cli_usage_error("sweep", "nothing to sweep: give --grid NAME=V1,V2,... (or --repeat N)");
		goto done;
	}
	sp.script = argv[optind];
	char dir[4096];
	if (out) {
		snprintf(dir, sizeof dir, "%s", out);
	} else {
		char name[256];
		snprintf(name, sizeof name, "%s", base_name(sp.script));
		char *dot = strrchr(name, '.');
		if (dot && !strcmp(dot, ".lua"))
			*dot = 0;
		snprintf(dir, sizeof dir, "sweeps/%s", name);
	}
	sp.dir = dir;
	sp.argc = argc - (nopt < argc ? nopt + 1 : argc);
	sp.argv = argv + (nopt < argc ? nopt + 1 : argc);
	thaw_sweep *s = thaw_sweep_new(&sp);
	if (!s || thaw_sweep_prepare(s) < 0) {
		cli_errorf("sweep", "%s", thaw_errmsg());
		thaw_sweep_free(s);
		goto done;
	}
	int finished = 0;
	for (int i = 0; i < s->n_points; i++)
		finished += thaw_point_finished(thaw_sweep_point_state(s, i).status);
	fprintf(stderr, "thaw sweep: %s: %d point%s in %s/", sp.script, s->n_points, s->n_points == 1 ? "" : "s", dir);
	if (finished)
		fprintf(stderr, " (%d finished before: skipped)", finished);
	fputc('\n', stderr);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	sweep_ui ui = {s, NULL};
	int rc = 0;
	if (slurm) {
		char job[128];
		int n;
		char *submitted = calloc((size_t)s->n_points, 1);
		rc = submitted ? thaw_slurm_submit(s, &so, job, sizeof job, &n, submitted) : THAW_ENOMEM;
		if (rc < 0) {
			cli_errorf("sweep", "%s", thaw_errmsg());
		} else if (n == 0) {
			fprintf(stderr, "thaw sweep: every point finished before; nothing submitted\n");
		} else {
			fprintf(stderr, "thaw sweep: submitted job %s: %d task%s (%s/sweep.sbatch)\n", job, n,
				n == 1 ? "" : "s", dir);
			ui.job = job;
			if (!watch) {
				fprintf(stderr, "thaw sweep: not watching; later: thaw sweep --collect %s\n", dir);
				free(submitted);
				signal(SIGINT, SIG_DFL);
				thaw_sweep_free(s);
				code = 0;
				goto done;
			}
			rc = thaw_slurm_watch(s, job, submitted, 2.0, on_event, &ui, should_stop);
			if (rc == THAW_ESTOP)
				fprintf(stderr, "thaw sweep: %s; scancel %s stops it; thaw sweep --collect %s collects\n",
					thaw_errmsg(), job, dir);
			else if (rc < 0)
				cli_errorf("sweep", "%s", thaw_errmsg());
		}
		free(submitted);
	} else {
		rc = thaw_sweep_run_local(s, local ? local : 1, on_event, &ui, should_stop);
		if (rc == THAW_ESTOP)
			fprintf(stderr, "thaw sweep: %s; run the same command again to continue\n", thaw_errmsg());
		else if (rc < 0)
			cli_errorf("sweep", "%s", thaw_errmsg());
	}
	signal(SIGINT, SIG_DFL);
	int crc = collect(s, metric);
	code = rc == THAW_ESTOP ? 130 : rc != 0 || crc != 0 ? 1 : 0;
	thaw_sweep_free(s);
done:
	thaw_sweep_spec_free(&sp);
	return code;
}
