/* SGEMM through OpenBLAS's CBLAS, with a FLOP counter for `make bench`. */
#include "thaw/blas.h"

#include <cblas.h>

static _Thread_local double flops;
static int nthreads;

void thaw_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
		int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
	if (M <= 0 || N <= 0)
		return;
	flops += 2.0 * M * N * K;
	cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
		    trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

double thaw_blas_flops(void) { return flops; }
void thaw_blas_reset_flops(void) { flops = 0; }

void thaw_blas_set_threads(int n)
{
	if (n > 0) {
		openblas_set_num_threads(n);
		nthreads = n;
	}
}

int thaw_blas_threads(void) { return nthreads > 0 ? nthreads : openblas_get_num_threads(); }
