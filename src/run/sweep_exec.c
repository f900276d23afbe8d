/* Running a sweep's points: N at a time on this machine (fork and exec of
 * thaw itself), or as one Slurm array job (sbatch, watched with squeue;
 * sacct only where the cluster keeps accounting). No scheduler of our own:
 * the local runner is a loop over waitpid, Slurm does the rest. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "thaw/atomic.h"
#include "thaw/core.h"
#include "thaw/runlog.h"
#include "thaw/sweep.h"

static void nap(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- here: the wrapper of every point is `exe sweep --point DIR I` */
typedef struct child {
	pid_t pid;
	int point;
} child;

static pid_t start_point(const thaw_sweep *s, const char *exe, int i)
{
	char idx[16];
	snprintf(idx, sizeof idx, "%d", i);
	pid_t pid = fork();
	if (pid < 0)
		return thaw_error(THAW_EIO, "cannot start point %d: fork: %s", i, strerror(errno));
	if (pid == 0) {
		/* its own process group: a Ctrl-C reaches the sweep, which passes
		 * it on once, so each run stops after its batch with a checkpoint */
		setpgid(0, 0);
		execl(exe, exe, "sweep", "--point", s->dir, idx, (char *)NULL);
		_exit(127);
	}
	return pid;
}

int thaw_sweep_run_local(const thaw_sweep *s, int jobs, thaw_sweep_event_fn on_event, void *user,
			 int (*should_stop)(void *user))
{
	char exe[4096];
	if (jobs < 1)
		return thaw_error(THAW_EINVAL, "--local %d: needs at least 1", jobs);
	if (thaw_self_exe(exe, sizeof exe) < 0)
		return THAW_EIO;
	int *todo = thaw_malloc((size_t)(s->n_points ? s->n_points : 1) * sizeof *todo);
	child *run = thaw_calloc((size_t)jobs, sizeof *run);
	if (!todo || !run) {
		free(todo);
		free(run);
		return THAW_ENOMEM;
	}
	int n_todo = 0;
	for (int i = 0; i < s->n_points; i++)
		if (!thaw_point_finished(thaw_sweep_point_state(s, i).status))
			todo[n_todo++] = i;
	int next = 0, running = 0, done = 0, failed = 0, stops_sent = 0, rc = 0;
	while (next < n_todo || running > 0) {
		int stop = should_stop ? should_stop(user) : 0;
		if (stop > stops_sent) { /* each request passed on once */
			for (int k = 0; k < jobs; k++)
				if (run[k].pid > 0)
					kill(run[k].pid, SIGINT);
			stops_sent = stop;
		}
		while (!stops_sent && rc == 0 && running < jobs && next < n_todo) {
			int k = 0;
			while (run[k].pid > 0)
				k++;
			pid_t pid = start_point(s, exe, todo[next]);
			if (pid < 0) {
				rc = (int)pid;
				break;
			}
			run[k] = (child){pid, todo[next++]};
			running++;
			if (on_event) {
				thaw_sweep_event ev = {.kind = THAW_SWEEP_START, .point = run[k].point, .done = done,
						       .total = n_todo, .running = running};
				on_event(&ev, user);
			}
		}
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0) {
			if (pid < 0 && errno == ECHILD)
				break;
			nap(0.05);
			continue;
		}
		int k = 0;
		while (k < jobs && run[k].pid != pid)
			k++;
		if (k == jobs)
			continue; /* not ours */
		int point = run[k].point;
		run[k].pid = 0;
		running--;
		done++;
		thaw_point_state st = thaw_sweep_point_state(s, point);
		if (st.status == THAW_POINT_TODO || st.status == THAW_POINT_STARTED) { /* the wrapper itself failed */
			st.status = WIFSIGNALED(status) ? THAW_POINT_KILLED : THAW_POINT_ERROR;
			st.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
			st.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		if (!thaw_point_finished(st.status))
			failed++;
		if (on_event) {
			thaw_sweep_event ev = {.kind = THAW_SWEEP_DONE, .point = point, .state = st, .done = done,
					       .total = n_todo, .running = running};
			on_event(&ev, user);
		}
	}
	free(todo);
	free(run);
	if (rc < 0)
		return rc;
	if (stops_sent)
		return thaw_error(THAW_ESTOP, "stopped: %d of %d points left to run", n_todo - done + failed, n_todo);
	return failed;
}

/* ---- running commands */
int thaw_exec_capture(char *const argv[], char *out, size_t size, char *err, size_t err_size)
{
	int po[2], pe[2];
	if (pipe(po) < 0)
		return thaw_error(THAW_EIO, "%s: pipe: %s", argv[0], strerror(errno));
	if (pipe(pe) < 0) {
		close(po[0]);
		close(po[1]);
		return thaw_error(THAW_EIO, "%s: pipe: %s", argv[0], strerror(errno));
	}
	/* the exec's failure comes back through a close-on-exec pipe */
	int px[2];
	if (pipe2(px, O_CLOEXEC) < 0) {
		close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
		return thaw_error(THAW_EIO, "%s: pipe: %s", argv[0], strerror(errno));
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(po[0]), close(po[1]), close(pe[0]), close(pe[1]), close(px[0]), close(px[1]);
		return thaw_error(THAW_EIO, "%s: fork: %s", argv[0], strerror(errno));
	}
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]), close(po[1]), close(pe[0]), close(pe[1]), close(px[0]);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		execvp(argv[0], argv);
		int e = errno;
		if (write(px[1], &e, sizeof e) < 0)
			_exit(127);
		_exit(127);
	}
	close(po[1]), close(pe[1]), close(px[1]);
	size_t no = 0, ne = 0;
	struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
	int open_fds = 2;
	while (open_fds > 0) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int k = 0; k < 2; k++) {
			if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[4096];
			ssize_t n = read(fds[k].fd, buf, sizeof buf);
			if (n <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				close(fds[k].fd);
				fds[k].fd = -1;
				open_fds--;
				continue;
			}
			char *dst = k == 0 ? out : err;
			size_t cap = k == 0 ? size : err_size, *used = k == 0 ? &no : &ne;
			if (dst && cap > 0) {
				size_t take = (size_t)n < cap - 1 - *used ? (size_t)n : cap - 1 - *used;
				memcpy(dst + *used, buf, take);
				*used += take;
			}
		}
	}
	if (out && size)
		out[no] = 0;
	if (err && err_size)
		err[ne] = 0;
	int e = 0;
	ssize_t got = read(px[0], &e, sizeof e);
	close(px[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got == (ssize_t)sizeof e)
		return thaw_error(THAW_EIO, "cannot run %s: %s", argv[0], strerror(e));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- Slurm */
int thaw_slurm_accounting(void)
{
	static char out[1 << 16];
	char err[512];
	char *argv[] = {"scontrol", "show", "config", NULL};
	int rc = thaw_exec_capture(argv, out, sizeof out, err, sizeof err);
	if (rc != 0)
		return rc < 0 ? rc : thaw_error(THAW_EIO, "scontrol show config failed: %s", err);
	const char *p = strstr(out, "AccountingStorageType");
	if (!p)
		return 0;
	p = strchr(p, '=');
	if (!p)
		return 0;
	p++;
	while (*p == ' ')
		p++;
	return strncmp(p, "accounting_storage/none", 23) != 0;
}

static void shell_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

/* "0-3,5,7-8" from the sorted indices. */
static void ranges(const int *idx, int n, char *buf, size_t size)
{
	size_t k = 0;
	buf[0] = 0;
	for (int i = 0; i < n && k < size;) {
		int j = i;
		while (j + 1 < n && idx[j + 1] == idx[j] + 1)
			j++;
		if (j > i)
			k += (size_t)snprintf(buf + k, size - k, "%s%d-%d", k ? "," : "", idx[i], idx[j]);
		else
			k += (size_t)snprintf(buf + k, size - k, "%s%d", k ? "," : "", idx[i]);
		i = j + 1;
	}
}

int thaw_slurm_submit(const thaw_sweep *s, const thaw_slurm_opts *o, char *job, size_t size, int *n_submitted,
		      char *submitted)
{
	char exe[4096], dir[4096], path[4400];
	*n_submitted = 0;
	job[0] = 0;
	if (thaw_self_exe(exe, sizeof exe) < 0)
		return THAW_EIO;
	if (!realpath(s->dir, dir))
		return thaw_error(THAW_EIO, "%s: %s", s->dir, strerror(errno));
	int *todo = thaw_malloc((size_t)(s->n_points ? s->n_points : 1) * sizeof *todo);
	if (!todo)
		return THAW_ENOMEM;
	int n = 0;
	for (int i = 0; i < s->n_points; i++) {
		int run = !thaw_point_finished(thaw_sweep_point_state(s, i).status);
		if (run)
			todo[n++] = i;
		if (submitted)
			submitted[i] = (char)run;
	}
	if (n == 0) {
		free(todo);
		return 0;
	}
	snprintf(path, sizeof path, "%s/slurm", dir);
	int rc = thaw_mkdirs(path);
	snprintf(path, sizeof path, "%s/sweep.sbatch", dir);
	thaw_atomic a;
	FILE *f = rc < 0 ? NULL : thaw_atomic_open(&a, path);
	if (!f) {
		free(todo);
		return rc < 0 ? rc : THAW_EIO;
	}
	const char *name = strrchr(s->script, '/');
	name = name ? name + 1 : s->script;
	fprintf(f, "#!/bin/sh\n"
		   "# thaw sweep of %s: array task I runs point I of manifest.tsv (its run\n"
		   "# folder and arguments are listed there) through `thaw sweep --point`,\n"
		   "# which writes the point's log.txt and exit record. thaw sweep --slurm\n"
		   "# submits it with --array=<the unfinished points>.\n",
		s->script);
	fprintf(f, "#SBATCH --job-name=thaw-%.40s\n", name);
	fprintf(f, "#SBATCH --output=%s/slurm/%%A_%%a.out\n", dir);
	if (o->partition)
		fprintf(f, "#SBATCH --partition=%s\n", o->partition);
	if (o->time)
		fprintf(f, "#SBATCH --time=%s\n", o->time);
	if (o->cpus_per_task > 0)
		fprintf(f, "#SBATCH --cpus-per-task=%d\n", o->cpus_per_task);
	if (o->mem)
		fprintf(f, "#SBATCH --mem=%s\n", o->mem);
	if (s->mpi > 0)
		fprintf(f, "#SBATCH --ntasks=%d\n", s->mpi);
	fprintf(f, "exec ");
	shell_quote(f, exe);
	fprintf(f, " sweep --point ");
	shell_quote(f, dir);
	fprintf(f, " \"$SLURM_ARRAY_TASK_ID\"\n");
	if ((rc = thaw_atomic_commit(&a)) < 0) {
		free(todo);
		return rc;
	}
	chmod(path, 0755);
	char array[8192], arg[8300], out[512], err[2048];
	ranges(todo, n, array, sizeof array);
	free(todo);
	snprintf(arg, sizeof arg, "--array=%s", array);
	char *argv[] = {"sbatch", "--parsable", arg, path, NULL};
	rc = thaw_exec_capture(argv, out, sizeof out, err, sizeof err);
	if (rc < 0) {
		thaw_error_prefix("--slurm needs Slurm's commands on PATH (Debian: slurm-client)");
		return rc;
	}
	if (rc != 0) {
		size_t l = strlen(err);
		while (l && err[l - 1] == '\n')
			err[--l] = 0;
		return thaw_error(THAW_EIO, "sbatch failed (exit %d): %s", rc, err[0] ? err : "(no message)");
	}
	size_t l = strcspn(out, ";\n");
	if (l == 0 || l >= size)
		return thaw_error(THAW_EIO, "sbatch gave no job id (it printed '%s')", out);
	snprintf(job, size, "%.*s", (int)l, out);
	*n_submitted = n;
	/* the sweep's jobs, for people looking at the folder later */
	snprintf(path, sizeof path, "%s/slurm/jobs", dir);
	FILE *jf = fopen(path, "a");
	if (jf) {
		fprintf(jf, "%s\t%s\n", job, array);
		fclose(jf);
	}
	return 0;
}

/* squeue's tasks of job: sets queued[i] to 'P' (pending), 'R' (running or
 * ending), 0 (not in the queue). 0, or < 0 when squeue fails. */
static int queue_state(const char *job, char *queued, int n_points)
{
	static char out[1 << 18];
	char err[1024];
	char *argv[] = {"squeue", "-h", "-r", "-j", (char *)job, "-o", "%K %t", NULL};
	memset(queued, 0, (size_t)n_points);
	int rc = thaw_exec_capture(argv, out, sizeof out, err, sizeof err);
	if (rc < 0)
		return rc;
	if (rc != 0) {
		/* a job gone from the controller's memory is a finished job */
		if (strstr(err, "Invalid job id"))
			return 0;
		return thaw_error(THAW_EIO, "squeue failed (exit %d): %s", rc, err);
	}
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char st[16];
		int task;
		if (sscanf(line, "%d %15s", &task, st) == 2 && task >= 0 && task < n_points)
			queued[task] = !strcmp(st, "PD") ? 'P' : 'R';
	}
	return 0;
}

int thaw_slurm_annotate(thaw_sweep_results *r)
{
	const thaw_sweep *s = r->sweep;
	char path[4200], line[512];
	snprintf(path, sizeof path, "%s/slurm/jobs", s->dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char *queued = thaw_calloc((size_t)s->n_points + 1, 1);
	int marked = 0;
	while (queued && fgets(line, sizeof line, f)) {
		char job[64];
		if (sscanf(line, "%63[0-9]", job) != 1 || queue_state(job, queued, s->n_points) < 0)
			continue;
		for (int i = 0; i < r->n_rows; i++) {
			thaw_point_status st = r->rows[i].state.status;
			if (queued[i] && (st == THAW_POINT_TODO || st == THAW_POINT_STARTED) && !r->rows[i].queue) {
				r->rows[i].queue = queued[i];
				marked++;
			}
		}
	}
	fclose(f);
	free(queued);
	return marked;
}

/* sacct's state and exit code of one task ("CANCELLED by 0, exit 0:15"). */
static void sacct_note(const char *job, int task, char *buf, size_t size)
{
	char id[96], out[1024];
	snprintf(id, sizeof id, "%s_%d", job, task);
	char *argv[] = {"sacct", "-n", "-P", "-X", "-j", id, "-o", "State,ExitCode", NULL};
	buf[0] = 0;
	if (thaw_exec_capture(argv, out, sizeof out, NULL, 0) != 0)
		return;
	char *nl = strchr(out, '\n');
	if (nl)
		*nl = 0;
	char *bar = strchr(out, '|');
	if (bar) {
		*bar = 0;
		snprintf(buf, size, "Slurm: %.60s, exit %.20s", out, bar + 1);
	}
}

int thaw_slurm_watch(const thaw_sweep *s, const char *job, const char *submitted, double poll_s,
		     thaw_sweep_event_fn on_event, void *user, int (*should_stop)(void *user))
{
	char *queued = thaw_calloc((size_t)s->n_points + 1, 1);
	char *reported = thaw_calloc((size_t)s->n_points + 1, 1);
	if (!queued || !reported) {
		free(queued);
		free(reported);
		return THAW_ENOMEM;
	}
	int accounting = -1, fails = 0, last_r = -1, last_p = -1, done = 0, failed = 0, total = -1, rc = 0;
	for (;;) {
		if (queue_state(job, queued, s->n_points) < 0) {
			if (++fails >= 5) {
				rc = THAW_EIO;
				break;
			}
		} else {
			fails = 0;
			int r = 0, p = 0;
			for (int i = 0; i < s->n_points; i++) {
				r += queued[i] == 'R';
				p += queued[i] == 'P';
			}
			if (total < 0) {
				total = 0;
				for (int i = 0; i < s->n_points; i++) {
					reported[i] = !submitted[i]; /* not this job's */
					total += submitted[i] != 0;
				}
			}
			if (on_event && (r != last_r || p != last_p)) {
				thaw_sweep_event ev = {.kind = THAW_SWEEP_QUEUE, .running = r, .pending = p,
						       .done = done, .total = total};
				on_event(&ev, user);
			}
			last_r = r;
			last_p = p;
			for (int i = 0; i < s->n_points; i++) {
				if (queued[i] || reported[i])
					continue;
				reported[i] = 1;
				thaw_point_state st = thaw_sweep_point_state(s, i);
				char note[256] = "";
				if (!thaw_point_finished(st.status)) {
					failed++;
					if (accounting < 0)
						accounting = thaw_slurm_accounting() == 1;
					if (accounting)
						sacct_note(job, i, note, sizeof note);
				}
				done++;
				if (on_event) {
					thaw_sweep_event ev = {.kind = THAW_SWEEP_DONE, .point = i, .state = st,
							       .note = note[0] ? note : NULL, .done = done,
							       .total = total, .running = r, .pending = p};
					on_event(&ev, user);
				}
			}
			if (r + p == 0)
				break;
		}
		int stop = 0;
		for (double t = 0; t < poll_s && !stop; t += 0.1) {
			nap(0.1);
			stop = should_stop && should_stop(user);
		}
		if (stop) {
			rc = thaw_error(THAW_ESTOP, "stopped watching job %s; it goes on", job);
			break;
		}
	}
	free(queued);
	free(reported);
	if (rc == THAW_EIO)
		return thaw_error(THAW_EIO, "squeue keeps failing: %s", thaw_errmsg());
	return rc < 0 ? rc : failed;
}
