/* Sweeps: the grid, its points, the manifest that records them and each
 * point's state as its folder tells it. Running points is sweep_exec.c,
 * collecting their results sweep_collect.c. */
#include "thaw/atomic.h"
#include "thaw/sweep.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thaw/core.h"
#include "thaw/runlog.h"

static char *dupstr(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = thaw_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static int is_number_name(const char *s, size_t n)
{
	if (n == 0 || n > 4 || s[0] == '0')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int is_word_name(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

size_t thaw_param_split(const char *arg, const char **value)
{
	const char *eq = strchr(arg, '=');
	if (!eq || !is_word_name(arg, (size_t)(eq - arg)))
		return 0;
	*value = eq + 1;
	return (size_t)(eq - arg);
}

static int bad_text(const char *s) { return strchr(s, '\t') || strchr(s, '\n') || strchr(s, '\r'); }

static void param_free(thaw_sweep_param *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->values[i]);
	free(p->values);
	free(p->name);
	memset(p, 0, sizeof *p);
}

/* Adds a parameter named name (len n) with the comma-separated values. */
static int param_add(thaw_sweep_param *params, int *n_params, const char *name, size_t n, const char *vals,
		     char sep, const char *what)
{
	if (*n_params >= THAW_SWEEP_MAX_PARAMS)
		return thaw_error(THAW_EINVAL, "%s: more than %d grid parameters", what, THAW_SWEEP_MAX_PARAMS);
	if (!is_word_name(name, n) && !is_number_name(name, n))
		return thaw_error(THAW_EINVAL,
				  "%s: '%.*s' is not a parameter name (letters, digits, _ . - starting with a "
				  "letter, or an argument number 1..9999)",
				  what, (int)n, name);
	for (int i = 0; i < *n_params; i++)
		if (strlen(params[i].name) == n && !strncmp(params[i].name, name, n))
			return thaw_error(THAW_EINVAL, "%s: '%.*s' is in the grid twice", what, (int)n, name);
	thaw_sweep_param p = {0};
	if (!(p.name = thaw_malloc(n + 1)))
		return THAW_ENOMEM;
	memcpy(p.name, name, n);
	p.name[n] = 0;
	int rc = 0;
	for (const char *v = vals;;) {
		const char *end = strchr(v, sep);
		size_t len = end ? (size_t)(end - v) : strlen(v);
		if (len == 0) {
			rc = thaw_error(THAW_EINVAL, "%s: %s: an empty value (values are separated by '%c')", what,
					p.name, sep);
			break;
		}
		char **nv = realloc(p.values, (size_t)(p.n + 1) * sizeof *nv);
		char *val = thaw_malloc(len + 1);
		if (!nv || !val) {
			free(val);
			if (nv)
				p.values = nv;
			rc = thaw_error(THAW_ENOMEM, "out of memory");
			break;
		}
		p.values = nv;
		memcpy(val, v, len);
		val[len] = 0;
		p.values[p.n++] = val;
		if (bad_text(val)) {
			rc = thaw_error(THAW_EINVAL, "%s: %s: a value holds a tab or a newline", what, p.name);
			break;
		}
		for (int i = 0; i + 1 < p.n; i++)
			if (!strcmp(p.values[i], val)) {
				rc = thaw_error(THAW_EINVAL, "%s: %s: value '%s' given twice", what, p.name, val);
				break;
			}
		if (rc < 0 || !end)
			break;
		v = end + 1;
	}
	if (rc < 0) {
		param_free(&p);
		return rc;
	}
	params[(*n_params)++] = p;
	return 0;
}

int thaw_sweep_spec_grid(thaw_sweep_spec *sp, const char *text)
{
	const char *eq = strchr(text, '=');
	char what[160];
	snprintf(what, sizeof what, "--grid %.140s", text);
	if (!eq)
		return thaw_error(THAW_EINVAL, "%s: expected NAME=V1,V2,...", what);
	return param_add(sp->params, &sp->n_params, text, (size_t)(eq - text), eq + 1, ',', what);
}

void thaw_sweep_spec_free(thaw_sweep_spec *sp)
{
	if (!sp)
		return;
	for (int i = 0; i < sp->n_params; i++)
		param_free(&sp->params[i]);
	sp->n_params = 0;
}

void thaw_sweep_free(thaw_sweep *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n_params; i++)
		param_free(&s->params[i]);
	for (int i = 0; i < s->argc; i++)
		free(s->argv[i]);
	free(s->argv);
	free(s->points);
	free(s);
}

/* A folder name from the point's values: letters, digits and . _ + - = kept. */
static void point_dirname(const thaw_sweep *s, thaw_sweep_point *pt)
{
	int len = snprintf(pt->dir, sizeof pt->dir, "points/%03d", pt->index);
	for (int p = 0; p < s->n_params && len < (int)sizeof pt->dir - 8; p++) {
		char part[160];
		snprintf(part, sizeof part, "-%s=%s", s->params[p].name, s->params[p].values[pt->value[p]]);
		for (char *c = part + 1; *c; c++)
			if (!(isalnum((unsigned char)*c) || strchr("._+-=", *c)))
				*c = '_';
		len += snprintf(pt->dir + len, sizeof pt->dir - (size_t)len, "%.60s", part);
	}
	if (s->repeat > 1 && len < (int)sizeof pt->dir - 8)
		snprintf(pt->dir + len, sizeof pt->dir - (size_t)len, "-r%d", pt->rep + 1);
}

/* The points from s->params, repeat and seed. */
static int make_points(thaw_sweep *s)
{
	long n = s->repeat;
	for (int p = 0; p < s->n_params; p++) {
		n *= s->params[p].n;
		if (n > THAW_SWEEP_MAX_POINTS)
			break;
	}
	if (n > THAW_SWEEP_MAX_POINTS)
		return thaw_error(THAW_EINVAL, "the grid has more than %d points", THAW_SWEEP_MAX_POINTS);
	s->points = thaw_calloc((size_t)n, sizeof *s->points);
	if (!s->points)
		return THAW_ENOMEM;
	s->n_points = (int)n;
	int at[THAW_SWEEP_MAX_PARAMS] = {0};
	for (int i = 0; i < s->n_points; i++) {
		thaw_sweep_point *pt = &s->points[i];
		pt->index = i;
		pt->rep = i % s->repeat;
		pt->seed = s->seed + (uint64_t)pt->rep;
		memcpy(pt->value, at, sizeof at);
		point_dirname(s, pt);
		if (pt->rep == s->repeat - 1) /* next grid point: the last parameter fastest */
			for (int p = s->n_params - 1; p >= 0; p--) {
				if (++at[p] < s->params[p].n)
					break;
				at[p] = 0;
			}
	}
	return 0;
}

/* Positional parameters must land inside the argument list. */
static int check_positions(const thaw_sweep *s)
{
	int positional = 0;
	for (int p = 0; p < s->n_params; p++)
		positional += isdigit((unsigned char)s->params[p].name[0]) != 0;
	for (int p = 0; p < s->n_params; p++) {
		const char *nm = s->params[p].name;
		if (isdigit((unsigned char)nm[0]) && atoi(nm) > s->argc + positional)
			return thaw_error(THAW_EINVAL,
					  "--grid %s: the script gets %d argument%s, so arg[%s] would leave a gap; "
					  "give the arguments before it after --",
					  nm, s->argc + positional, s->argc + positional == 1 ? "" : "s", nm);
	}
	return 0;
}

thaw_sweep *thaw_sweep_new(const thaw_sweep_spec *sp)
{
	thaw_sweep *s = thaw_calloc(1, sizeof *s);
	if (!s)
		return NULL;
	int rc = 0;
	snprintf(s->dir, sizeof s->dir, "%s", sp->dir);
	if (!sp->script || !*sp->script)
		rc = thaw_error(THAW_EINVAL, "sweep: no script");
	else if (!realpath(sp->script, s->script))
		rc = thaw_error(THAW_EIO, "%s: cannot read the script: %s", sp->script, strerror(errno));
	else if (sp->repeat < 1 || sp->repeat > 1000)
		rc = thaw_error(THAW_EINVAL, "--repeat %d is outside 1..1000", sp->repeat);
	else if (sp->mpi < 0 || sp->mpi > 4096)
		rc = thaw_error(THAW_EINVAL, "--mpi %d is outside 1..4096", sp->mpi);
	else if (bad_text(s->dir) || strlen(sp->dir) >= sizeof s->dir - 600)
		rc = thaw_error(THAW_EINVAL, "sweep folder '%s': too long, or holds a tab or newline", sp->dir);
	else if (bad_text(s->script))
		rc = thaw_error(THAW_EINVAL, "%s: a script path with a tab or newline", s->script);
	if (rc < 0)
		goto fail;
	s->repeat = sp->repeat;
	s->seed = sp->seed;
	s->mpi = sp->mpi;
	if (sp->launcher) {
		if (bad_text(sp->launcher) || strlen(sp->launcher) >= sizeof s->launcher) {
			thaw_error(THAW_EINVAL, "--launcher: too long, or holds a tab or newline");
			goto fail;
		}
		snprintf(s->launcher, sizeof s->launcher, "%s", sp->launcher);
	}
	for (int p = 0; p < sp->n_params; p++) {
		thaw_sweep_param *d = &s->params[s->n_params++];
		d->name = dupstr(sp->params[p].name);
		d->values = thaw_calloc((size_t)sp->params[p].n, sizeof *d->values);
		if (!d->name || !d->values)
			goto fail;
		for (int v = 0; v < sp->params[p].n; v++, d->n++)
			if (!(d->values[v] = dupstr(sp->params[p].values[v])))
				goto fail;
	}
	if (sp->argc > 0) {
		s->argv = thaw_calloc((size_t)sp->argc, sizeof *s->argv);
		if (!s->argv)
			goto fail;
		for (int i = 0; i < sp->argc; i++, s->argc++) {
			if (bad_text(sp->argv[i])) {
				thaw_error(THAW_EINVAL, "script argument %d holds a tab or a newline", i + 1);
				goto fail;
			}
			if (!(s->argv[i] = dupstr(sp->argv[i])))
				goto fail;
		}
	}
	if (check_positions(s) < 0 || make_points(s) < 0)
		goto fail;
	return s;
fail:
	thaw_sweep_free(s);
	return NULL;
}

/* ---- manifest.tsv: a line per fact, fields separated by tabs:
 *   thaw-sweep 1 | script PATH | repeat N | seed N | mpi N | launcher WORDS
 *   arg VALUE (a line each) | grid NAME V1 V2 ... | point I FOLDER SEED NAME=VALUE...
 * The point lines are for people and scripts: a reader rebuilds the points
 * from the grid and checks that they agree. */
static void manifest_path(const char *dir, char *buf, size_t size) { snprintf(buf, size, "%s/manifest.tsv", dir); }

static int write_manifest(const thaw_sweep *s, const char *path)
{
	thaw_atomic a;
	FILE *f = thaw_atomic_open(&a, path);
	if (!f)
		return THAW_EIO;
	fprintf(f, "thaw-sweep\t1\nscript\t%s\nrepeat\t%d\nseed\t%llu\nmpi\t%d\n", s->script, s->repeat,
		(unsigned long long)s->seed, s->mpi);
	if (s->launcher[0])
		fprintf(f, "launcher\t%s\n", s->launcher);
	for (int i = 0; i < s->argc; i++)
		fprintf(f, "arg\t%s\n", s->argv[i]);
	for (int p = 0; p < s->n_params; p++) {
		fprintf(f, "grid\t%s", s->params[p].name);
		for (int v = 0; v < s->params[p].n; v++)
			fprintf(f, "\t%s", s->params[p].values[v]);
		fputc('\n', f);
	}
	for (int i = 0; i < s->n_points; i++) {
		const thaw_sweep_point *pt = &s->points[i];
		fprintf(f, "point\t%d\t%s\t%llu", i, pt->dir, (unsigned long long)pt->seed);
		for (int p = 0; p < s->n_params; p++)
			fprintf(f, "\t%s=%s", s->params[p].name, s->params[p].values[pt->value[p]]);
		fputc('\n', f);
	}
	return thaw_atomic_commit(&a);
}

/* Splits line (modified) at tabs into at most cap fields. */
static int split_tabs(char *line, char **f, int cap)
{
	int n = 0;
	for (char *p = line; n < cap;) {
		f[n++] = p;
		char *t = strchr(p, '\t');
		if (!t)
			break;
		*t = 0;
		p = t + 1;
	}
	return n;
}

static int parse_num(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

thaw_sweep *thaw_sweep_open(const char *dir)
{
	char path[4200];
	manifest_path(dir, path, sizeof path);
	FILE *f = fopen(path, "r");
	if (!f) {
		thaw_error(THAW_EIO, "%s: cannot read: %s (is %s a sweep folder?)", path, strerror(errno), dir);
		return NULL;
	}
	thaw_sweep *s = thaw_calloc(1, sizeof *s);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int ln = 0, n_point_lines = 0, rc = s ? 0 : THAW_ENOMEM;
	if (s) {
		snprintf(s->dir, sizeof s->dir, "%s", dir);
		s->repeat = 1;
	}
	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		ln++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = 0;
		char *fl[THAW_SWEEP_MAX_PARAMS + 8];
		int nf = split_tabs(line, fl, (int)(sizeof fl / sizeof *fl));
		long v;
		if (ln == 1) {
			if (strcmp(fl[0], "thaw-sweep") || nf < 2 || strcmp(fl[1], "1"))
				rc = thaw_error(THAW_EFORMAT, "%s:1: not a thaw sweep manifest (version 1)", path);
		} else if (!strcmp(fl[0], "script") && nf == 2) {
			snprintf(s->script, sizeof s->script, "%s", fl[1]);
		} else if (!strcmp(fl[0], "repeat") && nf == 2) {
			if (parse_num(fl[1], 1, 1000, &v) < 0)
				rc = thaw_error(THAW_EFORMAT, "%s:%d: bad repeat '%s'", path, ln, fl[1]);
			s->repeat = (int)v;
		} else if (!strcmp(fl[0], "seed") && nf == 2) {
			char *end;
			errno = 0;
			s->seed = strtoull(fl[1], &end, 10);
			if (errno || end == fl[1] || *end)
				rc = thaw_error(THAW_EFORMAT, "%s:%d: bad seed '%s'", path, ln, fl[1]);
		} else if (!strcmp(fl[0], "mpi") && nf == 2) {
			if (parse_num(fl[1], 0, 4096, &v) < 0)
				rc = thaw_error(THAW_EFORMAT, "%s:%d: bad mpi '%s'", path, ln, fl[1]);
			s->mpi = (int)v;
		} else if (!strcmp(fl[0], "launcher") && nf == 2) {
			snprintf(s->launcher, sizeof s->launcher, "%s", fl[1]);
		} else if (!strcmp(fl[0], "arg") && nf == 2) {
			char **na = realloc(s->argv, (size_t)(s->argc + 1) * sizeof *na);
			if (!na || !(na[s->argc] = dupstr(fl[1]))) {
				if (na)
					s->argv = na;
				rc = thaw_error(THAW_ENOMEM, "out of memory");
				break;
			}
			s->argv = na;
			s->argc++;
		} else if (!strcmp(fl[0], "grid") && nf >= 3) {
			/* the values are tab-separated here: put them back as one list */
			char vals[8192];
			size_t k = 0;
			for (int i = 2; i < nf && k < sizeof vals; i++)
				k += (size_t)snprintf(vals + k, sizeof vals - k, "%s%s", i > 2 ? "\t" : "", fl[i]);
			char what[4300];
			snprintf(what, sizeof what, "%s:%d", path, ln);
			if (k >= sizeof vals)
				rc = thaw_error(THAW_EFORMAT, "%s: grid line too long", what);
			else if ((rc = param_add(s->params, &s->n_params, fl[1], strlen(fl[1]), vals, '\t', what)) < 0)
				rc = THAW_EFORMAT;
		} else if (!strcmp(fl[0], "point") && nf >= 4) {
			n_point_lines++;
		} else {
			rc = thaw_error(THAW_EFORMAT, "%s:%d: unexpected line '%.40s'", path, ln, fl[0]);
		}
	}
	free(line);
	fclose(f);
	if (rc == 0 && ln == 0)
		rc = thaw_error(THAW_EFORMAT, "%s: empty", path);
	if (rc == 0 && !s->script[0])
		rc = thaw_error(THAW_EFORMAT, "%s: no script line", path);
	if (rc == 0 && (rc = make_points(s)) == 0 && n_point_lines != s->n_points)
		rc = thaw_error(THAW_EFORMAT, "%s: %d point lines, but the grid makes %d points", path, n_point_lines,
				s->n_points);
	if (rc < 0) {
		thaw_sweep_free(s);
		return NULL;
	}
	return s;
}

/* What differs between the sweep asked for and the one in the folder. */
static int same_sweep(const thaw_sweep *a, const thaw_sweep *b, char *why, size_t size)
{
	if (strcmp(a->script, b->script))
		return snprintf(why, size, "the script is %.400s there", b->script), 0;
	if (a->repeat != b->repeat)
		return snprintf(why, size, "--repeat is %d there", b->repeat), 0;
	if (a->seed != b->seed)
		return snprintf(why, size, "--seed is %llu there", (unsigned long long)b->seed), 0;
	if (a->mpi != b->mpi || strcmp(a->launcher, b->launcher))
		return snprintf(why, size, "--mpi or --launcher differ"), 0;
	int same = a->n_params == b->n_params;
	for (int p = 0; same && p < a->n_params; p++) {
		const thaw_sweep_param *x = &a->params[p], *y = &b->params[p];
		same = !strcmp(x->name, y->name) && x->n == y->n;
		for (int v = 0; same && v < x->n; v++)
			same = !strcmp(x->values[v], y->values[v]);
	}
	if (!same) {
		size_t k = (size_t)snprintf(why, size, "its grid is");
		for (int p = 0; p < b->n_params && k < size; p++) {
			k += (size_t)snprintf(why + k, size - k, " %s=", b->params[p].name);
			for (int v = 0; v < b->params[p].n && k < size; v++)
				k += (size_t)snprintf(why + k, size - k, "%s%s", v ? "," : "", b->params[p].values[v]);
		}
		return 0;
	}
	if (a->argc != b->argc)
		return snprintf(why, size, "the script arguments differ"), 0;
	for (int i = 0; i < a->argc; i++)
		if (strcmp(a->argv[i], b->argv[i]))
			return snprintf(why, size, "script argument %d is '%s' there", i + 1, b->argv[i]), 0;
	return 1;
}

int thaw_sweep_prepare(const thaw_sweep *s)
{
	char path[4200];
	manifest_path(s->dir, path, sizeof path);
	if (access(path, F_OK) == 0) {
		thaw_sweep *old = thaw_sweep_open(s->dir);
		if (!old)
			return THAW_EFORMAT;
		char why[512];
		int same = same_sweep(s, old, why, sizeof why);
		thaw_sweep_free(old);
		if (!same)
			return thaw_error(THAW_EINVAL,
					  "%s holds another sweep (%s): continue it with the same command, or "
					  "give a new --out",
					  s->dir, why);
		return 0;
	}
	int rc = thaw_mkdirs(s->dir);
	return rc < 0 ? rc : write_manifest(s, path);
}

void thaw_sweep_point_label(const thaw_sweep *s, int i, char *buf, size_t size)
{
	const thaw_sweep_point *pt = &s->points[i];
	size_t k = 0;
	buf[0] = 0;
	for (int p = 0; p < s->n_params && k < size; p++) {
		const char *nm = s->params[p].name;
		int pos = isdigit((unsigned char)nm[0]) != 0; /* a positional argument: arg[N]=V */
		k += (size_t)snprintf(buf + k, size - k, "%s%s%s%s=%s", p ? " " : "", pos ? "arg[" : "", nm,
				      pos ? "]" : "", s->params[p].values[pt->value[p]]);
	}
	if (s->repeat > 1 && k < size)
		snprintf(buf + k, size - k, "%srep %d", k ? " " : "", pt->rep + 1);
	if (!buf[0])
		snprintf(buf, size, "point %d", i);
}

void thaw_sweep_point_path(const thaw_sweep *s, int i, const char *file, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s%s%s", s->dir, s->points[i].dir, file ? "/" : "", file ? file : "");
}

/* ---- a point's state */

/* The value of "key": in a line of JSON: a pointer just past the colon and
 * any blanks, or NULL. */
static const char *json_key(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	if (!p)
		return NULL;
	p += strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p++ != ':')
		return NULL;
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* The "status" string and "exit_code" of a summary.json; thaw's writer puts
 * each on a line of its own (the whole file is parsed when collecting). 1
 * when the status was found. */
static int summary_status(const char *path, char *status, size_t size, int *exit_code)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char line[1024];
	int found = 0;
	while (fgets(line, sizeof line, f)) {
		const char *p = json_key(line, "\"status\"");
		if (p && *p == '"') {
			p++;
			const char *q = strchr(p, '"');
			if (q) {
				snprintf(status, size, "%.*s", (int)(q - p), p);
				found = 1;
			}
		}
		if ((p = json_key(line, "\"exit_code\"")))
			*exit_code = atoi(p);
	}
	fclose(f);
	return found;
}

thaw_point_state thaw_sweep_point_state(const thaw_sweep *s, int i)
{
	thaw_point_state st = {THAW_POINT_TODO, -1, 0, 0};
	char path[4800], status[64];
	thaw_sweep_point_path(s, i, "checkpoint.thaw", path, sizeof path);
	int has_checkpoint = access(path, F_OK) == 0;
	thaw_sweep_point_path(s, i, "summary.json", path, sizeof path);
	if (summary_status(path, status, sizeof status, &st.exit_code)) {
		st.status = !strcmp(status, "ok")	       ? THAW_POINT_OK
			    : !strcmp(status, "check failed") ? THAW_POINT_CHECK
			    : !strcmp(status, "interrupted")  ? THAW_POINT_INTERRUPTED
							      : THAW_POINT_ERROR;
	} else {
		/* no summary: the wrapper's exit record, when it got to write one */
		thaw_sweep_point_path(s, i, "exit", path, sizeof path);
		FILE *f = fopen(path, "r");
		if (f) {
			char word[16];
			int v;
			if (fscanf(f, "%15s %d", word, &v) == 2) {
				if (!strcmp(word, "signal")) {
					st.status = THAW_POINT_KILLED;
					st.signal = v;
				} else {
					st.status = v == 130 ? THAW_POINT_INTERRUPTED : THAW_POINT_ERROR;
					st.exit_code = v;
				}
			}
			fclose(f);
		}
		thaw_sweep_point_path(s, i, "log.txt", path, sizeof path);
		if (st.status == THAW_POINT_TODO && access(path, F_OK) == 0)
			st.status = THAW_POINT_STARTED;
	}
	/* a point stopped on its way continues from its checkpoint; one that
	 * failed starts afresh (its error would come back) */
	st.resumable = has_checkpoint && (st.status == THAW_POINT_INTERRUPTED || st.status == THAW_POINT_KILLED ||
					  st.status == THAW_POINT_TODO || st.status == THAW_POINT_STARTED);
	return st;
}

int thaw_point_finished(thaw_point_status st) { return st == THAW_POINT_OK || st == THAW_POINT_CHECK; }

const char *thaw_point_status_name(thaw_point_status st)
{
	switch (st) {
	case THAW_POINT_TODO: return "not run";
	case THAW_POINT_STARTED: return "started";
	case THAW_POINT_OK: return "ok";
	case THAW_POINT_CHECK: return "check failed";
	case THAW_POINT_ERROR: return "error";
	case THAW_POINT_INTERRUPTED: return "interrupted";
	case THAW_POINT_KILLED: return "killed";
	}
	return "?";
}

int thaw_self_exe(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	if (n <= 0 || (size_t)n >= size - 1)
		return thaw_error(THAW_EIO, "cannot find the thaw binary (/proc/self/exe): %s",
				  n < 0 ? strerror(errno) : "path too long");
	buf[n] = 0;
	return 0;
}

/* argv builder: each string copied into buf. */
typedef struct argb {
	char **argv;
	int argc, cap;
	char *buf;
	size_t used, size;
	int full;
} argb;

static void push(argb *b, const char *s)
{
	size_t n = strlen(s) + 1;
	if (b->argc + 1 >= b->cap || b->used + n > b->size) {
		b->full = 1;
		return;
	}
	memcpy(b->buf + b->used, s, n);
	b->argv[b->argc++] = b->buf + b->used;
	b->argv[b->argc] = NULL;
	b->used += n;
}

static void push_words(argb *b, const char *words)
{
	char w[512];
	for (const char *p = words; *p;) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (n == 0)
			break;
		snprintf(w, sizeof w, "%.*s", (int)n, p);
		push(b, w);
		p += n;
	}
}

int thaw_sweep_point_argv(const thaw_sweep *s, int i, const char *exe, int in_slurm, char **argv, int cap,
			  char *buf, size_t size)
{
	argb b = {argv, 0, cap, buf, 0, size, 0};
	const thaw_sweep_point *pt = &s->points[i];
	char dir[4800], num[32];
	thaw_sweep_point_path(s, i, NULL, dir, sizeof dir);
	if (s->launcher[0]) {
		push_words(&b, s->launcher);
	} else if (s->mpi > 0) {
		snprintf(num, sizeof num, "%d", s->mpi);
		push_words(&b, in_slurm ? "srun --mpi=pmix -n" : "mpirun -np");
		push(&b, num);
	}
	push(&b, exe);
	push(&b, "run");
	push(&b, s->script);
	if (thaw_sweep_point_state(s, i).resumable) { /* seed and arguments come from the checkpoint */
		push(&b, "--resume");
		push(&b, dir);
		return b.full ? thaw_error(THAW_EINVAL, "point %d: command too long", i) : b.argc;
	}
	push(&b, "--out");
	push(&b, dir);
	push(&b, "--seed");
	snprintf(num, sizeof num, "%llu", (unsigned long long)pt->seed);
	push(&b, num);
	push(&b, "--");
	/* positional parameters at their place, the given arguments around them */
	int n_pos = 0;
	for (int p = 0; p < s->n_params; p++)
		n_pos += isdigit((unsigned char)s->params[p].name[0]) != 0;
	for (int k = 1, next = 0; k <= s->argc + n_pos; k++) {
		const char *v = NULL;
		for (int p = 0; p < s->n_params && !v; p++)
			if (isdigit((unsigned char)s->params[p].name[0]) && atoi(s->params[p].name) == k)
				v = s->params[p].values[pt->value[p]];
		push(&b, v ? v : s->argv[next++]);
	}
	for (int p = 0; p < s->n_params; p++) {
		if (isdigit((unsigned char)s->params[p].name[0]))
			continue;
		char kv[1024];
		snprintf(kv, sizeof kv, "%s=%s", s->params[p].name, s->params[p].values[pt->value[p]]);
		push(&b, kv);
	}
	return b.full ? thaw_error(THAW_EINVAL, "point %d: command too long", i) : b.argc;
}
