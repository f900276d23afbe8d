/* Files are written whole or not at all: every writer goes through a
 * temporary file and a rename, a write that fails (a full disk, simulated
 * with RLIMIT_FSIZE) names the file and leaves the previous one as it was,
 * stale temporary files of killed writers are removed (only those), and a
 * run whose checkpoint cannot be written stops and says which file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"
#include "thaw/atomic.h"
#include "thaw/image.h"
#include "thaw/onnx.h"
#include "thaw/png.h"
#include "thaw/run.h"
#include "thaw/runlog.h"
#include "thaw/zoo.h"
#include "tmpdir.h"

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int slurp(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t k = fread(buf, 1, n - 1, f);
	buf[k] = 0;
	fclose(f);
	return (int)k;
}

static void touch(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* entries of the scratch folder whose name holds ".tmp." */
static int tmp_files(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += strstr(e->d_name, ".tmp.") != NULL;
	if (d)
		closedir(d);
	return n;
}

/* Writes beyond `bytes` fail with EFBIG from here on (0: no limit). */
static void limit_files(long bytes)
{
	struct rlimit rl;
	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = bytes ? (rlim_t)bytes : rl.rlim_max;
	setrlimit(RLIMIT_FSIZE, &rl);
}

static void test_commit_and_abort(void)
{
	char buf[256];
	CHECK_OK(thaw_atomic_write(tpath("a.txt"), "first\n", 6));
	CHECK(slurp(tpath("a.txt"), buf, sizeof buf) == 6 && !strcmp(buf, "first\n"));
	thaw_atomic a;
	FILE *f = thaw_atomic_open(&a, tpath("a.txt"));
	CHECK(f != NULL);
	fputs("second, not kept\n", f);
	thaw_atomic_abort(&a);
	CHECK(slurp(tpath("a.txt"), buf, sizeof buf) == 6 && !strcmp(buf, "first\n"));
	f = thaw_atomic_open(&a, tpath("a.txt"));
	fputs("third\n", f);
	thaw_atomic_fail(&a, ENOSPC);
	CHECK_ERR(thaw_atomic_commit(&a), "a.txt: write failed: No space left on device");
	CHECK(slurp(tpath("a.txt"), buf, sizeof buf) == 6 && !strcmp(buf, "first\n"));
	f = thaw_atomic_open(&a, tpath("a.txt"));
	fputs("fourth\n", f);
	CHECK_OK(thaw_atomic_commit(&a));
	CHECK(slurp(tpath("a.txt"), buf, sizeof buf) == 7 && !strcmp(buf, "fourth\n"));
	CHECK(tmp_files() == 0);
	/* through a symbolic link: the file it points to is replaced, the link kept */
	CHECK(symlink("a.txt", tpath("link.txt")) == 0);
	CHECK_OK(thaw_atomic_write(tpath("link.txt"), "fifth\n", 6));
	struct stat st;
	CHECK(lstat(tpath("link.txt"), &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(slurp(tpath("a.txt"), buf, sizeof buf) == 6 && !strcmp(buf, "fifth\n"));
	remove(tpath("link.txt"));
	/* a device is written straight, never renamed over */
	CHECK_OK(thaw_atomic_write("/dev/null", "x", 1));
	CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
	CHECK(thaw_atomic_open(&a, tpath("no/such/dir/a.txt")) == NULL);
	CHECK(strstr(thaw_errmsg(), "no/such/dir/a.txt: cannot create a temporary file"));
}

/* a folder of its own: one this thread already found clean is not read
 * again (a bulk writer reads it once) */
static char sdir[300];
static const char *spath(const char *name)
{
	static char buf[4][600];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", sdir, name);
	return buf[k];
}

static void test_sweep(void)
{
	snprintf(sdir, sizeof sdir, "%s/sweep", dir);
	mkdir(sdir, 0777);
	/* what kill -9 during a save leaves: an unlocked temporary file */
	touch(spath("m.thaw.tmp.Ab12Cd"), "half a model");
	touch(spath("m.thaw.tmp.Zz99zz"), "held by a live writer");
	touch(spath("other.thaw.tmp.Ab12Cd"), "another target's");
	touch(spath("m.thaw.tmp.short"), "not thaw's pattern");
	touch(spath("notes.tmp.Ab12Cd"), "not a kind thaw writes");
	int held = open(spath("m.thaw.tmp.Zz99zz"), O_RDONLY);
	CHECK(held >= 0 && flock(held, LOCK_EX) == 0);
	thaw_atomic a;
	FILE *f = thaw_atomic_open(&a, spath("m.thaw")); /* sweeps m.thaw's stale files */
	CHECK(f != NULL);
	thaw_atomic_abort(&a);
	CHECK(access(spath("m.thaw.tmp.Ab12Cd"), F_OK) != 0);
	CHECK(access(spath("m.thaw.tmp.Zz99zz"), F_OK) == 0);
	CHECK(access(spath("other.thaw.tmp.Ab12Cd"), F_OK) == 0);
	CHECK(access(spath("m.thaw.tmp.short"), F_OK) == 0);
	/* a folder sweep (a resumed run's): every stale file of thaw's kinds */
	CHECK(thaw_atomic_sweep_dir(sdir) == 1);
	CHECK(access(spath("other.thaw.tmp.Ab12Cd"), F_OK) != 0);
	CHECK(access(spath("m.thaw.tmp.Zz99zz"), F_OK) == 0);
	CHECK(access(spath("notes.tmp.Ab12Cd"), F_OK) == 0);
	close(held);
	CHECK(thaw_atomic_sweep(spath("m.thaw")) == 1);
	remove(spath("m.thaw.tmp.short"));
	remove(spath("notes.tmp.Ab12Cd"));
	CHECK(thaw_atomic_sweep_dir(sdir) == 0);
}

/* Every writer on a full disk: an error naming the file, the previous file
 * byte for byte as it was, no temporary file left. */
static void test_full_disk(void)
{
	uint8_t px[3 * 64 * 64];
	for (size_t i = 0; i < sizeof px; i++)
		px[i] = (uint8_t)(i * 7);
	thaw_model *m = thaw_zoo_reference_cnn(1, 12, 12, 3, 1);
	CHECK_OK(thaw_png_write(tpath("g.png"), px, 1, 8, 8));
	CHECK_OK(thaw_jpeg_write(tpath("g.jpg"), px, 1, 8, 8, 0, 0));
	CHECK_OK(thaw_atomic_write(tpath("m.thaw"), "old", 3));
	CHECK_OK(thaw_atomic_write(tpath("m.onnx"), "old", 3));
	thaw_runlog *log = thaw_runlog_open(dir, 0, 0);
	CHECK(log != NULL);
	long png = file_size(tpath("g.png")), jpg = file_size(tpath("g.jpg"));
	long csv = file_size(tpath("metrics.csv"));
	signal(SIGXFSZ, SIG_IGN);
	limit_files(64);
	CHECK_ERR(thaw_png_write(tpath("g.png"), px, 3, 64, 64), "g.png: write failed");
	CHECK_ERR(thaw_jpeg_write(tpath("g.jpg"), px, 3, 64, 64, 0, 0), "g.jpg: "); /* libjpeg: "Output file write error" */
	CHECK_ERR(thaw_model_save(m, tpath("m.thaw"), NULL), "m.thaw: write failed");
	CHECK_ERR(thaw_onnx_export(m, tpath("m.onnx")), "m.onnx: write failed");
	thaw_epoch_stats es = {.phase = "head", .phase_index = 1, .epoch = 1, .epochs = 1, .train_loss = 1,
			       .val_loss = -1, .val_acc = -1};
	thaw_event ev = {.kind = THAW_EV_EPOCH, .u.epoch = es};
	CHECK(thaw_runlog_event(log, &ev) < 0);
	const char *file = NULL;
	CHECK(thaw_runlog_save_error(log, &file) && file && strstr(file, "metrics."));
	limit_files(0);
	CHECK(file_size(tpath("g.png")) == png && file_size(tpath("g.jpg")) == jpg);
	CHECK(file_size(tpath("m.thaw")) == 3 && file_size(tpath("m.onnx")) == 3);
	CHECK(file_size(tpath("metrics.csv")) == csv);
	CHECK(tmp_files() == 0);
	/* the summary records the failed save */
	CHECK_OK(thaw_runlog_finish(log, "x.lua", "save-failed", 1, 0, 0, "disk full"));
	char buf[4096];
	CHECK(slurp(tpath("summary.json"), buf, sizeof buf) > 0 && strstr(buf, "\"save_failed\": {\"file\": ") &&
	      strstr(buf, "\"status\": \"save-failed\""));
	thaw_runlog_free(log);
	thaw_model_free(m);
}

/* A message may quote the one before it (thaw_error formats apart). */
static void test_error_quotes_itself(void)
{
	thaw_error(THAW_EIO, "x.thaw: cannot open");
	thaw_error(THAW_EIO, "resume: %s", thaw_errmsg());
	CHECK(!strcmp(thaw_errmsg(), "resume: x.thaw: cannot open"));
}

static thaw_dataset *data(void)
{
	thaw_synth_opts so = thaw_synth_opts_default();
	so.n = 96;
	so.classes = 3;
	so.h = so.w = 12;
	so.seed = 3;
	return thaw_synth(&so);
}

static int warnings, epochs_seen;
static char last_warning[1024];
static int on_event(const thaw_event *ev, void *user)
{
	(void)user;
	if (ev->kind == THAW_EV_LOG && ev->warning) {
		warnings++;
		snprintf(last_warning, sizeof last_warning, "%s", ev->u.line);
	}
	epochs_seen += ev->kind == THAW_EV_EPOCH;
	return 0;
}

/* A checkpoint that cannot be written stops the phase and fails the run. */
static void test_run_save_fails(void)
{
	thaw_dataset *d = data();
	thaw_model *m = thaw_zoo_reference_cnn(1, 12, 12, 3, 1);
	thaw_fit_opts o = thaw_fit_opts_default();
	o.epochs = 3;
	o.batch = 32;
	CHECK_OK(thaw_mkdirs(tpath("run")));
	thaw_run_opts ro = {.dir = tpath("run"), .seed = 1, .on_event = on_event};
	thaw_run *r = thaw_run_new(&ro);
	epochs_seen = 0;
	signal(SIGXFSZ, SIG_IGN);
	limit_files(1000);
	CHECK_ERR(thaw_run_fit(r, m, d, &o, 1, NULL), "checkpoint.thaw: write failed");
	limit_files(0);
	CHECK(epochs_seen == 1); /* stopped at the first checkpoint */
	const char *file = NULL, *why = thaw_run_save_error(r, &file);
	CHECK(why && strstr(why, "File too large") && file && strstr(file, "run/checkpoint.thaw"));
	CHECK(access(tpath("run/checkpoint.thaw"), F_OK) != 0 && tmp_files() == 0);
	thaw_run_free(r);
	/* a resume before any checkpoint says so */
	thaw_run_opts rr = {.dir = tpath("run"), .resume = tpath("run")};
	CHECK(thaw_run_new(&rr) == NULL);
	CHECK(strstr(thaw_errmsg(), "has no checkpoint yet") && strstr(thaw_errmsg(), "start it afresh"));
	rr.resume = tpath("nope");
	CHECK(thaw_run_new(&rr) == NULL);
	CHECK(strstr(thaw_errmsg(), "nope: no such run folder or checkpoint"));
	thaw_model_free(m);
	thaw_dataset_free(d);
}

/* A loss that grows far above where the phase started is warned about. */
static void test_divergence_warned(void)
{
	thaw_dataset *d = data();
	thaw_model *m = thaw_zoo_reference_cnn(1, 12, 12, 3, 1);
	thaw_fit_opts o = thaw_fit_opts_default();
	o.epochs = 2;
	o.batch = 16;
	thaw_run_opts ro = {.seed = 1, .on_event = on_event};
	thaw_run *r = thaw_run_new(&ro);
	warnings = 0;
	CHECK_OK(thaw_run_fit(r, m, d, &o, 0, NULL));
	CHECK(warnings == 0); /* a sane rate: no warning */
	o.optim.kind = THAW_SGD;
	o.optim.lr = 10;
	o.optim.momentum = 0.99f;
	thaw_model *m2 = thaw_zoo_reference_cnn(1, 12, 12, 3, 1);
	int rc = thaw_run_fit(r, m2, d, &o, 0, NULL);
	CHECK(warnings == 1); /* once a phase; also when the loss became NaN (rc THAW_ENAN) */
	CHECK(rc == 0 || rc == THAW_ENAN);
	/* a loss that is not finite stops the phase, with a warning */
	thaw_model *m3 = thaw_zoo_reference_cnn(1, 12, 12, 3, 1);
	thaw_node *last = m3->nodes[m3->n - 1];
	last->p[0].w[0] = NAN;
	warnings = 0;
	o = thaw_fit_opts_default();
	o.epochs = 2;
	o.batch = 16;
	CHECK(thaw_run_fit(r, m3, d, &o, 0, NULL) == THAW_ENAN);
	CHECK(warnings == 1 && strstr(last_warning, "the loss became NaN at step 1"));
	thaw_model_free(m3);
	thaw_run_free(r);
	thaw_model_free(m);
	thaw_model_free(m2);
	thaw_dataset_free(d);
}

int main(void)
{
	if (tmpdir_make("thaw-atomic") < 0)
		return 1;
	RUN(test_commit_and_abort);
	RUN(test_sweep);
	RUN(test_full_disk);
	RUN(test_error_quotes_itself);
	RUN(test_run_save_fails);
	RUN(test_divergence_warned);
	tmpdir_remove();
	return check_done();
}
