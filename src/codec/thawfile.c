/* .thaw model files (layout in docs/thaw-format.md): the format's shared
 * pieces and saving, which streams into a temporary file beside the target
 * and renames it. Loading is in thawfile_load.c. */
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

#include "thaw/atomic.h"

#include "thawfile.h"
#include "thaw/vocab.h"

const unsigned char thaw_thawfile_magic[8] = {0x89, 'T', 'H', 'A', 'W', '\r', '\n', 0x1a};

/* Kind names as the file spells them; fixed here so a file stays readable
 * whichever layer kinds this build links. */
const char *const thaw_thawfile_kinds[THAW_KIND_COUNT] = {
	[THAW_DENSE] = "dense",
	[THAW_CONV2D] = "conv2d",
	[THAW_MAXPOOL] = "maxpool",
	[THAW_AVGPOOL] = "avgpool",
	[THAW_GLOBALAVGPOOL] = "globalavgpool",
	[THAW_BATCHNORM] = "batchnorm",
	[THAW_RELU] = "relu",
	[THAW_RELU6] = "relu6",
	[THAW_LEAKY_RELU] = "leaky_relu",
	[THAW_SIGMOID] = "sigmoid",
	[THAW_TANH] = "tanh",
	[THAW_GELU] = "gelu",
	[THAW_DROPOUT] = "dropout",
	[THAW_FLATTEN] = "flatten",
	[THAW_ADD] = "add",
	[THAW_CONCAT] = "concat",
	[THAW_EMBEDDING] = "embedding",
	[THAW_POOL_TIME] = "pool_time",
};

int thaw_thawfile_kind_of(const char *s)
{
	for (int k = 0; k < THAW_KIND_COUNT; k++)
		if (thaw_thawfile_kinds[k] && strcmp(thaw_thawfile_kinds[k], s) == 0)
			return k;
	return -1;
}

/* %XX-escapes bytes that would break the space-separated header. */
void thaw_thawfile_escape(char *out, size_t size, const char *s)
{
	size_t o = 0;
	for (; *s && o + 4 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= ' ' || c == '%' || c >= 0x7f)
			o += (size_t)snprintf(out + o, size - o, "%%%02X", c);
		else
			out[o++] = (char)c;
	}
	out[o] = 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* In place; returns -1 on a bad escape. */
int thaw_thawfile_unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (*s == '%') {
			int h = hexval(s[1]), l = h >= 0 ? hexval(s[2]) : -1;
			if (h < 0 || l < 0)
				return -1;
			*o++ = (char)(h * 16 + l);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
	return 0;
}

/* ======================================================================
 * Saving */
static long fail_after = -1;
void thaw_modelfile_fail_after(long bytes) { fail_after = bytes; }

typedef struct writer {
	FILE *f;
	const char *path;
	long written, limit;
	int err;
	uLong crc; /* of the current section's payload */
} writer;

static void wbytes(writer *w, const void *p, size_t n)
{
	if (w->err || n == 0)
		return;
	if (w->limit >= 0 && w->written + (long)n > w->limit) {
		w->err = ENOSPC;
		return;
	}
	if (fwrite(p, 1, n, w->f) != n) {
		w->err = errno ? errno : EIO;
		return;
	}
	w->written += (long)n;
	w->crc = crc32(w->crc, p, (uInt)n);
}

static void wu32(writer *w, uint32_t v)
{
	unsigned char b[4];
	put_u32(b, v);
	wbytes(w, b, 4);
}

static void section_begin(writer *w, const char *tag, uint64_t len)
{
	unsigned char h[16] = {0};
	memcpy(h, tag, strlen(tag));
	put_u64(h + 8, len);
	wbytes(w, h, 16);
	w->crc = crc32(0L, Z_NULL, 0);
}

static void section_end(writer *w)
{
	uint32_t c = (uint32_t)w->crc;
	wu32(w, c);
}

/* floats as little-endian bytes, followed by their CRC */
static void wtensor(writer *w, const float *x, size_t n)
{
	unsigned char buf[4096];
	uLong c = crc32(0L, Z_NULL, 0);
	size_t i = 0;
	while (i < n) {
		size_t k = n - i < sizeof buf / 4 ? n - i : sizeof buf / 4;
		for (size_t j = 0; j < k; j++) {
			uint32_t u;
			memcpy(&u, &x[i + j], 4);
			put_u32(buf + 4 * j, u);
		}
		c = crc32(c, buf, (uInt)(4 * k));
		wbytes(w, buf, 4 * k);
		i += k;
	}
	wu32(w, (uint32_t)c);
}


static int has_opt(const thaw_node *n)
{
	if (!n->omem)
		return 0;
	for (int k = 0; k < n->np; k++)
		if (!n->p[k].is_buffer && n->p[k].m && n->p[k].v)
			return 1;
	return 0;
}

/* thaw_resize_mode's names (data.h, which this layer does not include) */
const char *const thaw_thawfile_resize[N_RESIZE] = {"stretch", "crop", "pad"};

static void header_text(thaw_sbuf *b, const thaw_model *m)
{
	char esc[3 * 256 + 4];
	const thaw_input_spec *in = &m->input;
	int nc = in->c < THAW_MAX_CHANNELS ? in->c : THAW_MAX_CHANNELS;
	thaw_sbuf_printf(b, "thaw-model %d\ninput %d %d %d\nmean", THAW_FORMAT_VERSION, in->c, in->h, in->w);
	for (int i = 0; i < nc; i++)
		thaw_sbuf_printf(b, " %.9g", in->mean[i]);
	thaw_sbuf_printf(b, "\nstd");
	for (int i = 0; i < nc; i++)
		thaw_sbuf_printf(b, " %.9g", in->std[i]);
	thaw_sbuf_printf(b, "\n");
	/* written only when not the default, so older readers see the same
	 * header as before (and ignore the line when present) */
	if (in->resize > 0 && in->resize < N_RESIZE)
		thaw_sbuf_printf(b, "resize %s\n", thaw_thawfile_resize[in->resize]);
	thaw_sbuf_printf(b, "seed %llu\nrng %u %u %u %u\nclasses %d\n", (unsigned long long)m->seed,
		  m->rng.s[0], m->rng.s[1], m->rng.s[2], m->rng.s[3], m->n_classes);
	for (int i = 0; i < m->n_classes; i++) {
		thaw_thawfile_escape(esc, sizeof esc, m->class_names && m->class_names[i] ? m->class_names[i] : "");
		thaw_sbuf_printf(b, "class %s\n", esc[0] ? esc : "%00");
	}
	thaw_sbuf_printf(b, "nodes %d\n", m->n);
	for (int i = 0; i < m->n; i++) {
		const thaw_node *n = m->nodes[i];
		const thaw_attrs *a = &n->a;
		thaw_thawfile_escape(esc, sizeof esc, n->name);
		thaw_sbuf_printf(b, "node %s %s in=", esc, thaw_thawfile_kinds[n->kind]);
		for (int j = 0; j < n->n_in; j++)
			thaw_sbuf_printf(b, "%s%d", j ? "," : "", n->in[j]);
		thaw_sbuf_printf(b,
			  " trainable=%d lr_mult=%.9g opt=%d opt_t=%llu units=%d filters=%d k=%d,%d s=%d,%d "
			  "pad=%d,%d,%d,%d d=%d,%d groups=%d bias=%d ceil_mode=%d count_include_pad=%d "
			  "alpha=%.9g lo=%.9g hi=%.9g rate=%.9g eps=%.9g momentum=%.9g init=%d\n",
			  n->trainable, n->lr_mult, has_opt(n), (unsigned long long)n->opt_t, a->units, a->filters, a->kh, a->kw, a->sh,
			  a->sw, a->pad[0], a->pad[1], a->pad[2], a->pad[3], a->dh, a->dw, a->groups,
			  a->bias, a->ceil_mode, a->count_include_pad, a->alpha, a->lo, a->hi, a->rate,
			  a->eps, a->momentum, a->init);
		if (n->kind == THAW_EMBEDDING || n->kind == THAW_POOL_TIME) { /* the text kinds' own fields */
			b->len--; /* onto the same line */
			if (n->kind == THAW_EMBEDDING)
				thaw_sbuf_printf(b, " words=%d dim=%d\n", a->words, a->dim);
			else
				thaw_sbuf_printf(b, " pool=%d\n", a->pool);
		}
		for (int k = 0; k < n->np; k++) {
			const thaw_param *p = &n->p[k];
			thaw_sbuf_printf(b, "param %s %s", p->name, p->is_buffer ? "buf" : "w");
			for (int d = 0; d < p->ndim; d++)
				thaw_sbuf_printf(b, " %d", p->dims[d]);
			thaw_sbuf_printf(b, "\n");
		}
	}
	thaw_sbuf_printf(b, "end\n");
}

/* The vocabulary of a text model: a word a line (tokens hold no spaces,
 * newlines or NULs; "<pad>" and "<unk>" first). */
static int vocab_text(thaw_sbuf *b, const thaw_vocab *v, const char *path)
{
	thaw_sbuf_printf(b, "thaw-vocab 1\nlower %d\nwords %d\n", v->lower, v->n);
	for (int i = 0; i < v->n; i++) {
		if (strpbrk(v->words[i], "\n\r") || !v->words[i][0])
			return thaw_error(THAW_EINVAL, "%s: vocabulary word %d is empty or holds a line break", path, i);
		thaw_sbuf_printf(b, "%s\n", v->words[i]);
	}
	return 0;
}

static void train_text(thaw_sbuf *b, const thaw_train_state *st)
{
	char esc[3 * 512 + 4];
	char phase[sizeof st->phase + 1], opt[sizeof st->optimizer + 1];
	snprintf(phase, sizeof phase, "%s", st->phase);
	snprintf(opt, sizeof opt, "%s", st->optimizer);
	thaw_thawfile_escape(esc, sizeof esc, phase);
	thaw_sbuf_printf(b, "phase %s\n", esc[0] ? esc : "%00");
	thaw_sbuf_printf(b, "epoch %d\nstep %lld\nrng %u %u %u %u\n", st->epoch, (long long)st->step,
		  st->rng.s[0], st->rng.s[1], st->rng.s[2], st->rng.s[3]);
	thaw_thawfile_escape(esc, sizeof esc, opt);
	thaw_sbuf_printf(b, "optimizer %s\n", esc[0] ? esc : "%00");
	if (st->phase_index > 0)
		thaw_sbuf_printf(b, "phase_index %d\nbatch %d\nseed %llu\n", st->phase_index, st->batch,
				 (unsigned long long)st->seed);
	for (int i = 0; i < st->argc && i < THAW_TRAIN_MAX_ARGS; i++) {
		char arg[THAW_TRAIN_ARG_LEN + 1];
		snprintf(arg, sizeof arg, "%s", st->argv[i]);
		thaw_thawfile_escape(esc, sizeof esc, arg);
		thaw_sbuf_printf(b, "arg %s\n", esc[0] ? esc : "%00");
	}
	thaw_sbuf_printf(b, "end\n");
}

int thaw_model_save(const thaw_model *m, const char *path, const thaw_train_state *st)
{
	if (!m || !path || !*path)
		return thaw_error(THAW_EINVAL, "save: no model or no path");
	for (int i = 0; i < m->n; i++)
		if (m->nodes[i]->kind < 0 || m->nodes[i]->kind >= THAW_KIND_COUNT)
			return thaw_error(THAW_EINVAL, "%s: node '%s' has an unknown kind", path,
					  m->nodes[i]->name);
	thaw_sbuf head = {0}, train = {0}, voc = {0};
	header_text(&head, m);
	if (st)
		train_text(&train, st);
	if (m->vocab && vocab_text(&voc, m->vocab, path) < 0) {
		free(head.s);
		free(train.s);
		free(voc.s);
		return THAW_EINVAL;
	}
	if (head.oom || train.oom || voc.oom) {
		free(head.s);
		free(train.s);
		free(voc.s);
		return thaw_error(THAW_ENOMEM, "%s: out of memory building the header", path);
	}

	uint64_t tens_len = 0, opt_len = 0;
	int any_opt = 0;
	for (int i = 0; i < m->n; i++) {
		const thaw_node *n = m->nodes[i];
		for (int k = 0; k < n->np; k++)
			tens_len += 4 * (uint64_t)n->p[k].size + 4;
		if (has_opt(n)) {
			any_opt = 1;
			for (int k = 0; k < n->np; k++)
				if (!n->p[k].is_buffer)
					opt_len += 2 * (4 * (uint64_t)n->p[k].size + 4);
		}
	}

	thaw_atomic a;
	writer w = {.f = thaw_atomic_open(&a, path), .path = path, .limit = fail_after};
	fail_after = -1;
	if (!w.f) {
		free(head.s);
		free(train.s);
		free(voc.s);
		return THAW_EIO;
	}
	{
		unsigned char pre[16];
		memcpy(pre, thaw_thawfile_magic, 8);
		put_u32(pre + 8, THAW_FORMAT_VERSION);
		put_u32(pre + 12, 2u + (unsigned)any_opt + (st ? 1u : 0u) + (m->vocab ? 1u : 0u));
		wbytes(&w, pre, 16);

		section_begin(&w, "header", head.len);
		wbytes(&w, head.s, head.len);
		section_end(&w);

		section_begin(&w, "tensors", tens_len);
		for (int i = 0; i < m->n; i++)
			for (int k = 0; k < m->nodes[i]->np; k++)
				wtensor(&w, m->nodes[i]->p[k].w, m->nodes[i]->p[k].size);
		section_end(&w);

		if (any_opt) {
			section_begin(&w, "optim", opt_len);
			for (int i = 0; i < m->n; i++) {
				const thaw_node *n = m->nodes[i];
				if (!has_opt(n))
					continue;
				for (int k = 0; k < n->np; k++)
					if (!n->p[k].is_buffer) {
						wtensor(&w, n->p[k].m, n->p[k].size);
						wtensor(&w, n->p[k].v, n->p[k].size);
					}
			}
			section_end(&w);
		}
		if (st) {
			section_begin(&w, "train", train.len);
			wbytes(&w, train.s, train.len);
			section_end(&w);
		}
		if (m->vocab) {
			section_begin(&w, "vocab", voc.len);
			wbytes(&w, voc.s, voc.len);
			section_end(&w);
		}
	}
	free(head.s);
	free(train.s);
	free(voc.s);
	if (w.err) {
		thaw_atomic_abort(&a);
		return thaw_error(THAW_EIO, "%s: write failed after %ld bytes: %s (the previous file is untouched)",
				  path, w.written, strerror(w.err));
	}
	if (thaw_atomic_commit(&a) < 0)
		return THAW_EIO;
	return 0;
}
