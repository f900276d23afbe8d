/* conv2d, Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions (ResNet's
 * body, VGG): each 4x4 block of output comes from a 6x6 block of input
 * with 36 products per channel pair instead of 144, so the GEMM work falls
 * to a quarter (to a third on 7x7 and 14x14 maps, whose last tiles are
 * partly outside the output).
 *   U[a] (OC, C) = (G g G^T)[a]      per kernel g = W[oc][c], a = 0..35
 *   V[a] (C, N)  = (B^T d B)[a]      per input tile d (6x6) of N tiles
 *   M[a] (OC, N) = U[a] V[a]         36 GEMMs
 *   y tile (4x4) = A^T M A           per output channel and tile
 * stored channel-major (U (OC, 36, C), V (C, 36, N), M (OC, 36, N)), each
 * GEMM reading rows 36 apart: a transform then writes or reads 36 rows
 * within one block instead of 36 pages (its stores were half its time).
 * Backward data is the same pass over dY with U taken from the kernels
 * turned by 180 degrees and C and OC swapped, and the weight gradient is
 * the adjoint of the forward pass (below). Rounding differs from the direct
 * sum by a few float ulps times the transform's gain (~1e-6 relative on
 * ResNet's shapes; tests/unit/test_conv.c measures it against double).
 *
 * The batch's tiles go in chunks of 64 or 128 (chunk_tiles). The
 * transforms run eight tiles at a time, taken in order across tile rows
 * and images (input_chans): the tiles' rows are gathered from zero-padded
 * bands, and the strided elements of eight tiles come out of 32
 * contiguous floats by shuffles. Work is split over the pool by channels
 * (transforms) and by a (GEMMs); each value is
 * computed by one part in a fixed order, so any thread count gives the
 * same bits. Chosen by conv2d.c. */
#include <string.h>

#include "conv2d.h"
#include "thaw/blas.h"
#include "thaw/parallel.h"

/* dst[0..n) = lanes of v: an AVX-512 masked store where there is one (a
 * memcpy call per store cost 11% of ResNet-18's step, as 7x7..28x28 maps
 * make every group of tiles partial; AVX's vmaskmovps is microcoded on
 * AMD and cost even more), else lane by lane. A macro: vectors never
 * cross a call by value. */
#if defined(__AVX512VL__)
#include <immintrin.h>
#define STORE_LANES(dst, v, n) _mm256_mask_storeu_ps((dst), (__mmask8)((1u << (n)) - 1), (__m256)(v))
#else
#define STORE_LANES(dst, v, n)                                                 \
	do {                                                                   \
		for (int l_ = 0; l_ < (n); l_++)                               \
			(dst)[l_] = (v)[l_];                                   \
	} while (0)
#endif

/* Rows of a few dozen floats: libc calls cost more than the stores. */
#define NO_MEMSET __attribute__((optimize("no-tree-loop-distribute-patterns")))
/* v > 0 ? v : 0 per lane, as the batch norm's fused ReLU (a NaN gives 0) */
#define VMAX0(v) ((v8)((v8i)(v) & (v8i)((v) > 0.0f)))

enum { A = 36, TILE = 4, N_TARGET = 128 };

/* One pass: in (B, C, H, W) -> out (B, OC, OH, OW), output pixel (oy, ox)
 * reading input rows oy - pt .. oy - pt + 2 (outside: zero). */
typedef struct wpass {
	int C, H, W, OC, OH, OW, pt, pl;
	int TH, TW, T; /* tiles per image: TH x TW */
} wpass;

static wpass pass_of(int C, int H, int W, int OC, int OH, int OW, int pt, int pl)
{
	wpass p = {C, H, W, OC, OH, OW, pt, pl, (OH + TILE - 1) / TILE, (OW + TILE - 1) / TILE, 0};
	p.T = p.TH * p.TW;
	return p;
}

/* Tiles per chunk: the batch's tiles n = image * T + ty * TW + tx are
 * taken 64 or N_TARGET at a time (a chunk may start and end inside an
 * image), enough columns for the 36 GEMMs while V and M stay near L2.
 * Up to 256 channels in and out together 64 (ResNet-18's 64 -> 64 at
 * 56x56, CPU ms a batch of 32, forward + dx: transforms 80 -> 68, GEMMs 78
 * -> 69), above 128 (256 -> 256 at 14x14: GEMMs 127 at 128, 141 at 64;
 * ResNet-18 inference ~900 at 64 or 128 tiles, ~980 at 256, ~1010 at 512). */
static int chunk_tiles(const wpass *p, int B)
{
	long n = (long)B * p->T, target = p->C + p->OC <= 256 ? 64 : N_TARGET;
	return n < target ? (int)n : (int)target;
}

static size_t u_bytes(const wpass *p) { return round64((size_t)A * p->OC * p->C * sizeof(float)); }
static size_t v_bytes(const wpass *p, int N) { return round64(((size_t)A * p->C * N + 8) * sizeof(float)); }
static size_t m_bytes(const wpass *p, int N) { return round64(((size_t)A * p->OC * N + 8) * sizeof(float)); }

/* Chunk parts: where a chunk's V and M (and, for dW, its dU) are small
 * (ResNet-18's 56x56 and 28x28 layers, the reference CNN's conv2), WPARTS
 * parts of the pool each take a run of whole chunks with buffers of their
 * own and run a chunk's transforms and GEMMs on one thread. Splitting each
 * chunk over planes and products instead synchronised the pool three
 * times a chunk (98 chunks a pass for 64 -> 64 at 56x56, batch 32): two
 * threads ran those layers' training step at 1.45x one. The number of
 * parts follows the shapes only, so a result does not depend on the
 * thread count. */
enum { WPARTS = 4, WPART_BYTES = 3 << 20 };

static long n_chunks(const wpass *p, int B)
{
	long N = chunk_tiles(p, B), total = (long)B * p->T;
	return (total + N - 1) / N;
}

static int wparts(const wpass *p, int B, int dw)
{
	int N = chunk_tiles(p, B);
	size_t per = v_bytes(p, N) + m_bytes(p, N) + (dw ? u_bytes(p) : 0);
	long nc = n_chunks(p, B);
	if (per > WPART_BYTES || nc < 2)
		return 1;
	return nc < WPARTS ? (int)nc : WPARTS;
}

/* forward and data passes: U, then (V, M) per part */
static size_t pass_bytes(const wpass *p, int B)
{
	int N = chunk_tiles(p, B);
	return u_bytes(p) + (size_t)wparts(p, B, 0) * (v_bytes(p, N) + m_bytes(p, N));
}

/* the weight gradient: (dU, V, dM) per part */
static size_t dw_bytes(const wpass *p, int B)
{
	int N = chunk_tiles(p, B);
	return (size_t)wparts(p, B, 1) * (u_bytes(p) + v_bytes(p, N) + m_bytes(p, N));
}

static wpass forward_pass(const cgeom *g) { return pass_of(g->C, g->H, g->W, g->OC, g->OH, g->OW, g->pt, g->pl); }
/* dx (C, H, W) from dY (OC, OH, OW): the kernel turned, padding 2 - p */
static wpass data_pass(const cgeom *g) { return pass_of(g->OC, g->OH, g->OW, g->C, g->H, g->W, 2 - g->pt, 2 - g->pl); }

size_t thaw_conv2d_wino_scratch(const cgeom *g, int B, int training)
{
	wpass p = forward_pass(g);
	size_t f = pass_bytes(&p, B);
	if (training) {
		wpass d = data_pass(g);
		size_t b = pass_bytes(&d, B), w = dw_bytes(&p, B);
		f = b > f ? b : f;
		f = w > f ? w : f;
	}
	return f;
}

/* ---- weights: U[a][o][c] = G g G^T, g = W[o][c] (or turned, W[c][o]) */

/* r (6) = G g for g (3), per lane: G = [1/4 0 0; -1/6 -1/6 -1/6;
 * -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1] */
#define G6(r, g0, g1, g2)                                                      \
	do {                                                                   \
		v8 s02 = (g0) + (g2), q = (1.0f / 24) * (g0) + (1.0f / 6) * (g2); \
		r[0] = 0.25f * (g0);                                           \
		r[1] = (-1.0f / 6) * (s02 + (g1));                             \
		r[2] = (-1.0f / 6) * (s02 - (g1));                             \
		r[3] = q + (1.0f / 12) * (g1);                                 \
		r[4] = q - (1.0f / 12) * (g1);                                 \
		r[5] = (g2);                                                   \
	} while (0)

typedef struct wjob {
	const wpass *p;
	const float *w; /* (OCw, Cw, 3, 3) as stored in the node */
	int turned;     /* backward data: U[a][c][o] from W[o][c] turned */
	float *U;
	const float *in, *bias;
	const float *post; /* (3, OC): a folded batch norm, or NULL */
	float *out, *V, *M;
	long g0;      /* the chunk: tiles g0 .. g0 + N - 1 of the batch */
	long g_first; /* dW: the first chunk summed into this U (others add) */
	int N, acc, post_relu;
} wjob;

/* Rows o of U (the pass's output channels), eight input channels at a
 * time: the transform costs ~150 flops a kernel, which scalar code made
 * 7% of ResNet-18's inference. The taps of WBLK kernels are first copied
 * tap-major into tmp, so that the transform loads whole vectors: filling
 * the lanes one by one cost 8 ms a call for a 512 -> 512 layer (20% of
 * its forward at batch 32). */
enum { WBLK = 256 };
static void weights_rows(int lo, int hi, void *user)
{
	const wjob *j = user;
	const int OC = j->p->OC, C = j->p->C;
	float tmp[9][WBLK];
	for (int o = lo; o < hi; o++)
		for (int cb = 0; cb < C; cb += WBLK) {
			const int nc = C - cb < WBLK ? C - cb : WBLK;
			for (int c = 0; c < nc; c++) {
				if (j->turned) { /* the pass's o is the layer's input channel */
					const float *w = j->w + ((size_t)(cb + c) * OC + o) * 9;
					for (int k = 0; k < 9; k++)
						tmp[k][c] = w[8 - k];
				} else {
					const float *w = j->w + ((size_t)o * C + cb + c) * 9;
					for (int k = 0; k < 9; k++)
						tmp[k][c] = w[k];
				}
			}
			for (int c = nc; c < WBLK && c % 8; c++)
				for (int k = 0; k < 9; k++)
					tmp[k][c] = 0.0f;
			for (int c0 = 0; c0 < nc; c0 += 8) {
				const int lanes = nc - c0 < 8 ? nc - c0 : 8;
				v8 g[9];
				for (int k = 0; k < 9; k++)
					g[k] = ld8(&tmp[k][c0]);
				v8 t[3][6]; /* t[x][i]: G applied down column x */
				for (int x = 0; x < 3; x++)
					G6(t[x], g[x], g[3 + x], g[6 + x]);
				for (int i = 0; i < 6; i++) {
					v8 u[6];
					G6(u, t[0][i], t[1][i], t[2][i]);
					for (int k = 0; k < 6; k++) {
						float *dst = j->U + ((size_t)o * A + i * 6 + k) * C + cb + c0;
						if (c0 % 16 == 0)
							__builtin_prefetch(dst + 64, 1);
						if (lanes == 8)
							st8(dst, u[k]);
						else
							STORE_LANES(dst, u[k], lanes);
					}
				}
			}
		}
}

/* ---- input: V[a][c][n] = B^T d B over the tiles d of one plane */

/* r (6) = B^T d for d (6), per lane */
#define BT6(r, d)                                                              \
	do {                                                                   \
		r[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];                       \
		r[1] = -4.0f * (d[1] + d[2]) + d[3] + d[4];                    \
		r[2] = 4.0f * (d[1] - d[2]) - d[3] + d[4];                     \
		r[3] = 2.0f * (d[3] - d[1]) - d[2] + d[4];                     \
		r[4] = 2.0f * (d[1] - d[3]) - d[2] + d[4];                     \
		r[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];                       \
	} while (0)

/* c[j][l] = f[4l + j] for j < 4 from 32 floats at f */
static inline void deinterleave4(v8 c[4], const float *f)
{
	v8 a = ld8(f), b = ld8(f + 8), e = ld8(f + 16), d = ld8(f + 24);
	v8 t0 = __builtin_shufflevector(a, b, 0, 4, 8, 12, 1, 5, 9, 13);
	v8 t1 = __builtin_shufflevector(a, b, 2, 6, 10, 14, 3, 7, 11, 15);
	v8 u0 = __builtin_shufflevector(e, d, 0, 4, 8, 12, 1, 5, 9, 13);
	v8 u1 = __builtin_shufflevector(e, d, 2, 6, 10, 14, 3, 7, 11, 15);
	c[0] = __builtin_shufflevector(t0, u0, 0, 1, 2, 3, 8, 9, 10, 11);
	c[1] = __builtin_shufflevector(t0, u0, 4, 5, 6, 7, 12, 13, 14, 15);
	c[2] = __builtin_shufflevector(t1, u1, 0, 1, 2, 3, 8, 9, 10, 11);
	c[3] = __builtin_shufflevector(t1, u1, 4, 5, 6, 7, 12, 13, 14, 15);
}

/* f[4l + j] = c[j][l]: the inverse */
static inline void interleave4(float *f, const v8 c[4])
{
	v8 t0 = __builtin_shufflevector(c[0], c[1], 0, 8, 1, 9, 2, 10, 3, 11);
	v8 t1 = __builtin_shufflevector(c[0], c[1], 4, 12, 5, 13, 6, 14, 7, 15);
	v8 u0 = __builtin_shufflevector(c[2], c[3], 0, 8, 1, 9, 2, 10, 3, 11);
	v8 u1 = __builtin_shufflevector(c[2], c[3], 4, 12, 5, 13, 6, 14, 7, 15);
	st8(f, __builtin_shufflevector(t0, u0, 0, 1, 8, 9, 2, 3, 10, 11));
	st8(f + 8, __builtin_shufflevector(t0, u0, 4, 5, 12, 13, 6, 7, 14, 15));
	st8(f + 16, __builtin_shufflevector(t1, u1, 0, 1, 8, 9, 2, 3, 10, 11));
	st8(f + 24, __builtin_shufflevector(t1, u1, 4, 5, 12, 13, 6, 7, 14, 15));
}

/* Lanes run over the chunk's tiles n = image * T + ty * TW + tx in order,
 * across tile rows and images: 7x7 and 14x14 maps have 2 and 4 tiles a
 * row, which filled 2 and 4 of the 8 lanes when a group stayed in one
 * tile row. The tiles' rows are gathered, BLK tiles at a time, into
 * zero-padded buffers holding four columns per lane: r0 columns 4 tx ..
 * 4 tx + 3, r1 the next four (the transform takes six). */
enum { BLK = 64 };

typedef float v4u __attribute__((vector_size(16), aligned(4), may_alias));

/* d[0..n) = s[0..n) (or 0) for n a multiple of 4 */
static inline void copy4n(float *restrict d, const float *restrict s, int n)
{
	int k = 0;
	for (; k + 8 <= n; k += 8)
		st8(d + k, ld8(s + k));
	if (k < n)
		*(v4u *)(d + k) = *(const v4u *)(s + k);
}
static inline void zero4n(float *d, int n)
{
	int k = 0;
	for (; k + 8 <= n; k += 8)
		st8(d + k, (v8){0});
	if (k < n)
		*(v4u *)(d + k) = (v4u){0};
}
/* d[0..n) = s[0..n), any n */
NO_MEMSET static inline void copyv(float *restrict d, const float *restrict s, int n)
{
	int k = 0;
	for (; k + 8 <= n; k += 8)
		st8(d + k, ld8(s + k));
	for (; k < n; k++)
		d[k] = s[k];
}

/* A band of tile row ty: rows ty * 4 - pt + r (r < nr) of plane x, zero
 * padded, band[r][k] holding column k - pl for k < PW (a multiple of 4).
 * The same rows of the plane after x (the next channel's, which the part
 * takes next) are prefetched: the input comes from memory (ResNet-18's
 * 56x56 layers read 26 MB a pass), and a chunk's few rows of a plane were
 * too short a run for the hardware prefetcher; filling the bands was 2/3
 * of the input transform's time. */
enum { BAND = 4 * WINO_TW_MAX + 8 };
static void fill_band(float band[][BAND], int nr, const float *x, int H, int W, int iy0, int pl, int PW)
{
	for (int r = 0; r < nr; r++) {
		int iy = iy0 + r, n = W < PW - pl ? W : PW - pl;
		zero4n(band[r], PW);
		if (iy >= 0 && iy < H) {
			const float *row = x + (size_t)iy * W;
			copyv(band[r] + pl, row, n);
			for (int k = 0; k < W; k += 16)
				__builtin_prefetch(row + (size_t)H * W + k);
		}
	}
}

/* The tile row segments of tiles [lo, hi) of the chunk: calls
 * the block per run of len tiles in one tile row, off the
 * first one's index minus lo. */
#define FOR_SEGMENTS(p, g0, lo, hi, ...)                                       \
	for (int n_ = (lo); n_ < (hi);) {                                      \
		long g_ = (g0) + n_;                                           \
		int bi = (int)(g_ / (p)->T), t_ = (int)(g_ % (p)->T), ty = t_ / (p)->TW, tx = t_ % (p)->TW; \
		int len = (p)->TW - tx < (hi) - n_ ? (p)->TW - tx : (hi) - n_; \
		int off = n_ - (lo);                                           \
		__VA_ARGS__;                                                   \
		n_ += len;                                                     \
	}

/* Channels c of V over the chunk's N tiles. */
NO_MEMSET static void input_chans(int lo, int hi, void *user)
{
	const wjob *j = user;
	const wpass *p = j->p;
	const int C = p->C, H = p->H, W = p->W, N = j->N;
	const int PW = 4 * p->TW + 8;
	float r0[6][4 * BLK], r1[6][4 * BLK], band[6][BAND];
	for (int c = lo; c < hi; c++)
		for (int nl = 0, band_bi = -1, band_ty = -1; nl < N; nl += BLK) {
			int nh = N - nl < BLK ? N : nl + BLK, ng = (nh - nl + 7) / 8;
			FOR_SEGMENTS(p, j->g0, nl, nh, {
				if (bi != band_bi || ty != band_ty) {
					const float *x = j->in + ((size_t)bi * C + c) * H * W; // (H, W)
					fill_band(band, 6, x, H, W, ty * TILE - p->pt, p->pl, PW);
					band_bi = bi, band_ty = ty;
				}
				for (int r = 0; r < 6; r++) {
					copy4n(r0[r] + 4 * off, band[r] + 4 * tx, 4 * len);
					copy4n(r1[r] + 4 * off, band[r] + 4 * tx + 4, 4 * len);
				}
			});
			for (int r = 0; r < 6; r++) { /* lanes past the last tile */
				zero4n(r0[r] + 4 * (nh - nl), 32 * ng - 4 * (nh - nl));
				zero4n(r1[r] + 4 * (nh - nl), 32 * ng - 4 * (nh - nl));
			}
			for (int gi = 0; gi < ng; gi++) {
				v8 t[6][6]; // t[r][k]: row r transformed along x
				for (int r = 0; r < 6; r++) {
					v8 d[6], e[4];
					deinterleave4(d, r0[r] + 32 * gi);
					deinterleave4(e, r1[r] + 32 * gi);
					d[4] = e[0];
					d[5] = e[1];
					BT6(t[r], d);
				}
				int n0 = nl + 8 * gi, lanes = nh - n0 < 8 ? nh - n0 : 8;
				for (int k = 0; k < 6; k++) {
					v8 col[6] = {t[0][k], t[1][k], t[2][k], t[3][k], t[4][k], t[5][k]}, v[6];
					BT6(v, col);
					for (int r = 0; r < 6; r++) {
						float *dst = j->V + ((size_t)c * A + r * 6 + k) * N + n0;
						if (lanes == 8)
							st8(dst, v[r]);
						else
							STORE_LANES(dst, v[r], lanes);
					}
				}
			}
		}
}

/* ---- the 36 GEMMs: M[a] (OC, N) = U[a] (OC, C) V[a] (C, N) */
static void gemms(int lo, int hi, void *user)
{
	const wjob *j = user;
	const int OC = j->p->OC, C = j->p->C, N = j->N;
	for (int a = lo; a < hi; a++)
		thaw_sgemm(0, 0, OC, N, C, 1.0f, j->U + (size_t)a * C, A * C, j->V + (size_t)a * N, A * N, 0.0f,
			   j->M + (size_t)a * N, A * N);
}

/* ---- output: y tile = A^T M A, A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0;
 * 0 1 1 4 4 0; 0 1 -1 8 -8 1] */
#define AT4(o, m)                                                              \
	do {                                                                   \
		v8 s12 = m[1] + m[2], d12 = m[1] - m[2];                       \
		v8 s34 = m[3] + m[4], d34 = m[3] - m[4];                       \
		o[0] = m[0] + s12 + s34;                                       \
		o[1] = d12 + 2.0f * d34;                                       \
		o[2] = s12 + 4.0f * s34;                                       \
		o[3] = d12 + 8.0f * d34 + m[5];                                \
	} while (0)

/* Channels o of the output over the chunk's N tiles, eight tiles (lanes)
 * at a time as in input_chans; each lane's 4x4 block is stored apart. */
static void output_chans(int lo, int hi, void *user)
{
	const wjob *j = user;
	const wpass *p = j->p;
	const int OC = p->OC, OH = p->OH, OW = p->OW, TW = p->TW, N = j->N;
	const size_t plane = (size_t)OH * OW;
	float buf[4][32];
	for (int o = lo; o < hi; o++) {
		/* y = (v + add) * mul + beta, max 0 if relu: the bias alone, or
		 * with a folded batch norm (add = bias - mean) */
		const float add = j->post ? j->post[o] : j->bias ? j->bias[o] : 0.0f;
		const float mul = j->post ? j->post[OC + o] : 1.0f, beta = j->post ? j->post[2 * OC + o] : 0.0f;
		const int post = j->post != NULL, relu = j->post_relu;
		int bi = (int)(j->g0 / p->T), ty = (int)(j->g0 % p->T) / TW, tx = (int)(j->g0 % p->T) % TW; /* lane 0's tile */
		for (int n0 = 0; n0 < N; n0 += 8) {
			v8 t[4][6]; // t[i][k]: A^T along the rows of M
			for (int k = 0; k < 6; k++) {
				v8 m[6], r[4];
				for (int r6 = 0; r6 < 6; r6++)
					m[r6] = ld8(j->M + ((size_t)o * A + r6 * 6 + k) * N + n0);
				AT4(r, m);
				for (int q = 0; q < 4; q++)
					t[q][k] = r[q];
			}
			for (int q = 0; q < 4; q++) {
				v8 r[4];
				AT4(r, t[q]);
				interleave4(buf[q], r);
				if (j->acc)
					continue;
				for (int k = 0; k < 32; k += 8) {
					v8 v = ld8(buf[q] + k) + add;
					if (post) {
						v = v * mul + beta;
						if (relu)
							v = VMAX0(v);
					}
					st8(buf[q] + k, v);
				}
			}
			int lanes = N - n0 < 8 ? N - n0 : 8;
			for (int l = 0; l < lanes; l++) {
				int y0 = ty * TILE, x0 = tx * TILE;
				int ny = OH - y0 < 4 ? OH - y0 : 4, nx = OW - x0 < 4 ? OW - x0 : 4;
				float *y = j->out + ((size_t)bi * OC + o) * plane + (size_t)y0 * OW + x0;
				for (int q = 0; q < ny; q++, y += OW) {
					const float *s = buf[q] + 4 * l;
					if (l % 4 == 0 || l == lanes - 1) /* the next channel's rows (as fill_band) */
						__builtin_prefetch(y + plane, 1);
					if (nx == 4) {
						v4u v = *(const v4u *)s;
						if (j->acc)
							v += *(v4u *)y;
						*(v4u *)y = v;
					} else if (j->acc) {
						for (int k = 0; k < nx; k++)
							y[k] += s[k];
					} else {
						for (int k = 0; k < nx; k++)
							y[k] = s[k];
					}
				}
				if (++tx == TW) {
					tx = 0;
					if (++ty == p->TH)
						ty = 0, bi++;
				}
			}
		}
	}
}

/* ---- weight gradient: the adjoint of the forward pass,
 *   dM[a] (OC, N) = (A dY A^T)[a] per output tile dY (4x4, zero outside),
 *   dU[a] (OC, C) = sum over chunks of dM[a] V[a]^T,
 *   dW[o][c] = G^T dU[o][c] G,
 * the exact gradient of the Winograd forward, at the cost of one forward. */

/* r (6) = A d for d (4), per lane (A^T as in AT4) */
#define A6(r, d)                                                               \
	do {                                                                   \
		v8 s02 = d[0] + d[2], s13 = d[1] + d[3];                       \
		v8 q02 = d[0] + 4.0f * d[2], q13 = 2.0f * d[1] + 8.0f * d[3];  \
		r[0] = d[0];                                                   \
		r[1] = s02 + s13;                                              \
		r[2] = s02 - s13;                                              \
		r[3] = q02 + q13;                                              \
		r[4] = q02 - q13;                                              \
		r[5] = d[3];                                                   \
	} while (0)

/* r (3) = G^T u for u (6), per lane */
#define GT3(r, u)                                                              \
	do {                                                                   \
		v8 s12 = u[1] + u[2], s34 = u[3] + u[4];                       \
		r[0] = 0.25f * u[0] - (1.0f / 6) * s12 + (1.0f / 24) * s34;    \
		r[1] = (1.0f / 6) * (u[2] - u[1]) + (1.0f / 12) * (u[3] - u[4]); \
		r[2] = (1.0f / 6) * (s34 - s12) + u[5];                        \
	} while (0)

/* Channels o of dY into dM over the chunk's N tiles, lanes as in
 * input_chans. */
NO_MEMSET static void grad_chans(int lo, int hi, void *user)
{
	const wjob *j = user;
	const wpass *p = j->p;
	const int OC = p->OC, OH = p->OH, OW = p->OW, N = j->N;
	const int PW = 4 * p->TW;
	float rows[4][4 * BLK], band[4][BAND];
	for (int o = lo; o < hi; o++)
		for (int nl = 0, band_bi = -1, band_ty = -1; nl < N; nl += BLK) {
			int nh = N - nl < BLK ? N : nl + BLK, ng = (nh - nl + 7) / 8;
			FOR_SEGMENTS(p, j->g0, nl, nh, {
				if (bi != band_bi || ty != band_ty) {
					const float *dy = j->in + ((size_t)bi * OC + o) * OH * OW; // (OH, OW)
					fill_band(band, 4, dy, OH, OW, ty * TILE, 0, PW);
					band_bi = bi, band_ty = ty;
				}
				for (int r = 0; r < 4; r++)
					copy4n(rows[r] + 4 * off, band[r] + 4 * tx, 4 * len);
			});
			for (int r = 0; r < 4; r++)
				zero4n(rows[r] + 4 * (nh - nl), 32 * ng - 4 * (nh - nl));
			for (int gi = 0; gi < ng; gi++) {
				v8 t[4][6]; // t[r][k]: row r of the tile taken along x
				for (int r = 0; r < 4; r++) {
					v8 d[4];
					deinterleave4(d, rows[r] + 32 * gi);
					A6(t[r], d);
				}
				int n0 = nl + 8 * gi, lanes = nh - n0 < 8 ? nh - n0 : 8;
				for (int k = 0; k < 6; k++) {
					v8 col[4] = {t[0][k], t[1][k], t[2][k], t[3][k]}, v[6];
					A6(v, col);
					for (int r = 0; r < 6; r++) {
						float *dst = j->M + ((size_t)o * A + r * 6 + k) * N + n0;
						if (lanes == 8)
							st8(dst, v[r]);
						else
							STORE_LANES(dst, v[r], lanes);
					}
				}
			}
		}
}

/* dU[a] (OC, C) = dM[a] (OC, N) V[a]^T, added to the chunks before */
static void grad_gemms(int lo, int hi, void *user)
{
	const wjob *j = user;
	const int OC = j->p->OC, C = j->p->C, N = j->N;
	for (int a = lo; a < hi; a++)
		thaw_sgemm(0, 1, OC, C, N, 1.0f, j->M + (size_t)a * N, A * N, j->V + (size_t)a * N, A * N,
			   j->g0 != j->g_first ? 1.0f : 0.0f, j->U + (size_t)a * C, A * C);
}

typedef struct dw_job {
	const wjob *j;
	float *dW, *db;
	const float *dy;
	int B;
} dw_job;

/* Rows o of dW (OC, C, 3, 3) = G^T dU G, eight channels at a time, through
 * a tap-major tmp as in weights_rows; db[o]. */
static void grad_rows(int lo, int hi, void *user)
{
	const dw_job *d = user;
	const wpass *p = d->j->p;
	const int OC = p->OC, C = p->C;
	const size_t P = (size_t)p->OH * p->OW;
	float tmp[9][WBLK];
	for (int o = lo; o < hi; o++) {
		for (int cb = 0; cb < C; cb += WBLK) {
			const int nc = C - cb < WBLK ? C - cb : WBLK;
			for (int c0 = 0; c0 < nc; c0 += 8) {
				int lanes = nc - c0 < 8 ? nc - c0 : 8;
				v8 s[3][6]; // s[a][k] = (G^T dU)[a][k]
				for (int k = 0; k < 6; k++) {
					v8 u[6], r[3];
					for (int i = 0; i < 6; i++) {
						const float *src = d->j->U + ((size_t)o * A + i * 6 + k) * C + cb + c0;
						if (c0 % 16 == 0)
							__builtin_prefetch(src + 64);
						if (lanes == 8)
							u[i] = ld8(src);
						else {
							u[i] = (v8){0};
							memcpy(&u[i], src, sizeof(float) * lanes);
						}
					}
					GT3(r, u);
					for (int a = 0; a < 3; a++)
						s[a][k] = r[a];
				}
				for (int a = 0; a < 3; a++) {
					v8 g[3];
					GT3(g, s[a]);
					for (int b = 0; b < 3; b++)
						st8(&tmp[a * 3 + b][c0], g[b]);
				}
			}
			float *dw = d->dW + ((size_t)o * C + cb) * 9;
			for (int c = 0; c < nc; c++)
				for (int k = 0; k < 9; k++)
					dw[(size_t)c * 9 + k] = tmp[k][c];
		}
		if (d->db) {
			float sum = 0.0f;
			for (int b = 0; b < d->B; b++)
				sum += sumf(d->dy + ((size_t)b * OC + o) * P, P);
			d->db[o] = sum;
		}
	}
}

/* Part k of pj: its run of chunks, with its own V and M (and dU) at
 * base + k * stride: the first part's are the buffers of the one-part
 * layout. */
typedef struct part_job {
	const wjob *j;
	int parts;
	long total;
	int N;
	size_t stride, v_off; /* bytes between parts' buffers; V to M */
	const float *x, *dy;  /* dW */
} part_job;

static wjob part_of(const part_job *pj, int k, long *c0, long *c1)
{
	wjob jk = *pj->j;
	long nc = (pj->total + pj->N - 1) / pj->N;
	*c0 = nc * k / pj->parts;
	*c1 = nc * (k + 1) / pj->parts;
	jk.V = (float *)((char *)pj->j->V + (size_t)k * pj->stride);
	jk.M = (float *)((char *)jk.V + pj->v_off);
	jk.U = pj->j->U;
	return jk;
}

static void pass_parts(int lo, int hi, void *user)
{
	const part_job *pj = user;
	for (int k = lo; k < hi; k++) {
		long c0, c1;
		wjob jk = part_of(pj, k, &c0, &c1);
		for (long c = c0; c < c1; c++) {
			jk.g0 = c * pj->N;
			jk.N = pj->total - jk.g0 < pj->N ? (int)(pj->total - jk.g0) : pj->N;
			input_chans(0, jk.p->C, &jk);
			gemms(0, A, &jk);
			output_chans(0, jk.p->OC, &jk);
		}
	}
}

/* dW: part k sums its chunks' dU into the dU at the start of its own
 * (dU, V, dM) block, reading x and then dY into V and dM. */
static void dw_parts(int lo, int hi, void *user)
{
	const part_job *pj = user;
	for (int k = lo; k < hi; k++) {
		long c0, c1;
		wjob jk = part_of(pj, k, &c0, &c1);
		jk.U = (float *)((char *)pj->j->U + (size_t)k * pj->stride);
		jk.g_first = c0 * pj->N;
		for (long c = c0; c < c1; c++) {
			jk.g0 = c * pj->N;
			jk.N = pj->total - jk.g0 < pj->N ? (int)(pj->total - jk.g0) : pj->N;
			jk.in = pj->x;
			input_chans(0, jk.p->C, &jk);
			jk.in = pj->dy;
			grad_chans(0, jk.p->OC, &jk);
			grad_gemms(0, A, &jk);
		}
	}
}

/* dU of part 0 += those of parts 1.. in part order, value by value */
typedef struct usum_job {
	float *u0;
	size_t stride; /* floats between the parts' dU */
	int parts;
} usum_job;

static void usum_range(size_t a, size_t b, void *user)
{
	const usum_job *s = user;
	for (int k = 1; k < s->parts; k++)
		axpy(s->u0 + a, 1.0f, s->u0 + (size_t)k * s->stride + a, (int)(b - a));
}

/* out = conv(in) through U, for B images in chunks; buf holds U, V, M. */
static void run_pass(const wpass *p, const float *w, int turned, const float *in, float *out,
		     const float *bias, const float *post, int post_relu, int acc, int B, char *buf)
{
	const int N = chunk_tiles(p, B);
	const long total = (long)B * p->T;
	wjob j = {.p = p, .w = w, .turned = turned, .in = in, .out = out, .bias = bias, .post = post,
		  .post_relu = post_relu, .acc = acc, .N = N};
	j.U = (float *)buf;
	j.V = (float *)(buf + u_bytes(p));
	j.M = (float *)(buf + u_bytes(p) + v_bytes(p, N));
	thaw_parallel_for(p->OC, weights_rows, &j);
	int parts = wparts(p, B, 0);
	if (parts > 1) {
		part_job pj = {&j, parts, total, N, v_bytes(p, N) + m_bytes(p, N), v_bytes(p, N), NULL, NULL};
		thaw_parallel_for(parts, pass_parts, &pj);
		return;
	}
	for (j.g0 = 0; j.g0 < total; j.g0 += N) {
		j.N = total - j.g0 < N ? (int)(total - j.g0) : N; /* a short last chunk: fewer columns */
		thaw_parallel_for(p->C, input_chans, &j);
		thaw_parallel_for(A, gemms, &j);
		thaw_parallel_for(p->OC, output_chans, &j);
	}
}

void thaw_conv2d_wino_forward(const thaw_node *n, const cgeom *g, int B, const float *x, float *y, void *scratch,
			      const float *post, int post_relu)
{
	wpass p = forward_pass(g);
	run_pass(&p, n->p[0].w, 0, x, y, n->a.bias ? n->p[1].w : NULL, post, post_relu, 0, B, scratch);
}

void thaw_conv2d_wino_backward_data(const thaw_node *n, const cgeom *g, int B, const float *dy, float *dx, int acc,
				    void *scratch)
{
	wpass p = data_pass(g);
	run_pass(&p, n->p[0].w, 1, dy, dx, NULL, NULL, 0, acc, B, scratch);
}

void thaw_conv2d_wino_backward_weights(thaw_node *n, const cgeom *g, int B, const float *x, const float *dy,
				       void *scratch)
{
	wpass p = forward_pass(g);
	const int N = chunk_tiles(&p, B);
	const long total = (long)B * p.T;
	char *buf = scratch;
	wjob j = {.p = &p, .N = N};
	j.U = (float *)buf; /* dU */
	j.V = (float *)(buf + u_bytes(&p));
	j.M = (float *)(buf + u_bytes(&p) + v_bytes(&p, N)); /* dM */
	int parts = wparts(&p, B, 1);
	for (j.g0 = 0; parts == 1 && j.g0 < total; j.g0 += N) {
		j.N = total - j.g0 < N ? (int)(total - j.g0) : N;
		j.in = x;
		thaw_parallel_for(p.C, input_chans, &j);
		j.in = dy;
		thaw_parallel_for(p.OC, grad_chans, &j);
		thaw_parallel_for(A, grad_gemms, &j);
	}
	if (parts > 1) {
		size_t stride = u_bytes(&p) + v_bytes(&p, N) + m_bytes(&p, N);
		part_job pj = {&j, parts, total, N, stride, v_bytes(&p, N), x, dy};
		thaw_parallel_for(parts, dw_parts, &pj);
		usum_job us = {j.U, stride / sizeof(float), parts};
		thaw_parallel_range((size_t)A * p.OC * p.C, usum_range, &us);
	}
	dw_job d = {.j = &j, .dW = n->p[0].g, .db = n->a.bias ? n->p[1].g : NULL, .dy = dy, .B = B};
	thaw_parallel_for(p.OC, grad_rows, &d);
}
