/* The thread pool: every index runs exactly once, parts follow the
 * documented bounds, results do not depend on timing, nested and
 * concurrent callers work, FLOPs counted in workers reach the caller, and
 * the split SGEMM matches a single-threaded one. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "check.h"
#include "thaw/blas.h"
#include "thaw/parallel.h"

typedef struct hits {
	atomic_int *count; // (n)
	atomic_int calls;
	int lo[THAW_PARALLEL_MAX], hi[THAW_PARALLEL_MAX];
} hits;

static void mark(int lo, int hi, void *user)
{
	hits *h = user;
	int k = atomic_fetch_add(&h->calls, 1);
	if (k < THAW_PARALLEL_MAX)
		h->lo[k] = lo, h->hi[k] = hi;
	for (int i = lo; i < hi; i++)
		atomic_fetch_add(&h->count[i], 1);
}

static void test_cover(void)
{
	int sizes[] = {1, 2, 3, 7, 64, 1000};
	for (int t = 1; t <= 4; t++) {
		thaw_parallel_set_threads(t);
		CHECK(thaw_parallel_threads() == t);
		for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
			int n = sizes[s];
			hits h = {.count = calloc((size_t)n, sizeof(atomic_int))};
			thaw_parallel_for(n, mark, &h);
			int once = 1;
			for (int i = 0; i < n; i++)
				once &= atomic_load(&h.count[i]) == 1;
			int parts = thaw_parallel_parts(n);
			CHECKF(once, "threads %d, n %d: some index ran not exactly once", t, n);
			CHECKF(atomic_load(&h.calls) == parts, "threads %d, n %d: %d calls, %d parts", t, n,
			       atomic_load(&h.calls), parts);
			CHECK(parts == (t == 1 ? 1 : n < 4 * t ? n : 4 * t));
			/* each call is one documented part */
			int ok = 1;
			for (int k = 0; k < atomic_load(&h.calls) && k < THAW_PARALLEL_MAX; k++) {
				int found = 0;
				for (int p = 0; p < parts; p++)
					found |= h.lo[k] == n * p / parts && h.hi[k] == n * (p + 1) / parts;
				ok &= found;
			}
			CHECKF(ok, "threads %d, n %d: a call was not one of the parts", t, n);
			free(h.count);
		}
	}
	thaw_parallel_for(0, mark, NULL); /* nothing to do, fn never called */
	CHECK(1);
}

/* Partial sums per part, combined in part order: the pattern the layers
 * use for weight gradients. Repeated runs must agree bit for bit. */
typedef struct reduce {
	const float *x;
	int n, parts;
	float part[THAW_PARALLEL_MAX];
} reduce;

static void sum_parts(int lo, int hi, void *user)
{
	reduce *r = user;
	for (int p = lo; p < hi; p++) {
		float s = 0;
		for (int i = r->n * p / r->parts; i < r->n * (p + 1) / r->parts; i++)
			s += r->x[i];
		r->part[p] = s;
	}
}

static float reduce_once(const float *x, int n)
{
	reduce r = {.x = x, .n = n, .parts = thaw_parallel_parts(n)};
	thaw_parallel_for(r.parts, sum_parts, &r);
	float s = 0;
	for (int p = 0; p < r.parts; p++)
		s += r.part[p];
	return s;
}

static void test_deterministic(void)
{
	enum { N = 100003 };
	float *x = malloc(N * sizeof(float));
	for (int i = 0; i < N; i++)
		x[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
	thaw_parallel_set_threads(2);
	float first = reduce_once(x, N);
	int same = 1;
	for (int k = 0; k < 200; k++)
		same &= reduce_once(x, N) == first;
	CHECKF(same, "a repeated reduction gave a different float");
	free(x);
}

/* A call from inside a part runs inline, all its indices on that thread. */
static void nested(int lo, int hi, void *user)
{
	hits *h = user;
	CHECK(thaw_parallel_inside());
	for (int i = lo; i < hi; i++) {
		hits inner = {.count = calloc(10, sizeof(atomic_int))};
		thaw_parallel_for(10, mark, &inner);
		int ok = 1;
		for (int k = 0; k < 10; k++)
			ok &= atomic_load(&inner.count[k]) == 1;
		if (ok)
			atomic_fetch_add(&h->count[i], 1);
		free(inner.count);
	}
}

static void test_nested(void)
{
	thaw_parallel_set_threads(2);
	hits h = {.count = calloc(8, sizeof(atomic_int))};
	CHECK(!thaw_parallel_inside());
	thaw_parallel_for(8, nested, &h);
	int ok = 1;
	for (int i = 0; i < 8; i++)
		ok &= atomic_load(&h.count[i]) == 1;
	CHECKF(ok, "nested calls did not cover their indices");
	free(h.count);
}

/* Two threads using the pool at once (the workbench's trainer and its UI):
 * one gets the pool, the other runs its parts inline; both are complete. */
static void *concurrent(void *arg)
{
	int *ok = arg;
	for (int k = 0; k < 200; k++) {
		hits h = {.count = calloc(256, sizeof(atomic_int))};
		thaw_parallel_for(256, mark, &h);
		for (int i = 0; i < 256; i++)
			*ok &= atomic_load(&h.count[i]) == 1;
		free(h.count);
	}
	return NULL;
}

static void test_concurrent(void)
{
	thaw_parallel_set_threads(2);
	int ok[2] = {1, 1};
	pthread_t th;
	CHECK(pthread_create(&th, NULL, concurrent, &ok[0]) == 0);
	concurrent(&ok[1]);
	pthread_join(th, NULL);
	CHECK(ok[0] && ok[1]);
}

static void count_flops(int lo, int hi, void *user)
{
	(void)user;
	thaw_blas_add_flops(1000.0 * (hi - lo));
}

static void test_flops(void)
{
	thaw_parallel_set_threads(2);
	thaw_blas_reset_flops();
	thaw_parallel_for(64, count_flops, NULL);
	CHECK_NEAR(thaw_blas_flops(), 64000.0, 0.0);
}

/* A GEMM large enough to be split over the pool equals the same product
 * run whole on one thread, bit for bit (the split only cuts columns). */
static void test_split_gemm(void)
{
	enum { M = 96, N = 1000, K = 200 };
	float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
	float *c1 = malloc(sizeof(float) * M * N), *c2 = malloc(sizeof(float) * M * N);
	for (int i = 0; i < M * K; i++)
		a[i] = (float)(i % 13) * 0.1f - 0.6f;
	for (int i = 0; i < K * N; i++)
		b[i] = (float)(i % 7) * 0.2f - 0.5f;
	for (int tb = 0; tb < 2; tb++) {
		thaw_parallel_set_threads(1);
		thaw_blas_reset_flops();
		thaw_sgemm(0, tb, M, N, K, 1.0f, a, K, b, tb ? K : N, 0.0f, c1, N);
		CHECK_NEAR(thaw_blas_flops(), 2.0 * M * N * K, 0.0);
		thaw_parallel_set_threads(2);
		thaw_blas_reset_flops();
		thaw_sgemm(0, tb, M, N, K, 1.0f, a, K, b, tb ? K : N, 0.0f, c2, N);
		CHECK_NEAR(thaw_blas_flops(), 2.0 * M * N * K, 0.0);
		float worst = 0;
		for (int i = 0; i < M * N; i++)
			worst = fmaxf(worst, fabsf(c1[i] - c2[i]));
		printf("  split sgemm (trans_b %d): largest difference %g\n", tb, worst);
		CHECK(worst <= 1e-4f); /* the parts run the same kernel over the same K: exact here */
	}
	free(a);
	free(b);
	free(c1);
	free(c2);
}

/* thaw_parallel_range: every value once, in blocks inside [0, n), on the
 * caller alone below THAW_PARALLEL_MIN; n = 0 calls nothing. */
typedef struct range_hits {
	atomic_int *count;
	atomic_int calls, bad;
} range_hits;

static void mark_range(size_t a, size_t b, void *user)
{
	range_hits *h = user;
	atomic_fetch_add(&h->calls, 1);
	if (a >= b || (a % THAW_PARALLEL_BLOCK) != 0)
		atomic_fetch_add(&h->bad, 1);
	for (size_t i = a; i < b; i++)
		atomic_fetch_add(&h->count[i], 1);
}

static void test_range(void)
{
	size_t sizes[] = {0, 1, 4097, THAW_PARALLEL_MIN - 1, THAW_PARALLEL_MIN, 3 * THAW_PARALLEL_MIN + 17};
	thaw_parallel_set_threads(2);
	for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
		size_t n = sizes[s];
		range_hits h = {.count = calloc(n + 1, sizeof(atomic_int))};
		thaw_parallel_range(n, mark_range, &h);
		int once = 1;
		for (size_t i = 0; i < n; i++)
			once &= atomic_load(&h.count[i]) == 1;
		CHECKF(once && !atomic_load(&h.count[n]) && !atomic_load(&h.bad), "n = %zu: not every value once", n);
		int calls = atomic_load(&h.calls);
		if (n == 0)
			CHECK(calls == 0);
		else if (n < THAW_PARALLEL_MIN)
			CHECKF(calls == 1, "n = %zu: %d calls, wanted 1 (serial)", n, calls);
		else
			CHECKF(calls > 1, "n = %zu: one call, wanted the pool's parts", n);
		free(h.count);
	}
	thaw_parallel_set_threads(0);
}

int main(void)
{
	RUN(test_cover);
	RUN(test_deterministic);
	RUN(test_nested);
	RUN(test_concurrent);
	RUN(test_flops);
	RUN(test_split_gemm);
	RUN(test_range);
	thaw_parallel_set_threads(0);
	return check_done();
}
