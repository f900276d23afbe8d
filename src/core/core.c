/* Error buffer, checked allocation, RNG, arena, clock. */
#include "thaw/core.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Thread_local char errbuf[1024];

/* Formatted apart first: a message may quote thaw_errmsg() itself
 * ("resume: %s", thaw_errmsg()), which vsnprintf into errbuf could not. */
int thaw_error(int code, const char *fmt, ...)
{
	char msg[sizeof errbuf];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	memcpy(errbuf, msg, sizeof errbuf);
	return code;
}

const char *thaw_errmsg(void) { return errbuf; }

enum { WARN_KEEP = 16 };
static _Thread_local char warnbuf[WARN_KEEP][512];
static _Thread_local unsigned warn_head, warn_count; /* ring: oldest at warn_head */
static _Thread_local char warn_out[512];

void thaw_warn(const char *fmt, ...)
{
	if (warn_count == WARN_KEEP) { /* full: the oldest goes */
		warn_head = (warn_head + 1) % WARN_KEEP;
		warn_count--;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(warnbuf[(warn_head + warn_count) % WARN_KEEP], sizeof warnbuf[0], fmt, ap);
	va_end(ap);
	warn_count++;
}

const char *thaw_warning_next(void)
{
	if (!warn_count)
		return NULL;
	memcpy(warn_out, warnbuf[warn_head], sizeof warn_out);
	warn_head = (warn_head + 1) % WARN_KEEP;
	warn_count--;
	return warn_out;
}

void thaw_error_prefix(const char *fmt, ...)
{
	char pre[512], old[sizeof errbuf];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, errbuf, sizeof old);
	size_t k = strlen(pre);
	if (k > sizeof errbuf - 3)
		k = sizeof errbuf - 3;
	memcpy(errbuf, pre, k);
	memcpy(errbuf + k, ": ", 2);
	size_t rest = sizeof errbuf - k - 3;
	size_t ol = strnlen(old, rest);
	memcpy(errbuf + k + 2, old, ol);
	errbuf[k + 2 + ol] = 0;
}

void thaw_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "thaw: internal error: %s:%d: assertion '%s' failed\n", file, line, expr);
	abort();
}

void *thaw_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		thaw_error(THAW_ENOMEM, "out of memory (%zu bytes)", n);
	return p;
}

void *thaw_calloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		thaw_error(THAW_ENOMEM, "out of memory (%zu x %zu bytes)", count, size);
	return p;
}

void *thaw_aligned(size_t n)
{
	size_t r = (n + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, r ? r : 64);
	if (!p)
		thaw_error(THAW_ENOMEM, "out of memory (%zu bytes)", n);
	return p;
}

/* ---- RNG */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void thaw_rng_seed(thaw_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	uint64_t a = splitmix64(&x), b = splitmix64(&x);
	r->s[0] = (uint32_t)a;
	r->s[1] = (uint32_t)(a >> 32);
	r->s[2] = (uint32_t)b;
	r->s[3] = (uint32_t)(b >> 32);
	if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
		r->s[0] = 1;
}

static inline uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

uint32_t thaw_rng_u32(thaw_rng *r)
{
	uint32_t *s = r->s;
	uint32_t res = rotl(s[0] + s[3], 7) + s[0];
	uint32_t t = s[1] << 9;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 11);
	return res;
}

float thaw_rng_uniform(thaw_rng *r) { return (float)(thaw_rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

float thaw_rng_normal(thaw_rng *r)
{
	float u1 = ((float)(thaw_rng_u32(r) >> 8) + 0.5f) * (1.0f / 16777216.0f);
	float u2 = thaw_rng_uniform(r);
	return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853071795864f * u2);
}

uint32_t thaw_rng_below(thaw_rng *r, uint32_t n)
{
	if (n <= 1)
		return 0;
	uint32_t lim = (uint32_t)(-n) % n; /* reject the biased low range */
	for (;;) {
		uint64_t m = (uint64_t)thaw_rng_u32(r) * n;
		if ((uint32_t)m >= lim)
			return (uint32_t)(m >> 32);
	}
}

/* ---- Arena */
void *thaw_arena_take(thaw_arena *a, size_t bytes)
{
	size_t off = (a->used + 63) & ~(size_t)63;
	size_t end = off + ((bytes + 63) & ~(size_t)63);
	a->used = end;
	if (!a->base)
		return NULL; /* measuring */
	THAW_ASSERT(end <= a->size);
	return a->base + off;
}

int thaw_arena_reserve(thaw_arena *a, size_t bytes)
{
	free(a->base);
	a->base = NULL;
	a->size = a->used = 0;
	if (!bytes)
		return 0;
	a->base = thaw_aligned(bytes);
	if (!a->base)
		return THAW_ENOMEM;
	a->size = (bytes + 63) & ~(size_t)63;
	return 0;
}

void thaw_arena_free(thaw_arena *a)
{
	if (!a)
		return;
	free(a->base);
	a->base = NULL;
	a->size = a->used = 0;
}

void thaw_sbuf_printf(thaw_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		if (b->oom)
			return;
		va_start(ap, fmt);
		int k = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (k < 0)
			return;
		if (b->s && b->len + (size_t)k < b->cap) {
			b->len += (size_t)k;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->len + (size_t)k + 1)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (!ns) {
			b->oom = 1;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
}

double thaw_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double thaw_cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
