/* Collecting a sweep: every point's summary.json read into one table of
 * numbers, sorted by a metric, written as CSV, as text and as a chart of
 * the metric over the grid. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "thaw/atomic.h"
#include "thaw/core.h"
#include "thaw/plot.h"
#include "thaw/sweep.h"

/* ---- a small JSON reader: numbers (and the evaluations' names) out of a
 * summary, each under a dotted name. summary.json is thaw's own, but a
 * file cut short or edited by hand is refused with its place. */
typedef struct jsonp {
	const char *start, *p, *end, *path;
	char err[256];
	/* found numbers */
	char error[200]; /* the top-level "error" string */
	char (*names)[128];
	double *vals;
	int n, cap;
} jsonp;

static void ws(jsonp *j)
{
	while (j->p < j->end && isspace((unsigned char)*j->p))
		j->p++;
}

static int jfail(jsonp *j, const char *what)
{
	if (!j->err[0])
		snprintf(j->err, sizeof j->err, "%.150s: not valid JSON at byte %ld: %s", j->path,
			 (long)(j->p - j->start), what);
	return -1;
}

static int add_num(jsonp *j, const char *name, double v)
{
	for (int i = 0; i < j->n; i++)
		if (!strcmp(j->names[i], name)) {
			j->vals[i] = v;
			return 0;
		}
	if (j->n == j->cap) {
		int nc = j->cap ? 2 * j->cap : 32;
		char(*nn)[128] = realloc(j->names, (size_t)nc * sizeof *nn);
		if (nn)
			j->names = nn;
		double *nv = realloc(j->vals, (size_t)nc * sizeof *nv);
		if (nv)
			j->vals = nv;
		if (!nn || !nv)
			return jfail(j, "out of memory");
		j->cap = nc;
	}
	snprintf(j->names[j->n], sizeof j->names[0], "%s", name);
	j->vals[j->n++] = v;
	return 0;
}

static int jstring(jsonp *j, char *out, size_t size)
{
	if (j->p >= j->end || *j->p != '"')
		return jfail(j, "expected a string");
	j->p++;
	size_t k = 0;
	while (j->p < j->end && *j->p != '"') {
		char c = *j->p++;
		if (c == '\\') {
			if (j->p >= j->end)
				break;
			c = *j->p++;
			if (c == 'u') { /* ASCII kept, the rest as '?' */
				char hex[5] = {0};
				if (j->end - j->p < 4)
					return jfail(j, "short \\u escape");
				memcpy(hex, j->p, 4);
				j->p += 4;
				long u = strtol(hex, NULL, 16);
				c = u > 0 && u < 0x80 ? (char)u : '?';
			} else if (c == 'n') {
				c = '\n';
			} else if (c == 't') {
				c = '\t';
			} else if (c == 'r' || c == 'b' || c == 'f') {
				c = ' ';
			}
		}
		if (out && k + 1 < size)
			out[k++] = c;
	}
	if (j->p >= j->end)
		return jfail(j, "unterminated string");
	j->p++;
	if (out)
		out[k] = 0;
	return 0;
}

static int jvalue(jsonp *j, const char *name, int depth);

/* An object; its members named prefix.key. In the array "evaluations",
 * an object with a "name" member (our writer puts it first) names itself. */
static int jobject(jsonp *j, const char *prefix, int depth)
{
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return 0;
	}
	char pre[128];
	snprintf(pre, sizeof pre, "%s", prefix);
	for (;;) {
		char key[96], name[256];
		ws(j);
		if (jstring(j, key, sizeof key) < 0)
			return -1;
		ws(j);
		if (j->p >= j->end || *j->p != ':')
			return jfail(j, "expected ':'");
		j->p++;
		ws(j);
		if (!strcmp(key, "name") && j->p < j->end && *j->p == '"' && !strncmp(prefix, "evaluations.", 12)) {
			char nm[64];
			if (jstring(j, nm, sizeof nm) < 0)
				return -1;
			snprintf(pre, sizeof pre, "%s", nm);
		} else {
			/* the last epoch's numbers are the run's: loss, val_accuracy */
			if (!strcmp(pre, "last_epoch") || !pre[0])
				snprintf(name, sizeof name, "%s", key);
			else
				snprintf(name, sizeof name, "%s.%s", pre, key);
			if (jvalue(j, name, depth + 1) < 0)
				return -1;
		}
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			return 0;
		}
		return jfail(j, "expected ',' or '}'");
	}
}

static int jvalue(jsonp *j, const char *name, int depth)
{
	ws(j);
	if (depth > 32)
		return jfail(j, "nested too deep");
	if (j->p >= j->end)
		return jfail(j, "unexpected end");
	char c = *j->p;
	if (c == '{')
		return jobject(j, name, depth);
	if (c == '[') {
		j->p++;
		ws(j);
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return 0;
		}
		for (int i = 0;; i++) {
			char item[160];
			snprintf(item, sizeof item, "%s.%d", name, i);
			if (jvalue(j, item, depth + 1) < 0)
				return -1;
			ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == ']') {
				j->p++;
				return 0;
			}
			return jfail(j, "expected ',' or ']'");
		}
	}
	if (c == '"')
		return !strcmp(name, "error") ? jstring(j, j->error, sizeof j->error) : jstring(j, NULL, 0);
	if (!strncmp(j->p, "null", 4) || !strncmp(j->p, "true", 4)) {
		j->p += 4;
		return 0;
	}
	if (!strncmp(j->p, "false", 5)) {
		j->p += 5;
		return 0;
	}
	char *endp;
	double v = strtod(j->p, &endp);
	if (endp == j->p)
		return jfail(j, "expected a value");
	j->p = endp;
	return add_num(j, name, v);
}

/* Reads path's numbers into j; 0, 1 when there is no file, or < 0. */
static int read_summary(const char *path, jsonp *j)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 1;
	char *text = NULL;
	size_t len = 0, cap = 0, k;
	char chunk[8192];
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (len + k + 1 > cap) {
			cap = 2 * (len + k + 1);
			char *nt = realloc(text, cap);
			if (!nt) {
				free(text);
				fclose(f);
				return thaw_error(THAW_ENOMEM, "%s: out of memory", path);
			}
			text = nt;
		}
		memcpy(text + len, chunk, k);
		len += k;
	}
	fclose(f);
	if (!text)
		return thaw_error(THAW_EFORMAT, "%s: empty", path);
	text[len] = 0;
	j->start = j->p = text;
	j->end = text + len;
	j->path = path;
	int rc = 0;
	ws(j);
	if (j->p >= j->end || *j->p != '{')
		rc = jfail(j, "expected an object");
	else
		rc = jvalue(j, "", 0);
	if (rc == 0) {
		ws(j);
		if (j->p < j->end)
			rc = jfail(j, "text after the object");
	}
	free(text);
	return rc < 0 ? thaw_error(THAW_EFORMAT, "%s", j->err) : 0;
}

/* ---- results */
void thaw_sweep_results_free(thaw_sweep_results *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->n_columns; i++)
		free(r->columns[i]);
	free(r->columns);
	for (int i = 0; i < r->n_rows; i++)
		free(r->rows[i].values);
	free(r->rows);
	free(r);
}

static int column_of(thaw_sweep_results *r, const char *name, int add)
{
	for (int i = 0; i < r->n_columns; i++)
		if (!strcmp(r->columns[i], name))
			return i;
	if (!add)
		return -1;
	char **nc = realloc(r->columns, (size_t)(r->n_columns + 1) * sizeof *nc);
	if (!nc)
		return thaw_error(THAW_ENOMEM, "out of memory");
	r->columns = nc;
	size_t n = strlen(name) + 1;
	if (!(nc[r->n_columns] = thaw_malloc(n)))
		return THAW_ENOMEM;
	memcpy(nc[r->n_columns], name, n);
	return r->n_columns++;
}

static int lower_is_better(const char *m) { return strstr(m, "loss") || !strcmp(m, "seconds"); }

thaw_sweep_results *thaw_sweep_collect(const thaw_sweep *s, const char *metric)
{
	thaw_sweep_results *r = thaw_calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->sweep = s;
	r->rows = thaw_calloc((size_t)s->n_points, sizeof *r->rows);
	if (!r->rows)
		goto fail;
	r->n_rows = s->n_points;
	/* first pass: every number of every summary, and the default metric */
	char last_eval[128] = "";
	int last_from = -1;
	jsonp *js = thaw_calloc((size_t)s->n_points, sizeof *js);
	if (!js)
		goto fail;
	int rc = 0;
	for (int i = 0; i < s->n_points && rc >= 0; i++) {
		thaw_sweep_row *row = &r->rows[i];
		row->point = i;
		row->state = thaw_sweep_point_state(s, i);
		char path[4800];
		thaw_sweep_point_path(s, i, "summary.json", path, sizeof path);
		rc = read_summary(path, &js[i]);
		if (rc < 0 && thaw_point_finished(row->state.status) == 0) {
			/* a run may be writing it just now: once more, a moment later */
			struct timespec ts = {0, 200000000};
			nanosleep(&ts, NULL);
			js[i].n = 0;
			js[i].err[0] = 0;
			rc = read_summary(path, &js[i]);
		}
		if (rc < 0)
			break;
		for (int c = 0; c < js[i].n && rc >= 0; c++) {
			rc = column_of(r, js[i].names[c], 1);
			/* the default metric: the last evaluation's NAME.accuracy in the
			 * first summary that has one */
			size_t len = strlen(js[i].names[c]);
			if (len > 9 && !strcmp(js[i].names[c] + len - 9, ".accuracy") &&
			    (!last_eval[0] || last_from == i)) {
				snprintf(last_eval, sizeof last_eval, "%s", js[i].names[c]);
				last_from = i;
			}
		}
	}
	if (rc < 0) {
		for (int i = 0; i < s->n_points; i++) {
			free(js[i].names);
			free(js[i].vals);
		}
		free(js);
		goto fail;
	}
	char name[128];
	snprintf(name, sizeof name, "%s", metric ? metric : "");
	char *colon = strrchr(name, ':');
	r->lower_better = -1;
	if (colon && (!strcmp(colon, ":min") || !strcmp(colon, ":max"))) {
		r->lower_better = !strcmp(colon, ":min");
		*colon = 0;
	}
	if (!name[0])
		snprintf(name, sizeof name, "%s",
			 last_eval[0]			     ? last_eval
			 : column_of(r, "val_accuracy", 0) >= 0 ? "val_accuracy"
								 : "accuracy");
	snprintf(r->metric, sizeof r->metric, "%s", name);
	if (r->lower_better < 0)
		r->lower_better = lower_is_better(name) != 0;
	int mc = column_of(r, name, 0);
	if (mc < 0 && metric && *metric && r->n_columns > 0) {
		char list[1024];
		size_t k = 0;
		for (int c = 0; c < r->n_columns && k < sizeof list; c++)
			k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", c ? ", " : "", r->columns[c]);
		thaw_error(THAW_EINVAL, "--metric %s: no summary has it; they have %s", name, list);
		for (int i = 0; i < s->n_points; i++) {
			free(js[i].names);
			free(js[i].vals);
		}
		free(js);
		goto fail;
	}
	for (int i = 0; i < s->n_points; i++) {
		thaw_sweep_row *row = &r->rows[i];
		row->values = thaw_malloc((size_t)(r->n_columns ? r->n_columns : 1) * sizeof *row->values);
		if (row->values) {
			row->n_values = r->n_columns;
			for (int c = 0; c < r->n_columns; c++)
				row->values[c] = NAN;
			for (int c = 0; c < js[i].n; c++)
				row->values[column_of(r, js[i].names[c], 0)] = js[i].vals[c];
		}
		row->metric = mc >= 0 && row->values ? row->values[mc] : NAN;
		/* the error's first line says what went wrong */
		snprintf(row->error, sizeof row->error, "%.*s", (int)strcspn(js[i].error, "\n"), js[i].error);
		if (thaw_point_finished(row->state.status) && row->state.status == THAW_POINT_OK)
			r->n_ok++;
		else if (row->state.status == THAW_POINT_TODO || row->state.status == THAW_POINT_STARTED)
			r->n_todo++;
		else
			r->n_failed++;
		free(js[i].names);
		free(js[i].vals);
		if (!row->values) {
			for (int k = i + 1; k < s->n_points; k++) {
				free(js[k].names);
				free(js[k].vals);
			}
			free(js);
			goto fail;
		}
	}
	free(js);
	return r;
fail:
	thaw_sweep_results_free(r);
	return NULL;
}

/* ---- the table */
typedef struct sbuf {
	char *p;
	size_t n, cap;
	int oom;
} sbuf;

__attribute__((format(printf, 2, 3))) static void sb(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = b->cap - b->n;
		va_start(ap, fmt);
		int k = b->p ? vsnprintf(b->p + b->n, room, fmt, ap) : -1;
		va_end(ap);
		if (k >= 0 && (size_t)k < room) {
			b->n += (size_t)k;
			return;
		}
		size_t nc = b->cap ? 2 * b->cap : 4096;
		while (k >= 0 && nc < b->n + (size_t)k + 1)
			nc *= 2;
		char *np = realloc(b->p, nc);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
}

static const thaw_sweep_results *sort_r;

/* Best first; points without the metric after those with it. */
static int by_metric(const void *a, const void *b)
{
	const thaw_sweep_row *x = &sort_r->rows[*(const int *)a], *y = &sort_r->rows[*(const int *)b];
	int hx = !isnan(x->metric), hy = !isnan(y->metric);
	if (hx != hy)
		return hy - hx;
	if (hx && x->metric != y->metric)
		return (x->metric < y->metric) == sort_r->lower_better ? -1 : 1;
	return x->point - y->point;
}

static void fmt_num(char *buf, size_t size, double v)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.6g", v);
}

static void status_text(const thaw_point_state *st, char *buf, size_t size)
{
	if (st->status == THAW_POINT_KILLED)
		snprintf(buf, size, "killed (signal %d)", st->signal);
	else if (st->status != THAW_POINT_OK && st->status != THAW_POINT_TODO && st->status != THAW_POINT_STARTED &&
		 st->exit_code >= 0)
		snprintf(buf, size, "%s (exit %d)", thaw_point_status_name(st->status), st->exit_code);
	else
		snprintf(buf, size, "%s", thaw_point_status_name(st->status));
}

char *thaw_sweep_results_text(const thaw_sweep_results *r)
{
	const thaw_sweep *s = r->sweep;
	sbuf b = {0};
	int *order = thaw_malloc((size_t)(r->n_rows ? r->n_rows : 1) * sizeof *order);
	if (!order)
		return NULL;
	for (int i = 0; i < r->n_rows; i++)
		order[i] = i;
	sort_r = r;
	qsort(order, (size_t)r->n_rows, sizeof *order, by_metric);
	int secs = column_of((thaw_sweep_results *)r, "seconds", 0);
	/* column widths */
	int wl = 5, ws_ = 6, wm = (int)strlen(r->metric);
	if (wm < 6)
		wm = 6;
	for (int i = 0; i < r->n_rows; i++) {
		char t[512];
		thaw_sweep_point_label(s, i, t, sizeof t);
		if ((int)strlen(t) > wl)
			wl = (int)strlen(t);
		status_text(&r->rows[i].state, t, sizeof t);
		if ((int)strlen(t) > ws_)
			ws_ = (int)strlen(t);
	}
	sb(&b, "sweep %s: %s, %d point%s (%d ok, %d failed, %d not finished); %s, %s is better\n", s->dir,
	   s->script, r->n_rows, r->n_rows == 1 ? "" : "s", r->n_ok, r->n_failed, r->n_todo, r->metric,
	   r->lower_better ? "lower" : "higher");
	sb(&b, "%4s  %-*s  %-*s  %*s  %8s  %s\n", "rank", wl, "point", ws_, "status", wm, r->metric, "seconds",
	   "folder");
	for (int k = 0; k < r->n_rows; k++) {
		const thaw_sweep_row *row = &r->rows[order[k]];
		char lab[512], st[128], m[32], sec[32];
		thaw_sweep_point_label(s, row->point, lab, sizeof lab);
		status_text(&row->state, st, sizeof st);
		fmt_num(m, sizeof m, row->metric);
		fmt_num(sec, sizeof sec, secs >= 0 ? row->values[secs] : NAN);
		sb(&b, "%4d  %-*s  %-*s  %*s  %8s  %s/%s\n", k + 1, wl, lab, ws_, st, wm, m, sec, s->dir,
		   s->points[row->point].dir);
	}
	if (s->repeat > 1) {
		sb(&b, "\nover %d repeats (seeds %llu..%llu):\n", s->repeat, (unsigned long long)s->seed,
		   (unsigned long long)(s->seed + (uint64_t)s->repeat - 1));
		int wg = wl < 10 ? 10 : wl;
		sb(&b, "  %-*s  %10s  %10s  %3s\n", wg, "grid point", "mean", "std", "n");
		for (int g = 0; g < r->n_rows / s->repeat; g++) {
			double sum = 0, sq = 0;
			int n = 0;
			for (int i = g * s->repeat; i < (g + 1) * s->repeat; i++)
				if (!isnan(r->rows[i].metric)) {
					sum += r->rows[i].metric;
					sq += r->rows[i].metric * r->rows[i].metric;
					n++;
				}
			char lab[512], mean[32], sd[32];
			thaw_sweep_point_label(s, g * s->repeat, lab, sizeof lab);
			char *rep = strstr(lab, " rep ");
			if (rep)
				*rep = 0;
			else if (!strncmp(lab, "rep ", 4)) /* --repeat without a grid */
				snprintf(lab, sizeof lab, "all");
			double mu = n ? sum / n : NAN, var = n > 1 ? (sq - n * mu * mu) / (n - 1) : NAN;
			fmt_num(mean, sizeof mean, mu);
			fmt_num(sd, sizeof sd, var > 0 ? sqrt(var) : (n > 1 ? 0 : NAN));
			sb(&b, "  %-*s  %10s  %10s  %3d\n", wg, lab, mean, sd, n);
		}
	}
	int first = 1;
	for (int i = 0; i < r->n_rows; i++) {
		const thaw_sweep_row *row = &r->rows[i];
		if (row->state.status == THAW_POINT_OK || row->state.status == THAW_POINT_TODO ||
		    row->state.status == THAW_POINT_STARTED)
			continue;
		char lab[512], st[128], log[4800];
		if (first)
			sb(&b, "\nfailed:\n");
		first = 0;
		thaw_sweep_point_label(s, i, lab, sizeof lab);
		status_text(&row->state, st, sizeof st);
		thaw_sweep_point_path(s, i, "log.txt", log, sizeof log);
		sb(&b, "  %s: %s%s%s; log %s\n", lab, st, row->error[0] ? ": " : "", row->error, log);
	}
	free(order);
	if (b.oom) {
		free(b.p);
		thaw_error(THAW_ENOMEM, "out of memory");
		return NULL;
	}
	return b.p;
}

/* ---- files */
static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int write_csv(const thaw_sweep_results *r, const char *path)
{
	const thaw_sweep *s = r->sweep;
	thaw_atomic a;
	FILE *f = thaw_atomic_open(&a, path);
	if (!f)
		return THAW_EIO;
	fprintf(f, "point,folder,repeat,seed");
	for (int p = 0; p < s->n_params; p++) {
		fputc(',', f);
		csv_field(f, s->params[p].name);
	}
	fprintf(f, ",status,exit_code");
	for (int c = 0; c < r->n_columns; c++) {
		if (!strcmp(r->columns[c], "exit_code"))
			continue;
		fputc(',', f);
		csv_field(f, r->columns[c]);
	}
	fputc('\n', f);
	for (int i = 0; i < r->n_rows; i++) {
		const thaw_sweep_row *row = &r->rows[i];
		const thaw_sweep_point *pt = &s->points[i];
		char num[32];
		fprintf(f, "%d,", i);
		csv_field(f, pt->dir);
		fprintf(f, ",%d,%llu", pt->rep + 1, (unsigned long long)pt->seed);
		for (int p = 0; p < s->n_params; p++) {
			fputc(',', f);
			csv_field(f, s->params[p].values[pt->value[p]]);
		}
		fprintf(f, ",%s,", thaw_point_status_name(row->state.status));
		if (row->state.exit_code >= 0)
			fprintf(f, "%d", row->state.exit_code);
		for (int c = 0; c < r->n_columns; c++) {
			if (!strcmp(r->columns[c], "exit_code"))
				continue;
			fmt_num(num, sizeof num, row->values[c]);
			fprintf(f, ",%s", isnan(row->values[c]) ? "" : num);
		}
		fputc('\n', f);
	}
	return thaw_atomic_commit(&a);
}

/* The chart: x is the parameter with the most values (its numbers; the
 * log10 of them when they are positive and span a factor of 10 or more;
 * else their positions), one line per combination of the others, the
 * metric's mean over repeats. */
static int write_png(const thaw_sweep_results *r, const char *path)
{
	const thaw_sweep *s = r->sweep;
	int xp = -1;
	for (int p = 0; p < s->n_params; p++)
		if (xp < 0 || s->params[p].n > s->params[xp].n)
			xp = p;
	int nx = xp >= 0 ? s->params[xp].n : 1;
	double xs[1024];
	if (nx > 1024)
		nx = 1024;
	int numeric = xp >= 0, positive = 1;
	double lo = INFINITY, hi = -INFINITY;
	for (int v = 0; v < nx && numeric; v++) {
		char *end;
		xs[v] = strtod(s->params[xp].values[v], &end);
		numeric = end != s->params[xp].values[v] && !*end && isfinite(xs[v]);
		positive &= xs[v] > 0;
		lo = fmin(lo, xs[v]);
		hi = fmax(hi, xs[v]);
	}
	int logx = numeric && positive && hi >= 10 * lo;
	for (int v = 0; v < nx; v++)
		xs[v] = !numeric ? v + 1 : logx ? log10(xs[v]) : xs[v];
	/* the series: every combination of the other parameters */
	int n_series = 1;
	for (int p = 0; p < s->n_params; p++)
		if (p != xp)
			n_series *= s->params[p].n;
	if (n_series > THAW_PLOT_MAX_SERIES)
		n_series = THAW_PLOT_MAX_SERIES; /* the first ones; the CSV has all */
	double ys[THAW_PLOT_MAX_SERIES][1024];
	char names[THAW_PLOT_MAX_SERIES][128];
	thaw_plot_series series[THAW_PLOT_MAX_SERIES];
	for (int k = 0; k < n_series; k++) {
		for (int v = 0; v < nx; v++)
			ys[k][v] = NAN;
		names[k][0] = 0;
	}
	int groups = r->n_rows / s->repeat;
	for (int g = 0; g < groups; g++) {
		const thaw_sweep_point *pt = &s->points[g * s->repeat];
		int k = 0; /* the series: the other parameters' values, mixed radix */
		size_t len = 0;
		char nm[128] = "";
		for (int p = 0; p < s->n_params; p++)
			if (p != xp) {
				k = k * s->params[p].n + pt->value[p];
				len += (size_t)snprintf(nm + len, len < sizeof nm ? sizeof nm - len : 0, "%s%s=%s",
							len ? " " : "", s->params[p].name,
							s->params[p].values[pt->value[p]]);
			}
		int v = xp >= 0 ? pt->value[xp] : 0;
		if (k >= n_series || v >= nx)
			continue;
		snprintf(names[k], sizeof names[k], "%s", nm[0] ? nm : r->metric);
		double sum = 0;
		int n = 0;
		for (int i = g * s->repeat; i < (g + 1) * s->repeat; i++)
			if (!isnan(r->rows[i].metric)) {
				sum += r->rows[i].metric;
				n++;
			}
		ys[k][v] = n ? sum / n : NAN;
	}
	for (int k = 0; k < n_series; k++)
		series[k] = (thaw_plot_series){names[k], {0, 0, 0}, xs, ys[k], nx};
	char title[256], xlabel[192], ylabel[160];
	snprintf(title, sizeof title, "%s over the grid%s", r->metric, s->repeat > 1 ? " (mean of repeats)" : "");
	const char *xn = xp >= 0 ? s->params[xp].name : "point";
	char base[96];
	if (xp >= 0 && isdigit((unsigned char)xn[0]))
		snprintf(base, sizeof base, "arg[%s]", xn);
	else
		snprintf(base, sizeof base, "%.80s", xn);
	snprintf(xlabel, sizeof xlabel, "%s%s%s", logx ? "log10 " : "", base, !numeric ? " (value number)" : "");
	snprintf(ylabel, sizeof ylabel, "%s", r->metric);
	thaw_plot_spec spec = {.title = title, .xlabel = xlabel, .ylabel = ylabel, .series = series,
			       .n_series = n_series};
	return thaw_plot_lines(path, &spec);
}

int thaw_sweep_results_write(const thaw_sweep_results *r)
{
	const thaw_sweep *s = r->sweep;
	char path[4200];
	snprintf(path, sizeof path, "%s/results.csv", s->dir);
	int rc = write_csv(r, path);
	if (rc < 0)
		return rc;
	char *text = thaw_sweep_results_text(r);
	if (!text)
		return THAW_ENOMEM;
	snprintf(path, sizeof path, "%s/results.txt", s->dir);
	rc = thaw_atomic_write(path, text, strlen(text));
	free(text);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof path, "%s/results.png", s->dir);
	return write_png(r, path);
}
