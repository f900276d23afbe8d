/* Word vectors: fastText .vec / GloVe .txt text files and word2vec binary
 * files, streamed a record at a time through one FILE (fmemopen for
 * buffers), keeping the rows of vocabulary words only. */
#include "thaw/wordvec.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thaw/core.h"

#define MAX_DIM 100000
#define MAX_WORD 4096

thaw_wordvec_opts thaw_wordvec_opts_default(void)
{
	return (thaw_wordvec_opts){.format = THAW_WORDVEC_AUTO, .scale = 0.05f, .seed = 1};
}

void thaw_wordvec_free(thaw_wordvec *wv)
{
	if (!wv)
		return;
	free(wv->w);
	free(wv);
}

typedef struct reader {
	FILE *f;
	const char *name;
	const thaw_vocab *v;
	const thaw_wordvec_opts *o;
	thaw_wordvec *wv;
	unsigned char *state; /* per vocabulary id: 0 missing, 1 by lower-casing, 2 exact */
	float *vec;           /* (dim) the record being read */
} reader;

/* Takes the record of `word` (len bytes) when the vocabulary wants it. */
static void offer(reader *R, const char *word, size_t len)
{
	const thaw_vocab *v = R->v;
	int id = thaw_vocab_find(v, word, len), how = 2;
	if (id < THAW_TOKEN_FIRST) {
		/* "Paris" for "paris": the word as the tokenizer would make it */
		thaw_token_iter it = thaw_token_iter_init(word, (long)len, v->lower);
		if (!thaw_token_next(&it) || (it.len == len && !memcmp(it.tok, word, len)))
			return; /* no word in it, or the form already looked up */
		thaw_token_iter again = it;
		if (thaw_token_next(&again))
			return; /* more than one token: "new_york" is not "new" */
		id = thaw_vocab_find(v, it.tok, it.len);
		how = 1;
	}
	if (id < THAW_TOKEN_FIRST || R->state[id] >= how)
		return;
	R->state[id] = (unsigned char)how;
	memcpy(R->wv->w + (size_t)id * R->wv->dim, R->vec, sizeof(float) * (size_t)R->wv->dim);
}

static int alloc_rows(reader *R, int dim)
{
	if (dim <= 0 || dim > MAX_DIM)
		return thaw_error(THAW_EFORMAT, "%s: dimension %d (1 to %d)", R->name, dim, MAX_DIM);
	if (R->o->dim && dim != R->o->dim)
		return thaw_error(THAW_EFORMAT, "%s: vectors of %d values, expected %d", R->name, dim, R->o->dim);
	R->wv->dim = dim;
	R->wv->w = thaw_calloc((size_t)R->v->n * (size_t)dim, sizeof(float));
	R->vec = thaw_malloc(sizeof(float) * (size_t)dim);
	return R->wv->w && R->vec ? 0 : THAW_ENOMEM;
}

/* "count dim" with nothing else: a header line. */
static int header_line(const char *s, long *count, long *dim)
{
	char *e;
	errno = 0;
	long a = strtol(s, &e, 10);
	if (e == s || errno || a < 0)
		return 0;
	const char *p = e;
	long b = strtol(p, &e, 10);
	if (e == p || errno || b <= 0)
		return 0;
	while (*e == ' ' || *e == '\t' || *e == '\r' || *e == '\n')
		e++;
	if (*e)
		return 0;
	*count = a;
	*dim = b;
	return 1;
}

/* Parses the floats of one text line after the word into R->vec (or only
 * counts them when vec is NULL). Returns the count, or -1 with the message. */
static int parse_floats(reader *R, char *s, float *vec, int want, long line)
{
	int k = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (!*s)
			return k;
		char *e;
		float x = strtof(s, &e);
		if (e == s || (*e && *e != ' ' && *e != '\t' && *e != '\r' && *e != '\n')) {
			char *end = s;
			while (*end && *end != ' ' && *end != '\n')
				end++;
			return thaw_error(THAW_EFORMAT, "%s:%ld: '%.*s' is not a number", R->name, line,
					  (int)(end - s < 40 ? end - s : 40), s);
		}
		if (!isfinite(x))
			return thaw_error(THAW_EFORMAT, "%s:%ld: value %d is not finite", R->name, line, k + 1);
		if (vec && k < want)
			vec[k] = x;
		k++;
		s = e;
	}
}

static int read_text(reader *R, char *line, size_t cap, long count, long dim, long first_line)
{
	long lineno = first_line - 1, words = 0;
	ssize_t got;
	int rc = 0;
	/* line holds the first record already when there is no header */
	int have = count < 0;
	while (have || (got = getline(&line, &cap, R->f)) >= 0) {
		have = 0;
		lineno++;
		size_t L = strlen(line);
		if (L == 0 || line[0] == '\n' || (line[0] == '\r' && line[1] == '\n')) {
			rc = thaw_error(THAW_EFORMAT, "%s:%ld: empty line", R->name, lineno);
			break;
		}
		char *sp = line;
		while (*sp && *sp != ' ' && *sp != '\t' && *sp != '\n')
			sp++;
		if (*sp != ' ' && *sp != '\t') {
			rc = thaw_error(THAW_EFORMAT, "%s:%ld: a word without values%s", R->name, lineno,
					line[L - 1] == '\n' ? "" : " (the file ends mid-line: truncated?)");
			break;
		}
		size_t wl = (size_t)(sp - line);
		if (!R->wv->w) { /* GloVe: the first line fixes the dimension */
			int k = parse_floats(R, sp, NULL, 0, lineno);
			if (k < 0 || (rc = alloc_rows(R, k)) < 0) {
				rc = k < 0 ? k : rc;
				break;
			}
		}
		int k = parse_floats(R, sp, R->vec, R->wv->dim, lineno);
		if (k < 0) {
			rc = k;
			break;
		}
		if (k != R->wv->dim) {
			rc = thaw_error(THAW_EFORMAT, "%s:%ld: '%.*s' has %d values, the %s says %d%s", R->name, lineno,
					(int)(wl < 40 ? wl : 40), line, k, count >= 0 ? "header" : "first line",
					R->wv->dim, line[L - 1] == '\n' ? "" : " (the file ends mid-line: truncated?)");
			break;
		}
		words++;
		if (count >= 0 && words > count) {
			rc = thaw_error(THAW_EFORMAT, "%s:%ld: more words than the %ld the header declares", R->name,
					lineno, count);
			break;
		}
		offer(R, line, wl);
	}
	if (rc == 0 && ferror(R->f))
		rc = thaw_error(THAW_EIO, "%s: read failed: %s", R->name, strerror(errno));
	if (rc == 0 && count >= 0 && words < count)
		rc = thaw_error(THAW_EFORMAT, "%s:%ld: truncated: the header declares %ld words, the file ends after %ld",
				R->name, lineno + 1, count, words);
	if (rc == 0 && !R->wv->w)
		rc = thaw_error(THAW_EFORMAT, "%s: no word vectors", R->name);
	R->wv->file_words = words;
	free(line);
	return rc;
}

static int read_binary(reader *R, long count, long dim, long offset)
{
	int rc = alloc_rows(R, (int)dim);
	if (rc < 0)
		return rc;
	char word[MAX_WORD + 1];
	unsigned char *raw = thaw_malloc(4 * (size_t)dim);
	if (!raw)
		return THAW_ENOMEM;
	long words = 0;
	for (; words < count; words++) {
		size_t wl = 0;
		int c;
		while ((c = fgetc(R->f)) == '\n' || c == '\r') /* word2vec ends records with '\n' */
			offset++;
		while (c != EOF && c != ' ') {
			if (wl == MAX_WORD) {
				rc = thaw_error(THAW_EFORMAT,
						"%s: word %ld (byte %ld): no space after %d bytes: not word2vec binary, or "
						"the header's dimension %ld is wrong",
						R->name, words + 1, offset, MAX_WORD, dim);
				goto out;
			}
			word[wl++] = (char)c;
			c = fgetc(R->f);
		}
		if (c == EOF) {
			rc = thaw_error(THAW_EFORMAT, "%s: truncated: the header declares %ld words, the file ends in word %ld (byte %ld)",
					R->name, count, words + 1, offset + (long)wl);
			goto out;
		}
		offset += (long)wl + 1;
		if (fread(raw, 4, (size_t)dim, R->f) != (size_t)dim) {
			rc = thaw_error(THAW_EFORMAT,
					"%s: truncated: word %ld ('%.*s', byte %ld) lacks its %ld floats (the header declares %ld words)",
					R->name, words + 1, (int)(wl < 40 ? wl : 40), word, offset, dim, count);
			goto out;
		}
		for (long d = 0; d < dim; d++) {
			uint32_t u = (uint32_t)raw[4 * d] | (uint32_t)raw[4 * d + 1] << 8 | (uint32_t)raw[4 * d + 2] << 16 |
				     (uint32_t)raw[4 * d + 3] << 24;
			float x;
			memcpy(&x, &u, 4);
			if (!isfinite(x)) {
				rc = thaw_error(THAW_EFORMAT, "%s: word %ld ('%.*s', byte %ld): value %ld is not finite",
						R->name, words + 1, (int)(wl < 40 ? wl : 40), word, offset, d + 1);
				goto out;
			}
			R->vec[d] = x;
		}
		offset += 4 * dim;
		offer(R, word, wl);
	}
	int c;
	while ((c = fgetc(R->f)) == '\n' || c == '\r' || c == ' ')
		offset++;
	if (c != EOF)
		rc = thaw_error(THAW_EFORMAT, "%s: bytes after the %ld words the header declares (byte %ld): the header lies",
				R->name, count, offset);
out:
	R->wv->file_words = words;
	free(raw);
	return rc;
}

/* Whether the bytes after the first record's word look like raw floats. */
static int looks_binary(FILE *f, long dim)
{
	long at = ftell(f);
	unsigned char b[128];
	size_t n = fread(b, 1, sizeof b, f);
	fseek(f, at, SEEK_SET);
	size_t i = 0;
	while (i < n && b[i] != ' ')
		i++;
	size_t end = i + 1 + (size_t)(4 * dim < 64 ? 4 * dim : 64);
	for (i++; i < n && i < end && b[i] != '\n'; i++) /* a text record is numbers to its line's end */
		if (!strchr("0123456789.-+eE \t\r", b[i]) || !b[i])
			return 1;
	return 0;
}

static thaw_wordvec *load_stream(FILE *f, const char *name, const thaw_vocab *v, const thaw_wordvec_opts *o)
{
	thaw_wordvec_opts def = thaw_wordvec_opts_default();
	if (!o)
		o = &def;
	reader R = {.f = f, .name = name, .v = v, .o = o};
	R.wv = thaw_calloc(1, sizeof *R.wv);
	R.state = thaw_calloc((size_t)v->n, 1);
	char *line = NULL;
	size_t cap = 0;
	int rc = R.wv && R.state ? 0 : THAW_ENOMEM;
	if (rc == 0) {
		R.wv->n = v->n;
		ssize_t got = getline(&line, &cap, f);
		long count = -1, dim = 0;
		if (got <= 0) {
			rc = thaw_error(THAW_EFORMAT, "%s: empty file", name);
		} else if (header_line(line, &count, &dim)) {
			if (dim > MAX_DIM) {
				rc = thaw_error(THAW_EFORMAT, "%s:1: dimension %ld (1 to %d)", name, dim, MAX_DIM);
			} else {
				int bin = o->format == THAW_WORDVEC_BINARY ||
					  (o->format == THAW_WORDVEC_AUTO && count > 0 && looks_binary(f, dim));
				R.wv->format = bin ? THAW_WORDVEC_BINARY : THAW_WORDVEC_TEXT;
				if (bin) {
					rc = read_binary(&R, count, dim, (long)got);
				} else {
					rc = alloc_rows(&R, (int)dim);
					if (rc == 0)
						rc = read_text(&R, line, cap, count, dim, 2);
					line = NULL;
				}
			}
		} else if (o->format == THAW_WORDVEC_BINARY) {
			rc = thaw_error(THAW_EFORMAT, "%s:1: expected the word2vec header 'count dim'", name);
		} else {
			R.wv->format = THAW_WORDVEC_TEXT;
			rc = read_text(&R, line, cap, -1, 0, 1);
			line = NULL;
		}
	}
	free(line);
	free(R.vec);
	if (rc < 0) {
		free(R.state);
		thaw_wordvec_free(R.wv);
		return NULL;
	}
	/* rows the file lacked: zeros, or small random values; padding stays zero */
	thaw_rng rng;
	thaw_rng_seed(&rng, o->seed);
	int D = R.wv->dim;
	for (int id = THAW_TOKEN_UNK; id < v->n; id++) {
		if (id >= THAW_TOKEN_FIRST) {
			R.wv->words++;
			R.wv->found += R.state[id] > 0;
			R.wv->case_folded += R.state[id] == 1;
		}
		if (!R.state[id] && o->random_missing)
			for (int d = 0; d < D; d++)
				R.wv->w[(size_t)id * D + d] = (2.0f * thaw_rng_uniform(&rng) - 1.0f) * o->scale;
	}
	free(R.state);
	return R.wv;
}

thaw_wordvec *thaw_wordvec_load(const char *path, const thaw_vocab *v, const thaw_wordvec_opts *o)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		thaw_error(THAW_EIO, "%s: %s", path, strerror(errno));
		return NULL;
	}
	thaw_wordvec *wv = load_stream(f, path, v, o);
	fclose(f);
	return wv;
}

thaw_wordvec *thaw_wordvec_load_mem(const void *buf, size_t len, const char *name, const thaw_vocab *v,
				    const thaw_wordvec_opts *o)
{
	if (!name)
		name = "(vectors)";
	if (len == 0) {
		thaw_error(THAW_EFORMAT, "%s: empty file", name);
		return NULL;
	}
	FILE *f = fmemopen((void *)buf, len, "rb");
	if (!f) {
		thaw_error(THAW_ENOMEM, "%s: %s", name, strerror(errno));
		return NULL;
	}
	thaw_wordvec *wv = load_stream(f, name, v, o);
	fclose(f);
	return wv;
}

/* 9412 -> "9,412" */
static void commas(char *out, size_t size, long v)
{
	char t[32];
	int n = snprintf(t, sizeof t, "%ld", v), o = 0;
	for (int i = 0; i < n && (size_t)o + 2 < size; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = t[i];
	}
	out[o] = 0;
}

void thaw_wordvec_coverage(const thaw_wordvec *wv, char *buf, size_t size)
{
	char a[32], b[32], c[32];
	commas(a, sizeof a, wv->found);
	commas(b, sizeof b, wv->words);
	commas(c, sizeof c, wv->case_folded);
	if (wv->case_folded)
		snprintf(buf, size, "%s of %s words found (%s by lower-casing)", a, b, c);
	else
		snprintf(buf, size, "%s of %s words found", a, b);
}
