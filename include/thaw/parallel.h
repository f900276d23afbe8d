/* A small persistent thread pool for the layer kernels. The library owns
 * the pool; its workers start on first use and sleep when idle.
 *
 *   thaw_parallel_for(B, forward_images, &args);   // fn(lo, hi, user)
 *
 * [0, n) is cut into thaw_parallel_parts(n) contiguous parts whose bounds
 * depend only on n and the thread count; threads claim whole parts, so a
 * thread held up by another process leaves its parts to the others.
 * A kernel whose parts write disjoint outputs (or per-part partial sums
 * combined afterwards in part order) therefore gives bit-identical results
 * for the same thread count, whichever thread ran which part and however
 * busy the machine was. A call made inside a part, or while another thread
 * holds the pool, runs the same parts one after another on the caller. */
#ifndef THAW_PARALLEL_H
#define THAW_PARALLEL_H

#include <stddef.h>

#define THAW_PARALLEL_MAX 64  /* parts and threads at most */
#define THAW_PARALLEL_SPLIT 4 /* parts per thread with more than one thread */

typedef void (*thaw_parallel_fn)(int lo, int hi, void *user);

/* Runs fn over the parts of [0, n) and returns when all have finished.
 * FLOPs counted through thaw_sgemm / thaw_blas_add_flops inside the parts
 * are added to the caller's counter. n <= 0 does nothing. */
void thaw_parallel_for(int n, thaw_parallel_fn fn, void *user);

/* Number of parts thaw_parallel_for(n, ...) makes: min(n, 4 * threads),
 * or 1 with one thread (>= 1 for n >= 1, at most THAW_PARALLEL_MAX).
 * Part p covers [n*p/parts, n*(p+1)/parts). */
int thaw_parallel_parts(int n);

/* Threads taking part (the caller plus workers); n <= 0 restores the
 * default (OpenBLAS's thread count: OPENBLAS_NUM_THREADS or the cores).
 * thaw_blas_set_threads sets the same value. */
void thaw_parallel_set_threads(int n);
int thaw_parallel_threads(void);

/* Nonzero on a thread that is running a part (nested calls run inline). */
int thaw_parallel_inside(void);

/* Element-wise kernels: fn(a, b, user) over [0, n) in blocks of
 * THAW_PARALLEL_BLOCK values split over the pool, or on the caller alone
 * below THAW_PARALLEL_MIN values, where waking threads costs more than it
 * saves. Each value is computed once, so no split changes a result. */
#define THAW_PARALLEL_BLOCK 4096
#define THAW_PARALLEL_MIN 32768
typedef void (*thaw_range_fn)(size_t a, size_t b, void *user);
void thaw_parallel_range(size_t n, thaw_range_fn fn, void *user);

#endif
