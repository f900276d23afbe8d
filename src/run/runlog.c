/* Run folders: metrics as JSON lines and CSV, curves and confusion matrices
 * as PNG, and a summary. Rows are kept in memory so the plots can be redrawn
 * after every epoch (a run stopped half-way still has its curves). */
#include "thaw/runlog.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "thaw/atomic.h"
#include "thaw/plot.h"

typedef struct row {
	char phase[64];
	int phase_index, epoch;
	double loss, acc, val_loss, val_acc, lr, img_s, seconds;
	long step;
} row;

typedef struct eval_row {
	char name[64];
	double loss, acc, topk;
	int k; /* top-k reported only when k < the class count: else it is 1.0 */
	long n;
} eval_row;

#define MAX_WARNINGS 32

struct thaw_runlog {
	char dir[4096];
	row *rows;
	int n, cap;
	eval_row *evals;
	int n_evals, cap_evals;
	double t0;
	char *warnings[MAX_WARNINGS];
	int n_warnings, more_warnings;
	char save_file[4200], save_error[1024]; /* the first save that failed */
};

void thaw_runlog_save_failed(thaw_runlog *r, const char *file, const char *reason)
{
	if (!r || r->save_file[0])
		return;
	snprintf(r->save_file, sizeof r->save_file, "%s", file && *file ? file : "?");
	snprintf(r->save_error, sizeof r->save_error, "%s", reason ? reason : "");
}

const char *thaw_runlog_save_error(const thaw_runlog *r, const char **file)
{
	if (!r || !r->save_file[0])
		return NULL;
	if (file)
		*file = r->save_file;
	return r->save_error;
}

/* rc of a write of path: a failure is recorded for the summary */
static int wrote(thaw_runlog *r, const char *path, int rc)
{
	if (rc < 0)
		thaw_runlog_save_failed(r, path, thaw_errmsg());
	return rc;
}

int thaw_mkdirs(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof buf)
		return thaw_error(THAW_EINVAL, "bad directory name '%s'", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0777) < 0 && errno != EEXIST)
			return thaw_error(THAW_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0777) < 0 && errno != EEXIST)
		return thaw_error(THAW_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
	struct stat st;
	if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode))
		return thaw_error(THAW_EIO, "%s: not a directory", buf);
	return 0;
}

int thaw_copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb");
	if (!in)
		return thaw_error(THAW_EIO, "%s: cannot read: %s", from, strerror(errno));
	thaw_atomic a;
	FILE *out = thaw_atomic_open(&a, to);
	if (!out) {
		fclose(in);
		return THAW_EIO;
	}
	char buf[65536];
	size_t k;
	while ((k = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, k, out) != k) {
			thaw_atomic_fail(&a, errno);
			break;
		}
	int bad = ferror(in);
	fclose(in);
	if (bad) {
		thaw_atomic_abort(&a);
		return thaw_error(THAW_EIO, "%s: read failed", from);
	}
	return thaw_atomic_commit(&a);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fputs("null", f);
}

static void path_in(char *buf, size_t n, const thaw_runlog *r, const char *name)
{
	snprintf(buf, n, "%s/%s", r->dir, name);
}

/* Rewrites metrics.jsonl and metrics.csv from the rows (small: one row per
 * epoch), each atomically, so a resumed run drops the rows after its
 * checkpoint cleanly and a kill at any moment leaves whole files. */
static int write_metrics(thaw_runlog *r)
{
	char pj[4200], pc[4200];
	path_in(pj, sizeof pj, r, "metrics.jsonl");
	path_in(pc, sizeof pc, r, "metrics.csv");
	thaw_atomic aj, ac;
	FILE *j = thaw_atomic_open(&aj, pj);
	if (!j)
		return wrote(r, pj, THAW_EIO);
	FILE *c = thaw_atomic_open(&ac, pc);
	if (!c) {
		thaw_atomic_abort(&aj);
		return wrote(r, pc, THAW_EIO);
	}
	fprintf(c, "phase,phase_index,epoch,global_epoch,loss,accuracy,val_loss,val_accuracy,lr,img_s,seconds,step\n");
	for (int i = 0; i < r->n; i++) {
		const row *w = &r->rows[i];
		fprintf(j, "{\"phase\":");
		json_str(j, w->phase);
		fprintf(j, ",\"phase_index\":%d,\"epoch\":%d,\"global_epoch\":%d,\"loss\":", w->phase_index,
			w->epoch, i + 1);
		json_num(j, w->loss);
		fprintf(j, ",\"accuracy\":");
		json_num(j, w->acc);
		fprintf(j, ",\"val_loss\":");
		json_num(j, w->val_acc >= 0 ? w->val_loss : NAN);
		fprintf(j, ",\"val_accuracy\":");
		json_num(j, w->val_acc >= 0 ? w->val_acc : NAN);
		fprintf(j, ",\"lr\":");
		json_num(j, w->lr);
		fprintf(j, ",\"img_s\":");
		json_num(j, w->img_s);
		fprintf(j, ",\"seconds\":");
		json_num(j, w->seconds);
		fprintf(j, ",\"step\":%ld}\n", w->step);
		/* CSV: quote the phase name (it may hold commas) */
		fputc('"', c);
		for (const char *p = w->phase; *p; p++)
			fprintf(c, *p == '"' ? "\"\"" : "%c", *p);
		fprintf(c, "\",%d,%d,%d,%.6g,%.6g,", w->phase_index, w->epoch, i + 1, w->loss, w->acc);
		if (w->val_acc >= 0)
			fprintf(c, "%.6g,%.6g,", w->val_loss, w->val_acc);
		else
			fprintf(c, ",,");
		fprintf(c, "%.6g,%.6g,%.6g,%ld\n", w->lr, w->img_s, w->seconds, w->step);
	}
	if (thaw_atomic_commit(&aj) < 0) {
		thaw_atomic_abort(&ac);
		return wrote(r, pj, THAW_EIO);
	}
	return wrote(r, pc, thaw_atomic_commit(&ac));
}

/* loss.png and accuracy.png over the whole run; a dashed line where a new
 * phase starts. */
static int write_plots(thaw_runlog *r)
{
	if (r->n == 0)
		return 0;
	double *buf = malloc(sizeof(double) * (size_t)r->n * 5);
	if (!buf)
		return thaw_error(THAW_ENOMEM, "out of memory");
	double *x = buf, *tl = buf + r->n, *vl = buf + 2 * r->n, *ta = buf + 3 * r->n, *va = buf + 4 * r->n;
	thaw_plot_marker mk[THAW_PLOT_MAX_MARKERS];
	int nm = 0, has_val = 0;
	for (int i = 0; i < r->n; i++) {
		const row *w = &r->rows[i];
		x[i] = i + 1;
		tl[i] = w->loss;
		ta[i] = w->acc;
		vl[i] = w->val_acc >= 0 ? w->val_loss : NAN;
		va[i] = w->val_acc >= 0 ? w->val_acc : NAN;
		has_val |= w->val_acc >= 0;
		if (i > 0 && w->phase_index != r->rows[i - 1].phase_index && nm < THAW_PLOT_MAX_MARKERS)
			mk[nm++] = (thaw_plot_marker){i + 0.5, w->phase};
	}
	thaw_plot_series sl[2] = {{"train", THAW_PLOT_BLUE, x, tl, r->n}, {"validation", THAW_PLOT_ORANGE, x, vl, r->n}};
	thaw_plot_series sa[2] = {{"train", THAW_PLOT_BLUE, x, ta, r->n}, {"validation", THAW_PLOT_ORANGE, x, va, r->n}};
	char path[4200];
	char title[128];
	snprintf(title, sizeof title, "loss (%s)", r->rows[0].phase);
	if (nm || r->n == 0)
		snprintf(title, sizeof title, "loss");
	thaw_plot_spec spec = {.title = title, .xlabel = "epoch", .ylabel = "loss", .series = sl,
			       .n_series = has_val ? 2 : 1, .markers = mk, .n_markers = nm};
	path_in(path, sizeof path, r, "loss.png");
	int rc = wrote(r, path, thaw_plot_lines(path, &spec));
	if (rc == 0) {
		spec.title = "accuracy";
		spec.ylabel = "accuracy";
		spec.series = sa;
		spec.y_min = 0;
		spec.y_max = 1;
		path_in(path, sizeof path, r, "accuracy.png");
		rc = wrote(r, path, thaw_plot_lines(path, &spec));
	}
	free(buf);
	return rc;
}

/* Room for element n of a doubling array: the array (moved or not), or
 * NULL with the old one untouched when memory runs out. */
static void *grow(void *items, int n, int *cap, size_t size)
{
	if (n < *cap)
		return items;
	int c = *cap ? 2 * *cap : 16;
	void *p = realloc(items, size * (size_t)c);
	if (!p) {
		thaw_error(THAW_ENOMEM, "out of memory");
		return NULL;
	}
	*cap = c;
	return p;
}

/* One field of a metrics.csv line: a quoted phase name ("" for a quote)
 * or a bare value; *p moves past the comma. */
static void csv_field(const char **p, char *out, size_t n)
{
	size_t k = 0;
	const char *s = *p;
	if (*s == '"') {
		for (s++; *s && !(*s == '"' && s[1] != '"'); s++) {
			if (*s == '"')
				s++;
			if (k + 1 < n)
				out[k++] = *s;
		}
		if (*s == '"')
			s++;
	} else {
		for (; *s && *s != ',' && *s != '\n'; s++)
			if (k + 1 < n)
				out[k++] = *s;
	}
	out[k] = 0;
	*p = *s == ',' ? s + 1 : s;
}

static double csv_num(const char **p, double empty)
{
	char f[64];
	csv_field(p, f, sizeof f);
	return f[0] ? strtod(f, NULL) : empty;
}

/* The rows of the run being resumed, from metrics.csv (the columns
 * write_metrics writes), up to where its checkpoint stands. */
static void read_rows(thaw_runlog *r, int keep_phase, int keep_epoch)
{
	char pc[4200], line[1024];
	path_in(pc, sizeof pc, r, "metrics.csv");
	FILE *f = fopen(pc, "r");
	if (f && !fgets(line, sizeof line, f)) /* the header */
		line[0] = 0;
	while (f && fgets(line, sizeof line, f)) {
		row w = {0};
		const char *p = line;
		csv_field(&p, w.phase, sizeof w.phase);
		w.phase_index = (int)csv_num(&p, 0);
		w.epoch = (int)csv_num(&p, 0);
		csv_num(&p, 0); /* global_epoch: the row's place */
		w.loss = csv_num(&p, 0);
		w.acc = csv_num(&p, 0);
		w.val_loss = csv_num(&p, -1);
		w.val_acc = csv_num(&p, -1);
		w.lr = csv_num(&p, 0);
		w.img_s = csv_num(&p, 0);
		w.seconds = csv_num(&p, 0);
		w.step = (long)csv_num(&p, 0);
		if (w.phase_index < 1 || w.phase_index > keep_phase ||
		    (w.phase_index == keep_phase && w.epoch > keep_epoch))
			continue;
		row *nr = grow(r->rows, r->n, &r->cap, sizeof *nr);
		if (!nr)
			break;
		r->rows = nr;
		r->rows[r->n++] = w;
	}
	if (f)
		fclose(f);
}

thaw_runlog *thaw_runlog_open(const char *dir, int keep_until_phase, int keep_until_epoch)
{
	if (thaw_mkdirs(dir) < 0)
		return NULL;
	thaw_runlog *r = thaw_calloc(1, sizeof *r);
	if (!r)
		return NULL;
	snprintf(r->dir, sizeof r->dir, "%s", dir);
	r->t0 = thaw_now();
	if (keep_until_phase > 0)
		read_rows(r, keep_until_phase, keep_until_epoch);
	if (write_metrics(r) < 0) {
		thaw_runlog_free(r);
		return NULL;
	}
	return r;
}

void thaw_runlog_free(thaw_runlog *r)
{
	if (!r)
		return;
	free(r->rows);
	free(r->evals);
	for (int i = 0; i < r->n_warnings; i++)
		free(r->warnings[i]);
	free(r);
}

const char *thaw_runlog_dir(const thaw_runlog *r) { return r->dir; }

static int runlog_epoch(thaw_runlog *r, const thaw_epoch_stats *s)
{
	row *nr = grow(r->rows, r->n, &r->cap, sizeof *nr);
	if (!nr)
		return THAW_ENOMEM;
	r->rows = nr;
	row *w = &r->rows[r->n++];
	memset(w, 0, sizeof *w);
	snprintf(w->phase, sizeof w->phase, "%s", s->phase ? s->phase : "");
	w->phase_index = s->phase_index;
	w->epoch = s->epoch;
	w->loss = s->train_loss;
	w->acc = s->train_acc;
	w->val_loss = s->val_loss;
	w->val_acc = s->val_acc;
	w->lr = s->lr;
	w->img_s = s->img_s;
	w->seconds = s->seconds;
	w->step = s->step;
	int rc = write_metrics(r);
	return rc < 0 ? rc : write_plots(r);
}

static int runlog_eval(thaw_runlog *r, const char *name, const thaw_metrics *mt, const char *const *classes)
{
	eval_row *ne = grow(r->evals, r->n_evals, &r->cap_evals, sizeof *ne);
	if (!ne)
		return THAW_ENOMEM;
	r->evals = ne;
	eval_row *e = &r->evals[r->n_evals++];
	snprintf(e->name, sizeof e->name, "%s", name);
	e->loss = thaw_metrics_loss(mt);
	e->acc = thaw_metrics_accuracy(mt);
	e->topk = thaw_metrics_topk(mt);
	e->k = mt->topk > 1 && mt->topk < mt->K ? mt->topk : 0;
	e->n = mt->n;
	/* a file name from the evaluation's name: letters, digits, - and _ */
	char safe[64], file[128], path[4300], title[160];
	size_t k = 0;
	for (const char *p = name; *p && k + 1 < sizeof safe; p++)
		safe[k++] = (isalnum((unsigned char)*p) || *p == '-' || *p == '_') ? *p : '_';
	safe[k] = 0;
	snprintf(file, sizeof file, "confusion-%s.png", safe);
	path_in(path, sizeof path, r, file);
	snprintf(title, sizeof title, "%s", name);
	return wrote(r, path, thaw_plot_confusion(path, mt->confusion, mt->K, classes, title));
}

int thaw_runlog_event(thaw_runlog *r, const thaw_event *ev)
{
	if (!r)
		return 0;
	if (ev->kind == THAW_EV_EPOCH)
		return runlog_epoch(r, &ev->u.epoch);
	if (ev->kind == THAW_EV_EVAL)
		return runlog_eval(r, ev->u.eval.name, ev->u.eval.mt, ev->u.eval.classes);
	if (ev->kind == THAW_EV_LOG && ev->warning && ev->u.line) {
		const char *line = strncmp(ev->u.line, "warning: ", 9) ? ev->u.line : ev->u.line + 9;
		char *w = r->n_warnings < MAX_WARNINGS ? strdup(line) : NULL;
		if (w)
			r->warnings[r->n_warnings++] = w;
		else
			r->more_warnings++;
	}
	return 0;
}

int thaw_runlog_finish(thaw_runlog *r, const char *script, const char *status, int exit_code,
		       int checks_passed, int checks_failed, const char *error)
{
	int rc = write_plots(r);
	char path[4200];
	path_in(path, sizeof path, r, "summary.json");
	thaw_atomic a;
	FILE *f = thaw_atomic_open(&a, path);
	if (!f)
		return THAW_EIO;
	fprintf(f, "{\n  \"script\": ");
	json_str(f, script);
	fprintf(f, ",\n  \"status\": ");
	json_str(f, status);
	fprintf(f, ",\n  \"exit_code\": %d,\n  \"checks_passed\": %d,\n  \"checks_failed\": %d,\n", exit_code,
		checks_passed, checks_failed);
	fprintf(f, "  \"epochs\": %d,\n  \"seconds\": %.1f,\n", r->n, thaw_now() - r->t0);
	if (r->n) {
		const row *w = &r->rows[r->n - 1];
		fprintf(f, "  \"last_epoch\": {\"phase\": ");
		json_str(f, w->phase);
		fprintf(f, ", \"epoch\": %d, \"loss\": ", w->epoch);
		json_num(f, w->loss);
		fprintf(f, ", \"accuracy\": ");
		json_num(f, w->acc);
		fprintf(f, ", \"val_loss\": ");
		json_num(f, w->val_acc >= 0 ? w->val_loss : NAN);
		fprintf(f, ", \"val_accuracy\": ");
		json_num(f, w->val_acc >= 0 ? w->val_acc : NAN);
		fprintf(f, "},\n");
	}
	fprintf(f, "  \"evaluations\": [");
	for (int i = 0; i < r->n_evals; i++) {
		const eval_row *e = &r->evals[i];
		fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
		json_str(f, e->name);
		fprintf(f, ", \"n\": %ld, \"loss\": ", e->n);
		json_num(f, e->loss);
		fprintf(f, ", \"accuracy\": ");
		json_num(f, e->acc);
		if (e->k) {
			fprintf(f, ", \"topk\": %d, \"topk_accuracy\": ", e->k);
			json_num(f, e->topk);
		}
		fprintf(f, "}");
	}
	fprintf(f, "%s],\n  \"warnings\": [", r->n_evals ? "\n  " : "");
	for (int i = 0; i < r->n_warnings; i++) {
		fprintf(f, "%s\n    ", i ? "," : "");
		json_str(f, r->warnings[i]);
	}
	if (r->more_warnings)
		fprintf(f, ",\n    \"(%d more)\"", r->more_warnings);
	fprintf(f, "%s],\n  \"save_failed\": ", r->n_warnings ? "\n  " : "");
	if (r->save_file[0]) {
		fprintf(f, "{\"file\": ");
		json_str(f, r->save_file);
		fprintf(f, ", \"reason\": ");
		json_str(f, r->save_error);
		fprintf(f, "}");
	} else {
		fputs("null", f);
	}
	fprintf(f, ",\n  \"error\": ");
	if (error && *error)
		json_str(f, error);
	else
		fputs("null", f);
	fprintf(f, "\n}\n");
	if (thaw_atomic_commit(&a) < 0)
		return THAW_EIO;
	return rc;
}
