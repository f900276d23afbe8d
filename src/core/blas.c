/* SGEMM through OpenBLAS's CBLAS, with a FLOP counter for `make bench`.
 *
 * OpenBLAS runs single-threaded; thaw's own pool (parallel.c) supplies the
 * threads: layer kernels split their work over images and call thaw_sgemm
 * inside the parts, and a large GEMM called outside any part is split here
 * into column (or row) blocks, one per part. OpenBLAS's own workers would
 * otherwise spin-wait (sched_yield, ~0.1 s) after every threaded call on
 * the very cores the pool needs, and OpenBLAS threads badly the small
 * GEMMs of one chunk of images. */
#include "thaw/blas.h"

#include <cblas.h>
#include <pthread.h>

#include "thaw/parallel.h"

static _Thread_local double flops;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void blas_init(void) { openblas_set_num_threads(1); }

/* Split a GEMM only when each part gets enough work to repay waking a
 * thread (~5-20 us) and packing op(A) or op(B) again. */
enum { SPLIT_MIN_FLOPS = 4000000, BLOCK = 16 };

typedef struct split {
	int ta, tb, M, N, K, lda, ldb, ldc, by_cols, blocks, parts;
	float alpha, beta;
	const float *A, *B;
	float *C;
} split;

static void gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
		 const float *B, int ldb, float beta, float *C, int ldc)
{
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K,
		    alpha, A, lda, B, ldb, beta, C, ldc);
}

static void split_part(int lo, int hi, void *user)
{
	const split *s = user;
	int a = (int)((long)s->blocks * lo / s->parts) * BLOCK, b = (int)((long)s->blocks * hi / s->parts) * BLOCK;
	if (s->by_cols) {
		if (b > s->N)
			b = s->N;
		const float *B = s->B + (s->tb ? (size_t)a * s->ldb : (size_t)a);
		gemm(s->ta, s->tb, s->M, b - a, s->K, s->alpha, s->A, s->lda, B, s->ldb, s->beta, s->C + a,
		     s->ldc);
	} else {
		if (b > s->M)
			b = s->M;
		const float *A = s->A + (s->ta ? (size_t)a : (size_t)a * s->lda);
		gemm(s->ta, s->tb, b - a, s->N, s->K, s->alpha, A, s->lda, s->B, s->ldb, s->beta,
		     s->C + (size_t)a * s->ldc, s->ldc);
	}
}

void thaw_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
		int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
	if (M <= 0 || N <= 0)
		return;
	pthread_once(&once, blas_init);
	double f = 2.0 * M * N * K;
	flops += f;
	int t = thaw_parallel_inside() ? 1 : thaw_parallel_threads();
	if (t > 1 && f >= SPLIT_MIN_FLOPS * (double)t && (M >= 2 * BLOCK || N >= 2 * BLOCK)) {
		/* one part per thread: each part packs op(A) (or op(B)) again, so
		 * the finer split the layers use cost 15% on a 1024^3 product */
		split s = {trans_a, trans_b, M, N, K, lda, ldb, ldc, N >= M, 0, t, alpha, beta, A, B, C};
		s.blocks = ((s.by_cols ? N : M) + BLOCK - 1) / BLOCK;
		if (s.parts > s.blocks)
			s.parts = s.blocks;
		thaw_parallel_for(s.parts, split_part, &s); /* parts call OpenBLAS uncounted */
		return;
	}
	gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

double thaw_blas_flops(void) { return flops; }
void thaw_blas_reset_flops(void) { flops = 0; }
void thaw_blas_add_flops(double f) { flops += f; }

void thaw_blas_set_threads(int n)
{
	pthread_once(&once, blas_init);
	thaw_parallel_set_threads(n);
}

int thaw_blas_threads(void) { return thaw_parallel_threads(); }
