/* Loading .thaw model files (layout in docs/thaw-format.md): the file is
 * mapped (or read from memory) and every count and size is checked against
 * its length before anything is allocated. */
#include "thaw/modelfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "thawfile.h"
#include "thaw/vocab.h"

/* ======================================================================
 * Loading */
typedef struct section {
	char tag[9];
	const unsigned char *p;
	uint64_t len;
	uint32_t crc;
} section;

typedef struct pdecl {
	char name[32];
	int buffer, ndim, dims[4];
	uint64_t size;
} pdecl;

typedef struct ndecl {
	char name[THAW_NAME_MAX];
	int kind;
	thaw_attrs a;
	int n_in, in[THAW_MAX_INPUTS];
	int trainable, opt;
	long opt_t; /* optimizer steps taken (Adam's bias correction) */
	float lr_mult;
	int np;
	pdecl p[THAW_MAX_PARAMS];
} ndecl;

typedef struct loader {
	const char *path;
	const unsigned char *base;
	size_t size;
	section sec[MAX_SECTIONS];
	int nsec;
	char *text; /* header copy, NUL-terminated */
	int line;
	ndecl *nodes;
	int n_nodes;
	char **classes;
	int n_classes;
	int have_rng;
	thaw_rng rng; /* restored after building: adding nodes draws from it */
} loader;

static int lerr(loader *L, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int lerr(loader *L, int code, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return thaw_error(code, "%s: %s", L->path, msg);
}

static int herr(loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int herr(loader *L, const char *fmt, ...)
{
	char msg[640];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return thaw_error(THAW_EFORMAT, "%s: section 'header', line %d: %s", L->path, L->line, msg);
}

static const section *find_sec(const loader *L, const char *tag)
{
	for (int i = 0; i < L->nsec; i++)
		if (strcmp(L->sec[i].tag, tag) == 0)
			return &L->sec[i];
	return NULL;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_float(const char *s, float *out)
{
	char *end;
	errno = 0;
	float v = strtof(s, &end);
	if (end == s || *end || isnan(v))
		return -1;
	*out = v;
	return 0;
}

/* "a,b,c" into up to max ints; returns the count or -1 */
static int parse_ints(const char *s, int *out, int max, long lo, long hi)
{
	int n = 0;
	char buf[256];
	snprintf(buf, sizeof buf, "%s", s);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		long v;
		if (n >= max || parse_int(t, lo, hi, &v) < 0)
			return -1;
		out[n++] = (int)v;
	}
	return n;
}

#define MAX_TOK 64
static int split(char *line, char **tok)
{
	int n = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " \t\r", &save); t && n < MAX_TOK; t = strtok_r(NULL, " \t\r", &save))
		tok[n++] = t;
	return n;
}

static int parse_attr(loader *L, ndecl *d, const char *key, const char *val)
{
	thaw_attrs *a = &d->a;
	long v;
	int two[4];
	const long BIG = 1L << 30;
#define INT_ATTR(nm, field, lo, hi)                                                        \
	if (strcmp(key, nm) == 0) {                                                        \
		if (parse_int(val, lo, hi, &v) < 0)                                         \
			return herr(L, "node '%s': bad %s '%s'", d->name, key, val);        \
		field = (int)v;                                                            \
		return 0;                                                                  \
	}
#define FLOAT_ATTR(nm, field)                                                              \
	if (strcmp(key, nm) == 0) {                                                        \
		if (parse_float(val, &field) < 0)                                           \
			return herr(L, "node '%s': bad %s '%s'", d->name, key, val);        \
		return 0;                                                                  \
	}
#define PAIR_ATTR(nm, f0, f1)                                                              \
	if (strcmp(key, nm) == 0) {                                                        \
		if (parse_ints(val, two, 2, 0, BIG) != 2)                                  \
			return herr(L, "node '%s': bad %s '%s'", d->name, key, val);        \
		f0 = two[0];                                                               \
		f1 = two[1];                                                               \
		return 0;                                                                  \
	}
	INT_ATTR("trainable", d->trainable, 0, 1)
	INT_ATTR("opt", d->opt, 0, 1)
	if (strcmp(key, "opt_t") == 0) {
		if (parse_int(val, 0, 1L << 62, &v) < 0)
			return herr(L, "node '%s': bad %s '%s'", d->name, key, val);
		d->opt_t = v;
		return 0;
	}
	FLOAT_ATTR("lr_mult", d->lr_mult)
	INT_ATTR("units", a->units, 0, BIG)
	INT_ATTR("filters", a->filters, 0, BIG)
	PAIR_ATTR("k", a->kh, a->kw)
	PAIR_ATTR("s", a->sh, a->sw)
	PAIR_ATTR("d", a->dh, a->dw)
	INT_ATTR("groups", a->groups, 0, BIG)
	INT_ATTR("bias", a->bias, 0, 1)
	INT_ATTR("ceil_mode", a->ceil_mode, 0, 1)
	INT_ATTR("count_include_pad", a->count_include_pad, 0, 1)
	INT_ATTR("init", a->init, 0, 1)
	INT_ATTR("words", a->words, 0, BIG)
	INT_ATTR("dim", a->dim, 0, BIG)
	INT_ATTR("pool", a->pool, 0, 1)
	FLOAT_ATTR("alpha", a->alpha)
	FLOAT_ATTR("lo", a->lo)
	FLOAT_ATTR("hi", a->hi)
	FLOAT_ATTR("rate", a->rate)
	FLOAT_ATTR("eps", a->eps)
	FLOAT_ATTR("momentum", a->momentum)
	if (strcmp(key, "pad") == 0) {
		if (parse_ints(val, a->pad, 4, 0, BIG) != 4)
			return herr(L, "node '%s': bad pad '%s'", d->name, val);
		return 0;
	}
	if (strcmp(key, "in") == 0) {
		int k = parse_ints(val, d->in, THAW_MAX_INPUTS, -1, INT_MAX);
		if (k <= 0)
			return herr(L, "node '%s': bad inputs '%s' (1 to %d node indices)", d->name, val,
				    THAW_MAX_INPUTS);
		d->n_in = k;
		return 0;
	}
#undef INT_ATTR
#undef FLOAT_ATTR
#undef PAIR_ATTR
	return 0; /* unknown keys: written by a later minor revision, ignored */
}

/* Parses the header text into L (the model is built afterwards). */
static int parse_header(loader *L, thaw_model **out, uint64_t *tensor_bytes)
{
	const section *h = find_sec(L, "header");
	size_t hl = (size_t)h->len;
	L->text = thaw_malloc(hl + 1);
	if (!L->text)
		return THAW_ENOMEM;
	memcpy(L->text, h->p, hl);
	L->text[hl] = 0;
	if (strlen(L->text) != hl)
		return lerr(L, THAW_EFORMAT, "section 'header': contains a NUL byte");

	char *save = NULL, *tok[MAX_TOK];
	int c = 0, hh = 0, ww = 0, n_mean = 0, n_std = 0, got_end = 0, cur = -1, resize = 0;
	float mean[THAW_MAX_CHANNELS], stdv[THAW_MAX_CHANNELS];
	uint64_t seed = 0;
	thaw_rng rng = {{0, 0, 0, 0}};
	int have_rng = 0, n_class_read = 0, declared_nodes = -1, n_read = 0;
	L->line = 0;
	for (char *ln = strtok_r(L->text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		L->line++;
		if (got_end)
			return herr(L, "text after 'end'");
		int nt = split(ln, tok);
		if (nt == 0)
			continue;
		const char *k = tok[0];
		long v;
		if (L->line == 1) {
			if (strcmp(k, "thaw-model") != 0 || nt != 2)
				return herr(L, "expected 'thaw-model VERSION'");
			continue;
		}
		if (!strcmp(k, "input")) {
			long cc, h2, w2;
			if (nt != 4 || parse_int(tok[1], 1, 4096, &cc) < 0 || parse_int(tok[2], 1, 65536, &h2) < 0 ||
			    parse_int(tok[3], 1, 65536, &w2) < 0)
				return herr(L, "bad input shape (want 'input C H W', C <= 4096, H, W <= 65536)");
			c = (int)cc, hh = (int)h2, ww = (int)w2;
		} else if (!strcmp(k, "mean") || !strcmp(k, "std")) {
			float *dst = k[0] == 'm' ? mean : stdv;
			if (nt - 1 > THAW_MAX_CHANNELS)
				return herr(L, "%s has %d values (at most %d)", k, nt - 1, THAW_MAX_CHANNELS);
			for (int i = 1; i < nt; i++)
				if (parse_float(tok[i], &dst[i - 1]) < 0)
					return herr(L, "bad %s value '%s'", k, tok[i]);
			*(k[0] == 'm' ? &n_mean : &n_std) = nt - 1;
		} else if (!strcmp(k, "resize")) {
			resize = -1;
			for (int i = 0; i < N_RESIZE && nt == 2; i++)
				if (!strcmp(tok[1], thaw_thawfile_resize[i]))
					resize = i;
			if (resize < 0)
				return herr(L, "bad resize mode '%s' (want stretch, crop or pad)", nt > 1 ? tok[1] : "");
		} else if (!strcmp(k, "seed")) {
			char *end;
			errno = 0;
			seed = nt == 2 ? strtoull(tok[1], &end, 10) : 0;
			if (nt != 2 || errno || *end)
				return herr(L, "bad seed");
		} else if (!strcmp(k, "rng")) {
			if (nt != 5)
				return herr(L, "bad rng state");
			for (int i = 0; i < 4; i++) {
				char *end;
				errno = 0;
				unsigned long long u = strtoull(tok[1 + i], &end, 10);
				if (errno || *end || u > 0xffffffffull)
					return herr(L, "bad rng state");
				rng.s[i] = (uint32_t)u;
			}
			have_rng = 1;
		} else if (!strcmp(k, "classes")) {
			/* every class line takes at least 8 bytes */
			if (nt != 2 || parse_int(tok[1], 0, (long)(hl / 8), &v) < 0 || L->classes)
				return herr(L, "bad class count '%s' for a header of %zu bytes", nt > 1 ? tok[1] : "",
					    hl);
			L->n_classes = (int)v;
			L->classes = v ? thaw_calloc((size_t)v, sizeof *L->classes) : NULL;
			if (v && !L->classes)
				return THAW_ENOMEM;
		} else if (!strcmp(k, "class")) {
			if (nt != 2 || n_class_read >= L->n_classes)
				return herr(L, "more class lines than 'classes' declared (%d)", L->n_classes);
			if (strcmp(tok[1], "%00") == 0)
				tok[1][0] = 0;
			else if (thaw_thawfile_unescape(tok[1]) < 0)
				return herr(L, "bad escape in class name");
			L->classes[n_class_read] = strdup(tok[1]);
			if (!L->classes[n_class_read++])
				return thaw_error(THAW_ENOMEM, "out of memory");
		} else if (!strcmp(k, "nodes")) {
			/* every node line takes at least 32 bytes */
			if (nt != 2 || parse_int(tok[1], 0, (long)(hl / 32), &v) < 0 || L->nodes)
				return herr(L, "bad node count '%s' for a header of %zu bytes", nt > 1 ? tok[1] : "",
					    hl);
			declared_nodes = (int)v;
			L->nodes = thaw_calloc(v ? (size_t)v : 1, sizeof *L->nodes);
			if (!L->nodes)
				return THAW_ENOMEM;
		} else if (!strcmp(k, "node")) {
			if (!L->nodes || n_read >= declared_nodes)
				return herr(L, "more node lines than 'nodes' declared (%d)", declared_nodes);
			if (nt < 4)
				return herr(L, "node line too short");
			ndecl *d = &L->nodes[n_read];
			cur = n_read++;
			L->n_nodes = n_read;
			if (thaw_thawfile_unescape(tok[1]) < 0 || strlen(tok[1]) == 0 || strlen(tok[1]) >= THAW_NAME_MAX)
				return herr(L, "bad node name");
			snprintf(d->name, sizeof d->name, "%s", tok[1]);
			d->kind = thaw_thawfile_kind_of(tok[2]);
			if (d->kind < 0)
				return herr(L, "node '%s': unknown layer kind '%s'", d->name, tok[2]);
			d->a = thaw_attrs_default((thaw_kind)d->kind);
			d->trainable = 1;
			d->lr_mult = 1.0f;
			for (int i = 3; i < nt; i++) {
				char *eq = strchr(tok[i], '=');
				if (!eq)
					return herr(L, "node '%s': expected key=value, got '%s'", d->name, tok[i]);
				*eq = 0;
				int rc = parse_attr(L, d, tok[i], eq + 1);
				if (rc < 0)
					return rc;
			}
			if (d->n_in == 0)
				return herr(L, "node '%s': no inputs", d->name);
			for (int j = 0; j < d->n_in; j++)
				if (d->in[j] >= cur)
					return herr(L, "node '%s': input %d refers to node %d, not an earlier node",
						    d->name, j, d->in[j]);
			if (!(d->lr_mult >= 0.0f) || !isfinite(d->lr_mult))
				return herr(L, "node '%s': bad lr_mult", d->name);
		} else if (!strcmp(k, "param")) {
			if (cur < 0)
				return herr(L, "param line before any node");
			ndecl *d = &L->nodes[cur];
			if (d->np >= THAW_MAX_PARAMS || nt < 4 || nt > 7)
				return herr(L, "node '%s': bad param line", d->name);
			pdecl *p = &d->p[d->np++];
			snprintf(p->name, sizeof p->name, "%s", tok[1]);
			if (strcmp(tok[2], "w") && strcmp(tok[2], "buf"))
				return herr(L, "node '%s' %s: bad param kind '%s'", d->name, p->name, tok[2]);
			p->buffer = !strcmp(tok[2], "buf");
			p->ndim = nt - 3;
			p->size = 1;
			for (int i = 0; i < p->ndim; i++) {
				if (parse_int(tok[3 + i], 1, INT_MAX, &v) < 0)
					return herr(L, "node '%s' %s: bad dimension '%s'", d->name, p->name, tok[3 + i]);
				p->dims[i] = (int)v;
				p->size *= (uint64_t)v;
				if (p->size > MAX_ELEMS)
					return herr(L, "node '%s' %s: %s elements is more than thaw allows", d->name,
						    p->name, tok[3 + i]);
			}
		} else if (!strcmp(k, "end")) {
			got_end = 1;
		}
		/* unknown keywords: later minor revisions, ignored */
	}
	if (!got_end)
		return lerr(L, THAW_EFORMAT, "section 'header': truncated (no 'end' line)");
	if (!c)
		return lerr(L, THAW_EFORMAT, "section 'header': no 'input' line");
	if (declared_nodes < 0 || n_read != declared_nodes)
		return lerr(L, THAW_EFORMAT, "section 'header': %d node lines, 'nodes' says %d", n_read,
			    declared_nodes);
	if (n_class_read != L->n_classes)
		return lerr(L, THAW_EFORMAT, "section 'header': %d class lines, 'classes' says %d",
			    n_class_read, L->n_classes);

	uint64_t total = 0;
	for (int i = 0; i < L->n_nodes; i++)
		for (int k = 0; k < L->nodes[i].np; k++)
			total += 4 * L->nodes[i].p[k].size + 4;
	*tensor_bytes = total;

	thaw_model *m = thaw_model_new(c, hh, ww, seed);
	if (!m)
		return lerr(L, THAW_EFORMAT, "section 'header': %s", thaw_errmsg());
	for (int i = 0; i < n_mean && i < THAW_MAX_CHANNELS; i++)
		m->input.mean[i] = mean[i];
	for (int i = 0; i < n_std && i < THAW_MAX_CHANNELS; i++)
		m->input.std[i] = stdv[i];
	m->input.resize = resize;
	L->have_rng = have_rng;
	L->rng = rng;
	*out = m;
	return 0;
}

/* Checks the declared parameters against what the layer kind makes of the
 * attributes, before anything is allocated. */
static int check_node_decl(loader *L, thaw_model *m, const ndecl *d)
{
	if (!thaw_kind_built_in((thaw_kind)d->kind))
		return lerr(L, THAW_EFORMAT, "node '%s': layer kind '%s' is not built into this thaw",
			    d->name, thaw_thawfile_kinds[d->kind]);
	thaw_node tmp;
	memset(&tmp, 0, sizeof tmp);
	tmp.kind = (thaw_kind)d->kind;
	snprintf(tmp.name, sizeof tmp.name, "%s", d->name);
	tmp.a = d->a;
	tmp.n_in = d->n_in;
	for (int j = 0; j < d->n_in; j++) {
		tmp.in[j] = d->in[j];
		tmp.in_shape[j] = d->in[j] < 0 ? (thaw_shape){1, m->input.c, m->input.h, m->input.w}
						: m->nodes[d->in[j]]->out;
	}
	if (thaw_node_declare(&tmp) < 0)
		return lerr(L, THAW_EFORMAT, "section 'header': %s", thaw_errmsg());
	if (tmp.np != d->np)
		return lerr(L, THAW_EFORMAT, "section 'header': node '%s' lists %d parameters, a %s makes %d",
			    d->name, d->np, thaw_thawfile_kinds[d->kind], tmp.np);
	for (int k = 0; k < d->np; k++) {
		const thaw_param *p = &tmp.p[k];
		int same = p->ndim == d->p[k].ndim && !!p->is_buffer == d->p[k].buffer &&
			   strcmp(p->name, d->p[k].name) == 0;
		for (int i = 0; same && i < p->ndim; i++)
			same = p->dims[i] == d->p[k].dims[i];
		if (!same) {
			char a[64] = "", b[64] = "";
			for (int i = 0; i < p->ndim; i++)
				snprintf(a + strlen(a), sizeof a - strlen(a), "%s%d", i ? "x" : "", p->dims[i]);
			for (int i = 0; i < d->p[k].ndim; i++)
				snprintf(b + strlen(b), sizeof b - strlen(b), "%s%d", i ? "x" : "", d->p[k].dims[i]);
			return lerr(L, THAW_EFORMAT,
				    "section 'header': node '%s' %s: the file says %s %s, the layer makes %s %s",
				    d->name, d->p[k].name, d->p[k].name, b, p->name, a);
		}
	}
	return 0;
}

/* Reads n floats plus their CRC from *pp, advancing it. */
static int read_tensor(loader *L, const char *sec, const char *node, const char *what,
		       const unsigned char **pp, float *dst, size_t n)
{
	const unsigned char *p = *pp;
	uint32_t want = get_u32(p + 4 * n);
	uint32_t got = (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)0);
	size_t done = 0;
	while (done < 4 * n) { /* crc32 takes uInt lengths */
		size_t k = 4 * n - done > (1u << 30) ? (1u << 30) : 4 * n - done;
		got = (uint32_t)crc32(got, p + done, (uInt)k);
		done += k;
	}
	if (got != want)
		return lerr(L, THAW_EFORMAT, "section '%s', node '%s' %s: CRC mismatch", sec, node, what);
	for (size_t i = 0; i < n; i++) {
		uint32_t u = get_u32(p + 4 * i);
		memcpy(&dst[i], &u, 4);
	}
	*pp = p + 4 * n + 4;
	return 0;
}

static uint32_t section_crc(const section *s)
{
	uLong c = crc32(0L, Z_NULL, 0);
	uint64_t done = 0;
	while (done < s->len) {
		uint64_t k = s->len - done > (1u << 30) ? (1u << 30) : s->len - done;
		c = crc32(c, s->p + done, (uInt)k);
		done += k;
	}
	return (uint32_t)c;
}

static int parse_train(loader *L, const section *s, thaw_train_state *st)
{
	char *text = thaw_malloc((size_t)s->len + 1);
	if (!text)
		return THAW_ENOMEM;
	memcpy(text, s->p, (size_t)s->len);
	text[s->len] = 0;
	memset(st, 0, sizeof *st);
	char *save = NULL, *tok[MAX_TOK];
	int rc = 0, line = 0;
	for (char *ln = strtok_r(text, "\n", &save); ln && rc == 0; ln = strtok_r(NULL, "\n", &save)) {
		line++;
		int nt = split(ln, tok);
		long v;
		if (nt == 0)
			continue;
		if (!strcmp(tok[0], "phase") || !strcmp(tok[0], "optimizer")) {
			int is_phase = tok[0][0] == 'p';
			if (nt != 2 || (strcmp(tok[1], "%00") && thaw_thawfile_unescape(tok[1]) < 0))
				rc = -1;
			else if (strcmp(tok[1], "%00") != 0) {
				if (is_phase)
					snprintf(st->phase, sizeof st->phase, "%s", tok[1]);
				else
					snprintf(st->optimizer, sizeof st->optimizer, "%s", tok[1]);
			}
		} else if (!strcmp(tok[0], "arg")) {
			if (nt != 2 || (strcmp(tok[1], "%00") && thaw_thawfile_unescape(tok[1]) < 0) || st->argc >= THAW_TRAIN_MAX_ARGS)
				rc = -1;
			else
				snprintf(st->argv[st->argc++], THAW_TRAIN_ARG_LEN, "%s", strcmp(tok[1], "%00") ? tok[1] : "");
		} else if (!strcmp(tok[0], "epoch") || !strcmp(tok[0], "phase_index") || !strcmp(tok[0], "batch")) {
			if (nt != 2 || parse_int(tok[1], 0, INT_MAX, &v) < 0)
				rc = -1;
			else
				*(tok[0][0] == 'e' ? &st->epoch : tok[0][0] == 'b' ? &st->batch : &st->phase_index) = (int)v;
		} else if (!strcmp(tok[0], "seed")) {
			char *end;
			errno = 0;
			unsigned long long u = nt == 2 ? strtoull(tok[1], &end, 10) : 0;
			if (nt != 2 || errno || *end || tok[1][0] == '-')
				rc = -1;
			else
				st->seed = u;
		} else if (!strcmp(tok[0], "step")) {
			char *end;
			errno = 0;
			long long sv = nt == 2 ? strtoll(tok[1], &end, 10) : -1;
			if (nt != 2 || errno || *end || sv < 0)
				rc = -1;
			else
				st->step = sv;
		} else if (!strcmp(tok[0], "rng")) {
			if (nt != 5)
				rc = -1;
			for (int i = 0; rc == 0 && i < 4; i++) {
				char *end;
				errno = 0;
				unsigned long long u = strtoull(tok[1 + i], &end, 10);
				if (errno || *end || u > 0xffffffffull)
					rc = -1;
				else
					st->rng.s[i] = (uint32_t)u;
			}
		}
	}
	free(text);
	if (rc < 0)
		return lerr(L, THAW_EFORMAT, "section 'train', line %d: malformed", line);
	st->present = 1;
	return 0;
}

static void loader_free(loader *L)
{
	free(L->text);
	free(L->nodes);
	for (int i = 0; i < L->n_classes && L->classes; i++)
		free(L->classes[i]);
	free(L->classes);
}

static int load_sections(loader *L)
{
	/* base is NULL for an empty file: no pointer arithmetic before the size check */
	if (!L->base || L->size < 16 || memcmp(L->base, thaw_thawfile_magic, 8) != 0)
		return lerr(L, THAW_EFORMAT, "not a thaw model file (bad magic; %zu bytes)", L->size);
	const unsigned char *p = L->base, *end = L->base + L->size;
	uint32_t ver = get_u32(p + 8);
	if (ver > THAW_FORMAT_VERSION)
		return lerr(L, THAW_EFORMAT,
			    "format version %u is newer than this thaw reads (%d); upgrade thaw to load it",
			    ver, THAW_FORMAT_VERSION);
	if (ver < 1)
		return lerr(L, THAW_EFORMAT, "format version %u is not a released format", ver);
	uint32_t ns = get_u32(p + 12);
	if (ns < 2 || ns > MAX_SECTIONS)
		return lerr(L, THAW_EFORMAT, "%u sections (a model file has 2 to %d)", ns, MAX_SECTIONS);
	p += 16;
	for (uint32_t i = 0; i < ns; i++) {
		if ((size_t)(end - p) < 16)
			return lerr(L, THAW_EFORMAT, "truncated: section %u of %u is missing (file ends at byte %zu)",
				    i + 1, ns, L->size);
		section *s = &L->sec[L->nsec];
		memcpy(s->tag, p, 8);
		s->tag[8] = 0;
		for (int k = 0; k < 8 && s->tag[k]; k++)
			if (s->tag[k] < 'a' || s->tag[k] > 'z')
				return lerr(L, THAW_EFORMAT, "section %u: bad tag", i + 1);
		s->len = get_u64(p + 8);
		p += 16;
		if (s->len > (uint64_t)(end - p) || (uint64_t)(end - p) - s->len < 4)
			return lerr(L, THAW_EFORMAT,
				    "section '%s': truncated (%llu bytes declared, %zu left in the file)", s->tag,
				    (unsigned long long)s->len, (size_t)(end - p));
		if (find_sec(L, s->tag))
			return lerr(L, THAW_EFORMAT, "section '%s' appears twice", s->tag);
		s->p = p;
		s->crc = get_u32(p + s->len);
		p += s->len + 4;
		L->nsec++;
	}
	if (p != end)
		return lerr(L, THAW_EFORMAT, "%zu unexpected bytes after the last section", (size_t)(end - p));
	if (!find_sec(L, "header") || !find_sec(L, "tensors"))
		return lerr(L, THAW_EFORMAT, "no '%s' section", find_sec(L, "header") ? "tensors" : "header");
	const section *h = find_sec(L, "header");
	if (section_crc(h) != h->crc)
		return lerr(L, THAW_EFORMAT, "section 'header': CRC mismatch");
	return 0;
}

/* The 'vocab' section: "thaw-vocab 1", "lower 0|1", "words N", then N
 * words a line, "<pad>" and "<unk>" first, no word twice. */
static int parse_vocab(loader *L, const section *s, thaw_vocab **out)
{
	if (section_crc(s) != s->crc)
		return lerr(L, THAW_EFORMAT, "section 'vocab': CRC mismatch");
	const char *p = (const char *)s->p, *end = p + s->len;
	long lower = -1, n = -1;
	int line = 0;
	thaw_vocab *v = NULL;
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e) {
			thaw_vocab_free(v);
			return lerr(L, THAW_EFORMAT, "section 'vocab', line %d: not ended by a line break", line + 1);
		}
		line++;
		size_t len = (size_t)(e - p);
		char head[64];
		if (line <= 3) {
			snprintf(head, sizeof head, "%.*s", (int)(len < 63 ? len : 63), p);
			char *sp = strchr(head, ' ');
			if (line == 1 && strcmp(head, "thaw-vocab 1") != 0)
				return lerr(L, THAW_EFORMAT, "section 'vocab', line 1: expected 'thaw-vocab 1'");
			if (line == 2 && (!sp || strncmp(head, "lower ", 6) || parse_int(sp + 1, 0, 1, &lower) < 0))
				return lerr(L, THAW_EFORMAT, "section 'vocab', line 2: expected 'lower 0' or 'lower 1'");
			if (line == 3) {
				if (!sp || strncmp(head, "words ", 6) || parse_int(sp + 1, 2, 1L << 28, &n) < 0 ||
				    (uint64_t)n > s->len / 2)
					return lerr(L, THAW_EFORMAT, "section 'vocab', line 3: expected 'words N' (2 <= N, one line each)");
				if (!(v = thaw_vocab_new((int)lower)))
					return THAW_ENOMEM;
			}
			p = e + 1;
			continue;
		}
		int want = line - 4;
		if (want >= n || len == 0 || memchr(p, 0, len)) {
			thaw_vocab_free(v);
			return lerr(L, THAW_EFORMAT, "section 'vocab', line %d: %s", line,
				    want >= n ? "more words than declared" : "an empty word");
		}
		int id = want < THAW_TOKEN_FIRST ? thaw_vocab_find(v, p, len) : thaw_vocab_add(v, p, len, 0);
		if (id != want) {
			thaw_vocab_free(v);
			return lerr(L, THAW_EFORMAT, "section 'vocab', line %d: '%.*s' %s", line, (int)(len < 40 ? len : 40), p,
				    want < THAW_TOKEN_FIRST ? "where <pad> or <unk> belongs" : "appears twice");
		}
		p = e + 1;
	}
	if (!v || v->n != n) {
		int have = v ? v->n : 0;
		thaw_vocab_free(v);
		return lerr(L, THAW_EFORMAT, "section 'vocab': %d words, %ld declared", have, n);
	}
	*out = v;
	return 0;
}

thaw_model *thaw_model_load_mem(const void *data, size_t len, const char *name, thaw_train_state *st)
{
	loader L;
	memset(&L, 0, sizeof L);
	L.path = name ? name : "(memory)";
	L.base = len ? data : NULL;
	L.size = L.base ? len : 0;
	thaw_model *m = NULL;
	uint64_t tbytes = 0;
	int rc = load_sections(&L);
	if (rc == 0)
		rc = parse_header(&L, &m, &tbytes);
	const section *ts = find_sec(&L, "tensors");
	if (rc == 0 && ts->len != tbytes)
		rc = lerr(&L, THAW_EFORMAT, "section 'tensors': %llu bytes, the header's parameters need %llu",
			  (unsigned long long)ts->len, (unsigned long long)tbytes);
	const section *os = rc == 0 ? find_sec(&L, "optim") : NULL;
	if (rc == 0) {
		uint64_t obytes = 0;
		for (int i = 0; i < L.n_nodes; i++)
			for (int k = 0; L.nodes[i].opt && k < L.nodes[i].np; k++)
				if (!L.nodes[i].p[k].buffer)
					obytes += 2 * (4 * L.nodes[i].p[k].size + 4);
		uint64_t have = os ? os->len : 0;
		if (have != obytes)
			rc = lerr(&L, THAW_EFORMAT,
				  "section 'optim': %llu bytes, the header's optimizer state needs %llu",
				  (unsigned long long)have, (unsigned long long)obytes);
	}
	/* sizes agree with the file: now build, node by node */
	const unsigned char *tp = ts ? ts->p : NULL, *op = os ? os->p : NULL;
	for (int i = 0; rc == 0 && i < L.n_nodes; i++) {
		const ndecl *d = &L.nodes[i];
		rc = check_node_decl(&L, m, d);
		if (rc < 0)
			break;
		int idx = thaw_model_add(m, d->name, &d->a, d->in, d->n_in);
		if (idx < 0) {
			rc = lerr(&L, THAW_EFORMAT, "section 'header': %s", thaw_errmsg());
			break;
		}
		thaw_node *n = m->nodes[idx];
		n->trainable = d->trainable;
		n->lr_mult = d->lr_mult;
		n->opt_t = (uint64_t)d->opt_t;
		for (int k = 0; rc == 0 && k < n->np; k++)
			rc = read_tensor(&L, "tensors", n->name, n->p[k].name, &tp, n->p[k].w, n->p[k].size);
		if (rc == 0 && d->opt) {
			rc = thaw_node_alloc_opt_state(n);
			for (int k = 0; rc == 0 && k < n->np; k++) {
				if (n->p[k].is_buffer)
					continue;
				char what[48];
				snprintf(what, sizeof what, "%s (m)", n->p[k].name);
				rc = read_tensor(&L, "optim", n->name, what, &op, n->p[k].m, n->p[k].size);
				snprintf(what, sizeof what, "%s (v)", n->p[k].name);
				if (rc == 0)
					rc = read_tensor(&L, "optim", n->name, what, &op, n->p[k].v, n->p[k].size);
			}
		}
	}
	if (rc == 0 && L.have_rng)
		m->rng = L.rng;
	if (rc == 0 && section_crc(ts) != ts->crc)
		rc = lerr(&L, THAW_EFORMAT, "section 'tensors': CRC mismatch");
	if (rc == 0 && os && section_crc(os) != os->crc)
		rc = lerr(&L, THAW_EFORMAT, "section 'optim': CRC mismatch");
	/* names that do not fit the outputs (a file written before the names
	 * followed the head) would be read past: load the model without them */
	if (rc == 0 && L.n_classes &&
	    thaw_model_set_classes(m, (const char *const *)L.classes, L.n_classes) < 0)
		thaw_warn("%s: %d class names do not match the model's output (%s): loaded without names",
			  L.path, L.n_classes, thaw_errmsg());
	const section *vs = rc == 0 ? find_sec(&L, "vocab") : NULL;
	if (vs) {
		thaw_vocab *v = NULL;
		rc = parse_vocab(&L, vs, &v);
		if (rc == 0) {
			thaw_model_set_vocab(m, v);
			thaw_vocab_free(v);
		}
	}
	if (rc == 0 && st) {
		const section *s = find_sec(&L, "train");
		memset(st, 0, sizeof *st);
		if (s && section_crc(s) != s->crc)
			rc = lerr(&L, THAW_EFORMAT, "section 'train': CRC mismatch");
		else if (s)
			rc = parse_train(&L, s, st);
	}
	loader_free(&L);
	if (rc < 0) {
		thaw_model_free(m);
		return NULL;
	}
	return m;
}

thaw_model *thaw_model_load(const char *path, thaw_train_state *st)
{
	if (!path) {
		thaw_error(THAW_EINVAL, "load: no path");
		return NULL;
	}
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		thaw_error(THAW_EIO, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		thaw_error(THAW_EIO, "%s: not a regular file", path);
		return NULL;
	}
	size_t size = (size_t)sb.st_size;
	void *map = NULL;
	unsigned char small[16]; /* too short to be a model: read for the message */
	if (size < 16 && read(fd, small, size) != (ssize_t)size)
		size = 0;
	if (size >= 16) {
		map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			close(fd);
			thaw_error(THAW_EIO, "%s: cannot map: %s", path, strerror(errno));
			return NULL;
		}
	}
	close(fd);
	thaw_model *m = thaw_model_load_mem(map ? map : small, size, path, st);
	if (map)
		munmap(map, size);
	return m;
}
