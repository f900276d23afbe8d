/* The BLAS wrapper and the convolution lowering (im2col). Every SGEMM in
 * thaw goes through thaw_sgemm so the FLOPs of a step can be counted. */
#ifndef THAW_BLAS_H
#define THAW_BLAS_H

#include <stddef.h>

/* Row-major C = alpha * op(A) * op(B) + beta * C; op(A) is M x K, op(B) K x N. */
void thaw_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
		int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* FLOPs issued through thaw_sgemm on this thread since the last reset
 * (work done for it by thaw_parallel_for's workers included). */
double thaw_blas_flops(void);
void thaw_blas_reset_flops(void);
/* Direct (non-GEMM) kernels count their arithmetic here. */
void thaw_blas_add_flops(double f);
/* Threads of thaw's pool (include/thaw/parallel.h), which also runs every
 * large SGEMM; OpenBLAS itself is kept single-threaded. n <= 0: the
 * default, OPENBLAS_NUM_THREADS or the number of cores. */
void thaw_blas_set_threads(int n);
int thaw_blas_threads(void);

/* Convolution geometry of one image. */
typedef struct thaw_conv_geom {
	int c, h, w;      /* input channels (of one group), height, width */
	int kh, kw;       /* kernel */
	int sh, sw;       /* stride */
	int ph, pw;       /* top and left padding (bottom/right follow from oh, ow) */
	int dh, dw;       /* dilation */
	int oh, ow;       /* output size */
} thaw_conv_geom;

/* col (c*kh*kw, ldc) gets the patches of im (c, h, w) in columns
 * [0, oh*ow); ldc >= oh*ow lets a whole batch share one matrix. */
void thaw_im2col(float *col, int ldc, const float *im, const thaw_conv_geom *g);
/* The adjoint: im (c, h, w) += the patches in col. */
void thaw_col2im(float *im, const float *col, int ldc, const thaw_conv_geom *g);
/* The same for a col that is spent (dcol in backward): its entries that
 * fall in the padding may be zeroed on the way. acc = 0 overwrites im
 * (no memset needed before), 1 adds into it. */
void thaw_col2im_spent(float *im, float *col, int ldc, const thaw_conv_geom *g, int acc);

#endif
