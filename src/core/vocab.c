/* The tokenizer (UTF-8 decoding, a small table of which code points are
 * word characters and how letters lower-case) and the vocabulary (an array
 * of words with an open-addressing hash from word to id). The tables are
 * ours rather than the C library's so that tokens never depend on the
 * locale a user happens to run under. */
#include "thaw/vocab.h"

#include <stdlib.h>
#include <string.h>

#include "thaw/core.h"

/* ---- code points */

/* Ranges of punctuation, symbols and spaces above ASCII: separators. */
static const uint32_t sep_ranges[][2] = {
	{0x80, 0xA9},     {0xAB, 0xB4},     {0xB6, 0xB9},     {0xBB, 0xBF},     {0xD7, 0xD7},
	{0xF7, 0xF7},     {0x037E, 0x037E}, {0x0387, 0x0387}, {0x055A, 0x055F}, {0x0589, 0x058A},
	{0x05BE, 0x05BE}, {0x05C0, 0x05C0}, {0x05C3, 0x05C3}, {0x05C6, 0x05C6}, {0x05F3, 0x05F4},
	{0x060C, 0x060D}, {0x061B, 0x061F}, {0x066A, 0x066D}, {0x06D4, 0x06D4}, {0x0964, 0x0965},
	{0x0E4F, 0x0E4F}, {0x0E5A, 0x0E5B}, {0x1680, 0x1680}, {0x2000, 0x206F}, {0x20A0, 0x20CF},
	{0x2100, 0x214F}, {0x2190, 0x2BFF}, {0x2E00, 0x2E7F}, {0x3000, 0x3004}, {0x3008, 0x3020},
	{0x3030, 0x3030}, {0xFD3E, 0xFD3F}, {0xFE10, 0xFE1F}, {0xFE30, 0xFE6F}, {0xFEFF, 0xFEFF},
	{0xFF00, 0xFF0F}, {0xFF1A, 0xFF20}, {0xFF3B, 0xFF40}, {0xFF5B, 0xFF65}, {0xFFF0, 0xFFFF},
	{0x1F000, 0x1FAFF},
};

int thaw_codepoint_is_word(uint32_t c)
{
	if (c < 0x80)
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
	int lo = 0, hi = (int)(sizeof sep_ranges / sizeof sep_ranges[0]) - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (c < sep_ranges[mid][0])
			hi = mid - 1;
		else if (c > sep_ranges[mid][1])
			lo = mid + 1;
		else
			return 0;
	}
	return c <= 0x10FFFF;
}

uint32_t thaw_codepoint_lower(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
		return c + 0x20;
	if ((c >= 0x0100 && c <= 0x0137) || (c >= 0x014A && c <= 0x0177))
		return c | 1;
	if ((c >= 0x0139 && c <= 0x0148) || (c >= 0x0179 && c <= 0x017E))
		return c & 1 ? c + 1 : c;
	if (c == 0x0178)
		return 0xFF;
	if (c >= 0x0391 && c <= 0x03A9 && c != 0x03A2)
		return c + 0x20;
	if (c == 0x0386)
		return 0x03AC;
	if (c >= 0x0388 && c <= 0x038A)
		return c + 0x25;
	if (c == 0x038C)
		return 0x03CC;
	if (c == 0x038E || c == 0x038F)
		return c + 0x3F;
	if (c >= 0x0410 && c <= 0x042F)
		return c + 0x20;
	if (c >= 0x0400 && c <= 0x040F)
		return c + 0x50;
	if ((c >= 0x0460 && c <= 0x0481) || (c >= 0x048A && c <= 0x04BF) || (c >= 0x1E00 && c <= 0x1E95) ||
	    (c >= 0x1EA0 && c <= 0x1EFF))
		return c | 1;
	if (c == 0x1E9E)
		return 0xDF;
	return c;
}

/* One code point at p (< end): its value and byte count, or 0 bytes for an
 * invalid sequence (overlong, surrogate, beyond U+10FFFF, cut short). */
static int utf8_decode(const unsigned char *p, const unsigned char *end, uint32_t *c)
{
	unsigned b = p[0];
	if (b < 0x80) {
		*c = b;
		return 1;
	}
	int n;
	uint32_t v, min;
	if ((b & 0xE0) == 0xC0)
		n = 2, v = b & 0x1F, min = 0x80;
	else if ((b & 0xF0) == 0xE0)
		n = 3, v = b & 0x0F, min = 0x800;
	else if ((b & 0xF8) == 0xF0)
		n = 4, v = b & 0x07, min = 0x10000;
	else
		return 0;
	if (end - p < n)
		return 0;
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*c = v;
	return n;
}

static int utf8_encode(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xE0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3F));
		out[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3F));
	out[2] = (char)(0x80 | (c >> 6 & 0x3F));
	out[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

thaw_token_iter thaw_token_iter_init(const char *s, long len, int lower)
{
	thaw_token_iter it;
	memset(&it, 0, sizeof it);
	it.p = s;
	it.end = s + (len < 0 ? (long)strlen(s) : len);
	it.lower = lower;
	return it;
}

int thaw_token_next(thaw_token_iter *it)
{
	const unsigned char *p = (const unsigned char *)it->p, *end = (const unsigned char *)it->end;
	it->len = 0;
	while (p < end) {
		uint32_t c;
		int k = utf8_decode(p, end, &c);
		if (!k) {
			it->invalid++;
			p++;
			if (it->len)
				break;
			continue;
		}
		p += k;
		if (!thaw_codepoint_is_word(c)) {
			if (it->len)
				break;
			continue;
		}
		if (it->lower)
			c = thaw_codepoint_lower(c);
		char buf[4];
		int m = utf8_encode(buf, c);
		if (it->len + (size_t)m <= THAW_TOKEN_MAX) { /* a longer word is cut */
			memcpy(it->tok + it->len, buf, (size_t)m);
			it->len += (size_t)m;
		}
	}
	it->p = (const char *)p;
	it->tok[it->len] = 0;
	return it->len > 0;
}

/* ---- vocabularies */

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static size_t find_slot(const thaw_vocab *v, const char *w, size_t len)
{
	size_t mask = v->nslots - 1, i = (size_t)hash_bytes(w, len) & mask;
	for (;;) {
		int id = v->slot[i];
		if (id < 0)
			return i;
		const char *s = v->words[id];
		if (strlen(s) == len && !memcmp(s, w, len))
			return i;
		i = (i + 1) & mask;
	}
}

static int rehash(thaw_vocab *v, size_t nslots)
{
	int *slot = thaw_malloc(nslots * sizeof *slot);
	if (!slot)
		return THAW_ENOMEM;
	free(v->slot);
	v->slot = slot;
	v->nslots = nslots;
	for (size_t i = 0; i < nslots; i++)
		slot[i] = -1;
	for (int id = 0; id < v->n; id++)
		slot[find_slot(v, v->words[id], strlen(v->words[id]))] = id;
	return 0;
}

thaw_vocab *thaw_vocab_new(int lower)
{
	thaw_vocab *v = thaw_calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->lower = lower;
	v->refs = 1;
	if (thaw_vocab_add(v, "<pad>", 5, 0) != THAW_TOKEN_PAD || thaw_vocab_add(v, "<unk>", 5, 0) != THAW_TOKEN_UNK) {
		thaw_vocab_free(v);
		return NULL;
	}
	return v;
}

thaw_vocab *thaw_vocab_ref(thaw_vocab *v)
{
	if (v)
		__atomic_add_fetch(&v->refs, 1, __ATOMIC_RELAXED);
	return v;
}

void thaw_vocab_free(thaw_vocab *v)
{
	if (!v || __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (int i = 0; i < v->n; i++)
		free(v->words[i]);
	free(v->words);
	free(v->count);
	free(v->slot);
	free(v);
}

int thaw_vocab_add(thaw_vocab *v, const char *w, size_t len, int64_t count)
{
	if (v->nslots && v->slot[find_slot(v, w, len)] >= 0) {
		int id = v->slot[find_slot(v, w, len)];
		v->count[id] += count;
		return id;
	}
	if (v->n >= 0x7fffffff / 2)
		return thaw_error(THAW_EINVAL, "vocabulary: too many words");
	if (v->n == v->cap) {
		int cap = v->cap ? v->cap * 2 : 64;
		char **words = realloc(v->words, (size_t)cap * sizeof *words);
		if (words)
			v->words = words;
		int64_t *cnt = realloc(v->count, (size_t)cap * sizeof *cnt);
		if (cnt)
			v->count = cnt;
		if (!words || !cnt)
			return thaw_error(THAW_ENOMEM, "out of memory (vocabulary of %d words)", cap);
		v->cap = cap;
	}
	if ((size_t)(v->n + 1) * 2 > v->nslots) {
		int rc = rehash(v, v->nslots ? v->nslots * 2 : 128);
		if (rc < 0)
			return rc;
	}
	char *s = thaw_malloc(len + 1);
	if (!s)
		return THAW_ENOMEM;
	memcpy(s, w, len);
	s[len] = 0;
	int id = v->n++;
	v->words[id] = s;
	v->count[id] = count;
	v->slot[find_slot(v, s, len)] = id;
	return id;
}

int thaw_vocab_find(const thaw_vocab *v, const char *w, size_t len)
{
	if (!v->nslots)
		return THAW_TOKEN_UNK;
	int id = v->slot[find_slot(v, w, len)];
	return id < 0 ? THAW_TOKEN_UNK : id;
}

const char *thaw_vocab_word(const thaw_vocab *v, int id)
{
	return v && id >= 0 && id < v->n ? v->words[id] : "?";
}

struct sort_ctx {
	const thaw_vocab *v;
	const int64_t *count;
};
static int by_count(const void *a, const void *b, void *ctx)
{
	const struct sort_ctx *c = ctx;
	int i = *(const int *)a, j = *(const int *)b;
	if (c->count[i] != c->count[j])
		return c->count[i] > c->count[j] ? -1 : 1;
	return strcmp(c->v->words[i], c->v->words[j]);
}

thaw_vocab *thaw_vocab_limit(const thaw_vocab *v, const int64_t *count, int64_t min_count, int max_size)
{
	if (!count)
		count = v->count;
	int *order = thaw_malloc(sizeof *order * (size_t)(v->n + 1));
	if (!order)
		return NULL;
	int k = 0;
	for (int id = THAW_TOKEN_FIRST; id < v->n; id++)
		if (count[id] >= (min_count > 0 ? min_count : 1))
			order[k++] = id;
	struct sort_ctx ctx = {v, count};
	qsort_r(order, (size_t)k, sizeof *order, by_count, &ctx);
	if (max_size > 0 && k > max_size - THAW_TOKEN_FIRST)
		k = max_size > THAW_TOKEN_FIRST ? max_size - THAW_TOKEN_FIRST : 0;
	thaw_vocab *o = thaw_vocab_new(v->lower);
	for (int i = 0; o && i < k; i++)
		if (thaw_vocab_add(o, v->words[order[i]], strlen(v->words[order[i]]), count[order[i]]) < 0) {
			thaw_vocab_free(o);
			o = NULL;
		}
	free(order);
	return o;
}

int thaw_vocab_encode(const thaw_vocab *v, const char *s, long len, int32_t *ids, int max)
{
	thaw_token_iter it = thaw_token_iter_init(s, len, v->lower);
	int n = 0;
	while (thaw_token_next(&it)) {
		if (n < max)
			ids[n] = thaw_vocab_find(v, it.tok, it.len);
		n++;
	}
	for (int i = n; i < max; i++)
		ids[i] = THAW_TOKEN_PAD;
	return n;
}

thaw_vocab *thaw_vocab_merge(const thaw_vocab *a, const thaw_vocab *b, int *bmap)
{
	thaw_vocab *o = thaw_vocab_new(a->lower);
	for (int id = THAW_TOKEN_FIRST; o && id < a->n; id++)
		if (thaw_vocab_add(o, a->words[id], strlen(a->words[id]), a->count[id]) < 0) {
			thaw_vocab_free(o);
			o = NULL;
		}
	bmap[THAW_TOKEN_PAD] = THAW_TOKEN_PAD;
	bmap[THAW_TOKEN_UNK] = THAW_TOKEN_UNK;
	for (int id = THAW_TOKEN_FIRST; o && id < b->n; id++)
		if ((bmap[id] = thaw_vocab_add(o, b->words[id], strlen(b->words[id]), b->count[id])) < 0) {
			thaw_vocab_free(o);
			o = NULL;
		}
	return o;
}

int thaw_vocab_same(const thaw_vocab *a, const thaw_vocab *b)
{
	if (a == b)
		return 1;
	if (!a || !b || a->n != b->n || a->lower != b->lower)
		return 0;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->words[i], b->words[i]) != 0)
			return 0;
	return 1;
}
