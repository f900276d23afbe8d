/* Sweeps without running anything: grids are parsed and refused as users
 * see it, points come in grid order with their seeds and folders, a point's
 * command puts positional and named values where the script reads them,
 * the manifest survives a round trip and guards its folder, a point's
 * state is read from its folder, and collection sorts, names and refuses
 * as documented. (tests/sweep/run.sh runs real sweeps.) */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "check.h"
#include "thaw/runlog.h"
#include "thaw/sweep.h"
#include "tmpdir.h"

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_grid_parse(void)
{
	thaw_sweep_spec sp = {0};
	CHECK_ERR(thaw_sweep_spec_grid(&sp, "lr"), "--grid lr: expected NAME=V1,V2,...");
	CHECK_ERR(thaw_sweep_spec_grid(&sp, "lr="), "lr: an empty value");
	CHECK_ERR(thaw_sweep_spec_grid(&sp, "lr=1,,2"), "lr: an empty value");
	CHECK_ERR(thaw_sweep_spec_grid(&sp, "lr=1,2,1"), "value '1' given twice");
	CHECK_ERR(thaw_sweep_spec_grid(&sp, "9x=1"), "'9x' is not a parameter name");
	CHECK_ERR(thaw_sweep_spec_grid(&sp, "0=1"), "'0' is not a parameter name");
	CHECK_ERR(thaw_sweep_spec_grid(&sp, "a b=1"), "'a b' is not a parameter name");
	CHECK_ERR(thaw_sweep_spec_grid(&sp, "k=1\t2"), "holds a tab or a newline");
	CHECK(sp.n_params == 0);
	CHECK_OK(thaw_sweep_spec_grid(&sp, "k=5,10,20"));
	CHECK_ERR(thaw_sweep_spec_grid(&sp, "k=1"), "'k' is in the grid twice");
	CHECK_OK(thaw_sweep_spec_grid(&sp, "1=a"));
	CHECK(sp.n_params == 2 && sp.params[0].n == 3 && !strcmp(sp.params[0].values[2], "20"));
	thaw_sweep_spec_free(&sp);
	CHECK(sp.n_params == 0);

	const char *v = NULL;
	CHECK(thaw_param_split("lr=1e-3", &v) == 2 && !strcmp(v, "1e-3"));
	CHECK(thaw_param_split("cut.at=pool2", &v) == 6 && !strcmp(v, "pool2"));
	CHECK(thaw_param_split("1=2", &v) == 0);
	CHECK(thaw_param_split("=x", &v) == 0);
	CHECK(thaw_param_split("a b=c", &v) == 0);
	CHECK(thaw_param_split("plain", &v) == 0);
}

static thaw_sweep *make(const char *sub, const char *g1, const char *g2, int repeat, int argc, char **argv)
{
	thaw_sweep_spec sp = {.script = tpath("exp.lua"), .dir = tpath(sub), .repeat = repeat, .seed = 7,
			      .argc = argc, .argv = argv};
	if (g1)
		CHECK_OK(thaw_sweep_spec_grid(&sp, g1));
	if (g2)
		CHECK_OK(thaw_sweep_spec_grid(&sp, g2));
	thaw_sweep *s = thaw_sweep_new(&sp);
	thaw_sweep_spec_free(&sp);
	return s;
}

static void test_points_and_argv(void)
{
	put(tpath("exp.lua"), "-- nothing\n");
	thaw_sweep *s = make("a", "k=5,10,20", "lr=1e-3,3e-4", 2, 0, NULL);
	CHECK(s && s->n_points == 12);
	if (!s)
		return;
	/* the last parameter fastest, repeats innermost, seed + rep */
	CHECK(s->points[0].value[0] == 0 && s->points[0].value[1] == 0 && s->points[0].seed == 7);
	CHECK(s->points[1].rep == 1 && s->points[1].seed == 8 && s->points[1].value[1] == 0);
	CHECK(s->points[2].value[0] == 0 && s->points[2].value[1] == 1);
	CHECK(s->points[11].value[0] == 2 && s->points[11].value[1] == 1 && s->points[11].rep == 1);
	CHECKF(!strcmp(s->points[3].dir, "points/003-k=5-lr=3e-4-r2"), "%s", s->points[3].dir);
	char lab[128];
	thaw_sweep_point_label(s, 3, lab, sizeof lab);
	CHECKF(!strcmp(lab, "k=5 lr=3e-4 rep 2"), "%s", lab);
	char buf[8192], *av[64];
	int n = thaw_sweep_point_argv(s, 3, "/bin/thaw", 0, av, 64, buf, sizeof buf);
	CHECK(n == 10);
	if (n == 10) {
		CHECK(!strcmp(av[0], "/bin/thaw") && !strcmp(av[1], "run") && !strcmp(av[3], "--out"));
		CHECK(!strcmp(av[5], "--seed") && !strcmp(av[6], "8") && !strcmp(av[7], "--"));
		CHECK(!strcmp(av[8], "k=5") && !strcmp(av[9], "lr=3e-4") && av[10] == NULL);
	}
	CHECK_ERR(thaw_sweep_point_argv(s, 3, "/bin/thaw", 0, av, 5, buf, sizeof buf), "command too long");
	thaw_sweep_free(s);

	/* positional: the given arguments fill the other places */
	char *args[] = {"first", "third"};
	s = make("b", "2=x,y", "lr=1", 1, 2, args);
	n = s ? thaw_sweep_point_argv(s, 1, "thaw", 0, av, 64, buf, sizeof buf) : -1;
	CHECK(n == 12);
	if (n == 12)
		CHECK(!strcmp(av[8], "first") && !strcmp(av[9], "y") && !strcmp(av[10], "third") &&
		      !strcmp(av[11], "lr=1"));
	if (s) {
		thaw_sweep_point_label(s, 1, lab, sizeof lab);
		CHECKF(!strcmp(lab, "arg[2]=y lr=1"), "%s", lab);
	}
	thaw_sweep_free(s);
	s = make("c", "3=x", NULL, 1, 1, args);
	CHECK(s == NULL && strstr(thaw_errmsg(), "arg[3] would leave a gap"));
	thaw_sweep_free(s);

	/* MPI: mpirun here, srun in a Slurm allocation, or the given launcher */
	thaw_sweep_spec sp = {.script = tpath("exp.lua"), .dir = tpath("m"), .repeat = 1, .seed = 1, .mpi = 4};
	CHECK_OK(thaw_sweep_spec_grid(&sp, "k=1"));
	s = thaw_sweep_new(&sp);
	n = s ? thaw_sweep_point_argv(s, 0, "thaw", 0, av, 64, buf, sizeof buf) : -1;
	CHECK(n > 3 && !strcmp(av[0], "mpirun") && !strcmp(av[1], "-np") && !strcmp(av[2], "4") &&
	      !strcmp(av[3], "thaw"));
	n = s ? thaw_sweep_point_argv(s, 0, "thaw", 1, av, 64, buf, sizeof buf) : -1;
	CHECK(n > 4 && !strcmp(av[0], "srun") && !strcmp(av[1], "--mpi=pmix") && !strcmp(av[2], "-n") &&
	      !strcmp(av[3], "4") && !strcmp(av[4], "thaw"));
	thaw_sweep_free(s);
	sp.launcher = "mpiexec  --oversubscribe -np 2";
	s = thaw_sweep_new(&sp);
	n = s ? thaw_sweep_point_argv(s, 0, "thaw", 1, av, 64, buf, sizeof buf) : -1;
	CHECK(n > 4 && !strcmp(av[0], "mpiexec") && !strcmp(av[1], "--oversubscribe") && !strcmp(av[3], "2") &&
	      !strcmp(av[4], "thaw"));
	thaw_sweep_free(s);
	thaw_sweep_spec_free(&sp);
}

static void test_manifest(void)
{
	char *args[] = {"--fast"};
	thaw_sweep *s = make("man", "k=5,10", "opt=adam,sgd", 3, 1, args);
	CHECK_OK(s ? thaw_sweep_prepare(s) : -1);
	thaw_sweep *r = thaw_sweep_open(tpath("man"));
	CHECK(r != NULL);
	if (s && r) {
		CHECK(r->n_points == 12 && r->repeat == 3 && r->seed == 7 && r->argc == 1 &&
		      !strcmp(r->argv[0], "--fast"));
		CHECK(!strcmp(r->script, s->script) && !strcmp(r->params[1].values[1], "sgd"));
		CHECK(!strcmp(r->points[11].dir, s->points[11].dir));
	}
	CHECK_OK(s ? thaw_sweep_prepare(s) : -1); /* the same sweep again: kept */
	thaw_sweep *other = make("man", "k=5,10", "opt=adam", 3, 1, args);
	CHECK_ERR(other ? thaw_sweep_prepare(other) : -1, "holds another sweep (its grid is k=5,10 opt=adam,sgd)");
	thaw_sweep_free(other);
	other = make("man", "k=5,10", "opt=adam,sgd", 3, 0, NULL);
	CHECK_ERR(other ? thaw_sweep_prepare(other) : -1, "the script arguments differ");
	thaw_sweep_free(other);
	thaw_sweep_free(r);
	thaw_sweep_free(s);

	mkdir(tpath("bad"), 0777);
	put(tpath("bad/manifest.tsv"), "thaw-sweep\t1\nscript\t/x.lua\nrepeat\tmany\n");
	r = thaw_sweep_open(tpath("bad"));
	CHECK(r == NULL && strstr(thaw_errmsg(), "bad/manifest.tsv:3: bad repeat 'many'"));
	put(tpath("bad/manifest.tsv"), "thaw-sweep\t1\nscript\t/x.lua\ngrid\tk\t1\t2\npoint\t0\tp\t1\tk=1\n");
	r = thaw_sweep_open(tpath("bad"));
	CHECK(r == NULL && strstr(thaw_errmsg(), "1 point lines, but the grid makes 2 points"));
	r = thaw_sweep_open(tpath("nowhere"));
	CHECK(r == NULL && strstr(thaw_errmsg(), "is ") && strstr(thaw_errmsg(), "nowhere a sweep folder?"));
}

/* A summary as thaw run writes it. */
static void summary(const thaw_sweep *s, int i, const char *status, int code, double val_loss, double test_acc)
{
	char path[4800], text[1024];
	thaw_sweep_point_path(s, i, NULL, path, sizeof path);
	thaw_mkdirs(path);
	thaw_sweep_point_path(s, i, "summary.json", path, sizeof path);
	snprintf(text, sizeof text,
		 "{\n  \"script\": \"exp.lua\",\n  \"status\": \"%s\",\n  \"exit_code\": %d,\n"
		 "  \"checks_passed\": 1,\n  \"checks_failed\": 0,\n  \"epochs\": 2,\n  \"seconds\": 1.5,\n"
		 "  \"last_epoch\": {\"phase\": \"head\", \"epoch\": 2, \"loss\": 0.5, \"accuracy\": 0.8, "
		 "\"val_loss\": %g, \"val_accuracy\": 0.7},\n"
		 "  \"evaluations\": [\n    {\"name\": \"train\", \"n\": 10, \"loss\": 0.1, \"accuracy\": 0.9},\n"
		 "    {\"name\": \"test\", \"n\": 50, \"loss\": 0.4, \"accuracy\": %g}\n  ],\n"
		 "  \"error\": %s\n}\n",
		 status, code, val_loss, test_acc, code ? "\"exp.lua:3: boom\\u000astack traceback:\"" : "null");
	put(path, text);
}

static void test_state_and_collect(void)
{
	thaw_sweep *s = make("col", "k=1,2,3,4,5", NULL, 1, 0, NULL);
	if (!s || thaw_sweep_prepare(s) < 0)
		return;
	summary(s, 0, "ok", 0, 0.9, 0.60);
	summary(s, 1, "ok", 0, 0.3, 0.80);
	summary(s, 2, "check failed", 2, 0.5, 0.70);
	summary(s, 3, "error", 1, 0.1, 0.95);
	/* point 4: killed, with a checkpoint */
	char path[4800];
	thaw_sweep_point_path(s, 4, NULL, path, sizeof path);
	thaw_mkdirs(path);
	thaw_sweep_point_path(s, 4, "exit", path, sizeof path);
	put(path, "signal 15\n");
	thaw_sweep_point_path(s, 4, "checkpoint.thaw", path, sizeof path);
	put(path, "x");

	thaw_point_state st = thaw_sweep_point_state(s, 2);
	CHECK(st.status == THAW_POINT_CHECK && st.exit_code == 2 && thaw_point_finished(st.status));
	st = thaw_sweep_point_state(s, 3);
	CHECK(st.status == THAW_POINT_ERROR && st.exit_code == 1 && !thaw_point_finished(st.status));
	st = thaw_sweep_point_state(s, 4);
	CHECK(st.status == THAW_POINT_KILLED && st.signal == 15 && st.resumable);
	thaw_sweep *t = make("st", "k=1,2", NULL, 1, 0, NULL);
	if (t) {
		thaw_sweep_point_path(t, 1, NULL, path, sizeof path);
		thaw_mkdirs(path);
		thaw_sweep_point_path(t, 1, "log.txt", path, sizeof path);
		put(path, "thaw run: ...\n");
		CHECK(thaw_sweep_point_state(t, 0).status == THAW_POINT_TODO);
		st = thaw_sweep_point_state(t, 1);
		CHECK(st.status == THAW_POINT_STARTED && !st.resumable && !strcmp(thaw_point_status_name(st.status), "started"));
	}
	thaw_sweep_free(t);
	char buf[8192], *av[64];
	int n = thaw_sweep_point_argv(s, 4, "thaw", 0, av, 64, buf, sizeof buf);
	CHECK(n == 5 && !strcmp(av[3], "--resume")); /* seed and arguments from the checkpoint */

	thaw_sweep_results *r = thaw_sweep_collect(s, NULL);
	CHECK(r != NULL);
	if (r) {
		CHECKF(!strcmp(r->metric, "test.accuracy") && !r->lower_better, "%s", r->metric);
		CHECK(r->n_ok == 2 && r->n_failed == 3 && r->n_todo == 0);
		CHECK_NEAR(r->rows[1].metric, 0.80, 1e-12);
		CHECK(isnan(r->rows[4].metric));
		CHECKF(!strcmp(r->rows[3].error, "exp.lua:3: boom"), "'%s'", r->rows[3].error);
		char *text = thaw_sweep_results_text(r);
		/* highest first: 0.95 (the error's), 0.80, 0.70, 0.60, then none */
		char *a = text ? strstr(text, "k=4 ") : NULL, *b = text ? strstr(text, "k=2 ") : NULL;
		char *c = text ? strstr(text, "k=1 ") : NULL, *d = text ? strstr(text, "k=5 ") : NULL;
		CHECK(a && b && c && d && a < b && b < c && c < d);
		CHECK(text && strstr(text, "k=5: killed (signal 15); log "));
		CHECK(text && strstr(text, "k=4: error (exit 1): exp.lua:3: boom; log "));
		free(text);
		CHECK_OK(thaw_sweep_results_write(r));
		struct stat sb;
		CHECK(stat(tpath("col/results.png"), &sb) == 0 && sb.st_size > 1000);
		FILE *f = fopen(tpath("col/results.csv"), "r");
		char line[1024] = "";
		if (f) {
			CHECK(fgets(line, sizeof line, f) != NULL);
			fclose(f);
		}
		const char *head = "point,folder,repeat,seed,k,status,exit_code,checks_passed,";
		CHECKF(!strncmp(line, head, strlen(head)) && strstr(line, ",test.accuracy\n"), "%s", line);
	}
	thaw_sweep_results_free(r);
	r = thaw_sweep_collect(s, "val_loss");
	CHECK(r && r->lower_better && !strcmp(r->metric, "val_loss"));
	thaw_sweep_results_free(r);
	r = thaw_sweep_collect(s, "val_loss:max");
	CHECK(r && !r->lower_better);
	thaw_sweep_results_free(r);
	r = thaw_sweep_collect(s, "nope");
	CHECK(r == NULL && strstr(thaw_errmsg(), "--metric nope: no summary has it; they have exit_code"));
	thaw_sweep_results_free(r);

	/* a summary cut short is refused with its place */
	thaw_sweep_point_path(s, 1, "summary.json", path, sizeof path);
	put(path, "{\n  \"status\": \"ok\",\n  \"seconds\": ");
	r = thaw_sweep_collect(s, NULL);
	CHECK(r == NULL && strstr(thaw_errmsg(), "summary.json: not valid JSON at byte"));
	thaw_sweep_results_free(r);
	thaw_sweep_free(s);
}

int main(void)
{
	if (tmpdir_make("thaw-sweep") < 0)
		return 1;
	RUN(test_grid_parse);
	RUN(test_points_and_argv);
	RUN(test_manifest);
	RUN(test_state_and_collect);
	tmpdir_remove();
	return check_done();
}
