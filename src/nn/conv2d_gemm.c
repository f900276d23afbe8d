/* conv2d, the GEMM paths: 1x1 stride-1 convolutions (the input is the
 * column matrix), small K (register-blocked loops), and im2col + one GEMM
 * per image with the batch split over the thread pool. Chosen and called
 * by conv2d.c. */
#include <string.h>

#include "conv2d.h"
#include "thaw/blas.h"
#include "thaw/parallel.h"

static thaw_conv_geom im_geom(const cgeom *g)
{
	return (thaw_conv_geom){.c = g->Cg, .h = g->H, .w = g->W, .kh = g->kh, .kw = g->kw,
				.sh = g->sh, .sw = g->sw, .ph = g->pt, .pw = g->pl, .dh = g->dh,
				.dw = g->dw, .oh = g->OH, .ow = g->OW};
}

/* ---- 1x1, stride 1, no padding: x (Cg, P) of each image and group is the col matrix. */

typedef struct pw_job {
	const thaw_node *n;
	const cgeom *g;
	const float *x;
	float *y;
	const cpost *op;
} pw_job;

/* One GEMM per image and group, then the bias or folded batch norm over
 * the output: GEMMs over blocks of columns that stay in L2 for that pass
 * were slower (MobileNetV2's 16 -> 96 at 112x112: 28 instead of 24 ms of
 * CPU a batch of 32, 33 instead of 28 with the pass). */
static void pw_image(const pw_job *j, int b)
{
	const cgeom *g = j->g;
	const int P = g->P, active = j->op->bias || j->op->post;
	for (int gr = 0; gr < g->G; gr++) {
		const float *Wg = j->n->p[0].w + (size_t)gr * g->OCg * g->Cg;        // (OCg, Cg)
		float *yb = j->y + ((size_t)b * g->OC + (size_t)gr * g->OCg) * P;     // (OCg, P)
		const float *xb = j->x + ((size_t)b * g->C + (size_t)gr * g->Cg) * P; // (Cg, P)
		thaw_sgemm(0, 0, g->OCg, P, g->Cg, 1.0f, Wg, g->Cg, xb, P, 0.0f, yb, P);
		for (int o = 0; active && o < g->OCg; o++) {
			cchan c = cpost_chan(j->op, gr * g->OCg + o);
			cchan_apply(&c, yb + (size_t)o * P, yb + (size_t)o * P, P);
		}
	}
}

static void pw_images(int lo, int hi, void *user)
{
	for (int b = lo; b < hi; b++)
		pw_image(user, b);
}

/* Images split over the pool, one single-threaded GEMM each: no wake-up
 * of the pool per image, and MobileNetV2's 7x7 and 14x14 maps no longer
 * give each thread a sliver of 49 or 196 columns. With two threads, wall
 * ms a batch of 32 (batch norm and ReLU6 folded, median of five, a busy
 * machine): 160 -> 960 at 7x7 5.9 instead of 6.9 when each image's GEMM
 * was split, 960 -> 160 at 7x7 5.9 instead of 7.3, 576 -> 96 at 14x14 9.1
 * instead of 10.1, 24 -> 144 at 56x56 18.7 instead of 24. A batch smaller
 * than two images a thread splits each GEMM instead. */
void thaw_conv2d_pointwise_forward(const thaw_node *n, const cgeom *g, int B, const float *x, float *y,
				   const cpost *op)
{
	pw_job j = {.n = n, .g = g, .x = x, .y = y, .op = op};
	if (B >= 2 * thaw_parallel_threads())
		thaw_parallel_for(B, pw_images, &j);
	else
		pw_images(0, B, &j);
}

/* Backward splits the images over the pool's parts like the im2col path
 * (parts_of, below): each part's GEMMs run single-threaded, dx per image,
 * dW summed over the part's images into its own buffer in scratch, then
 * the parts' buffers added in part order, so a thread count gives one
 * result. thaw_sgemm splitting each image's small GEMM two ways instead
 * (MobileNetV2's 1x1 dW GEMMs are 96x16 outputs over 12,544 columns)
 * woke the pool for slivers of work, once per image. */
static int parts_of(const cgeom *g, int B);
static int parts_cap(const cgeom *g, int B);
static size_t pw_dw_bytes(const cgeom *g) { return round64((size_t)g->OC * g->Cg * sizeof(float)); }

size_t thaw_conv2d_pointwise_scratch(const cgeom *g, int B) { return (size_t)parts_cap(g, B) * pw_dw_bytes(g); }

typedef struct pwb_job {
	thaw_node *n;
	const cgeom *g;
	const thaw_bwd *bw;
	int parts;
} pwb_job;

static float *pw_part_dw(const pwb_job *j, int p) { return (float *)((char *)j->bw->scratch + (size_t)p * pw_dw_bytes(j->g)); }

static void pw_backward_parts(int lo, int hi, void *user)
{
	const pwb_job *j = user;
	const cgeom *g = j->g;
	const thaw_bwd *bw = j->bw;
	const int P = g->P;
	for (int p = lo; p < hi; p++) {
		int b0 = (int)((int64_t)bw->B * p / j->parts), b1 = (int)((int64_t)bw->B * (p + 1) / j->parts);
		float *dW = pw_part_dw(j, p); // (OC, Cg)
		for (int b = b0; b < b1; b++)
			for (int gr = 0; gr < g->G; gr++) {
				const float *Wg = j->n->p[0].w + (size_t)gr * g->OCg * g->Cg; // (OCg, Cg)
				const float *dyb = bw->dy + ((size_t)b * g->OC + (size_t)gr * g->OCg) * P; // (OCg, P)
				size_t xo = ((size_t)b * g->C + (size_t)gr * g->Cg) * P;
				if (bw->weight_grad) // dW (OCg, Cg) += dy (OCg, P) x^T (P, Cg)
					thaw_sgemm(0, 1, g->OCg, g->Cg, P, 1.0f, dyb, P, bw->x[0] + xo, P, b > b0 ? 1.0f : 0.0f,
						   dW + (size_t)gr * g->OCg * g->Cg, g->Cg);
				if (bw->dx[0]) // dx (Cg, P) = W^T (Cg, OCg) dy (OCg, P)
					thaw_sgemm(1, 0, g->Cg, P, g->OCg, 1.0f, Wg, g->Cg, dyb, P, bw->acc[0] ? 1.0f : 0.0f,
						   bw->dx[0] + xo, P);
			}
	}
}

void thaw_conv2d_pointwise_backward(thaw_node *n, const cgeom *g, const thaw_bwd *bw)
{
	pwb_job j = {n, g, bw, parts_of(g, bw->B)};
	thaw_parallel_for(j.parts, pw_backward_parts, &j);
	if (!bw->weight_grad)
		return;
	const size_t nw = (size_t)g->OC * g->Cg;
	memcpy(n->p[0].g, pw_part_dw(&j, 0), nw * sizeof(float));
	for (int p = 1; p < j.parts; p++)
		axpy(n->p[0].g, 1.0f, pw_part_dw(&j, p), (int)nw);
}

/* ---- small K (a first layer on grey images: K = 9). OpenBLAS packs and
 * threads for nothing here, and its dW GEMM with N = K is skinny, so these
 * two products run as register-blocked loops over rows of P pixels. */
enum { SMALL_K = 16 };
/* y (M, P) = bias + w (M, K) col (K, P), col rows ldc apart. */
static void smallk_forward(float *y, const float *w, const float *bias, const float *col, int ldc,
			   int M, int K, int P)
{
	int o = 0;
	for (; o + 4 <= M; o += 4) {
		const float *w0 = w + (size_t)o * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
		float b0 = bias ? bias[o] : 0, b1 = bias ? bias[o + 1] : 0, b2 = bias ? bias[o + 2] : 0,
		      b3 = bias ? bias[o + 3] : 0;
		float *y0 = y + (size_t)o * P, *y1 = y0 + P, *y2 = y1 + P, *y3 = y2 + P;
		int p = 0;
		for (; p + 8 <= P; p += 8) {
			v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
			a0 += b0, a1 += b1, a2 += b2, a3 += b3;
			for (int t = 0; t < K; t++) {
				v8 c = ld8(col + (size_t)t * ldc + p);
				a0 += w0[t] * c;
				a1 += w1[t] * c;
				a2 += w2[t] * c;
				a3 += w3[t] * c;
			}
			st8(y0 + p, a0);
			st8(y1 + p, a1);
			st8(y2 + p, a2);
			st8(y3 + p, a3);
		}
		for (; p < P; p++) {
			float s0 = b0, s1 = b1, s2 = b2, s3 = b3;
			for (int t = 0; t < K; t++) {
				float c = col[(size_t)t * ldc + p];
				s0 += w0[t] * c, s1 += w1[t] * c, s2 += w2[t] * c, s3 += w3[t] * c;
			}
			y0[p] = s0, y1[p] = s1, y2[p] = s2, y3[p] = s3;
		}
	}
	for (; o < M; o++)
		for (int p = 0; p < P; p++) {
			float s = bias ? bias[o] : 0;
			for (int t = 0; t < K; t++)
				s += w[(size_t)o * K + t] * col[(size_t)t * ldc + p];
			y[(size_t)o * P + p] = s;
		}
}

/* dw (M, K) += dy (M, P) col^T (P, K), col rows ldc apart: dot products,
 * four rows of col per pass over a row of dy. */
static void smallk_dw(float *dw, const float *dy, const float *col, int ldc, int M, int K, int P)
{
	for (int o = 0; o < M; o++) {
		const float *d = dy + (size_t)o * P;
		for (int t0 = 0; t0 < K; t0 += 4) {
			int nt = K - t0 < 4 ? K - t0 : 4;
			const float *c[4];
			for (int i = 0; i < 4; i++)
				c[i] = col + (size_t)(t0 + (i < nt ? i : 0)) * ldc;
			v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
			int p = 0;
			for (; p + 8 <= P; p += 8) {
				v8 dv = ld8(d + p);
				a0 += dv * ld8(c[0] + p);
				a1 += dv * ld8(c[1] + p);
				a2 += dv * ld8(c[2] + p);
				a3 += dv * ld8(c[3] + p);
			}
			float s[4] = {hsum8(&a0), hsum8(&a1), hsum8(&a2), hsum8(&a3)};
			for (; p < P; p++)
				for (int i = 0; i < 4; i++)
					s[i] += d[p] * c[i][p];
			for (int i = 0; i < nt; i++)
				dw[(size_t)o * K + t0 + i] += s[i];
		}
	}
}

/* ---- im2col + GEMM, one image at a time, the batch split over the pool's
 * parts. Each part lowers its image into its own col buffer (K, P), which
 * stays in that core's L2 for the GEMM that reads it; backward lowers the
 * image again rather than keeping a (K, B*P) matrix from forward: 14 MB
 * for the reference CNN's conv2, written and read back through DRAM,
 * cost more than a second im2col from cache. Inside a part OpenBLAS runs
 * single-threaded: a (64, 196) x (196, 288) GEMM per image and core runs
 * at the kernel's peak, which two threads on one chunk never reached.
 * Each part sums its dW and db into its own buffer; backward adds the
 * buffers in part order, so a thread count gives one result. */

/* Parts with their own buffers: at most 8, and their dW copies within
 * 16 MB. A function of the shapes alone, so scratch and the passes agree
 * whatever the thread count is when they run. */
static int parts_cap(const cgeom *g, int B)
{
	size_t wb = (size_t)g->OC * g->K * sizeof(float);
	size_t cap = ((size_t)16 << 20) / (wb ? wb : 1);
	if (cap > 8)
		cap = 8;
	if (cap < 1)
		cap = 1;
	return (int)cap < B ? (int)cap : B;
}

/* How a batch of B is split: a function of the shapes and the thread
 * count, so backward splits as forward did. */
static int parts_of(const cgeom *g, int B)
{
	int cap = parts_cap(g, B), parts = thaw_parallel_parts(B);
	return parts < cap ? parts : cap;
}

/* scratch: per part a col buffer (K, P), dW (OC, K), db (OC). It holds
 * nothing from forward to backward, so every convolution of a model
 * shares one (thaw_layer_ops.scratch_shared). */

static size_t part_col(const cgeom *g) { return round64((size_t)g->K * g->P * sizeof(float)); }
static size_t part_dw(const cgeom *g) { return round64((size_t)g->OC * g->K * sizeof(float)); }
static size_t part_bytes(const cgeom *g)
{
	return part_col(g) + part_dw(g) + round64((size_t)g->OC * sizeof(float));
}

/* ---- Small maps (ResNet's last stages: P = 49 or 196) run forward as a
 * few GEMMs over several images at once, from the calling thread, so
 * thaw_sgemm splits each over the pool: per image, W (OC, K) was packed
 * again for every 49 columns, and a layer whose dW copies allow only one
 * part (512x4608 floats) ran on one core. Images go in chunks whose col
 * matrix (K, nb*P) has about BATCH_N columns; the GEMM writes a (OC, nb*P)
 * buffer that is copied out to NCHW. Small weights (the reference CNN's
 * conv2, 64x288) stay with the per-image parts, whose col stays in L2. */
enum { BATCH_P_MAX = 256, BATCH_N = 512, BATCH_W_MIN = 1 << 18 /* floats */ };

static int batch_images(const cgeom *g, int B)
{
	if (g->P >= BATCH_P_MAX || g->G != 1 || g->K <= SMALL_K || (size_t)g->OC * g->K < BATCH_W_MIN)
		return 0;
	int nb = (BATCH_N + g->P - 1) / g->P;
	return nb < B ? nb : B;
}

static size_t batch_bytes(const cgeom *g, int nb)
{
	return round64((size_t)g->K * nb * g->P * sizeof(float)) + round64((size_t)g->OC * nb * g->P * sizeof(float));
}

size_t thaw_conv2d_gemm_scratch(const cgeom *g, int B)
{
	size_t parts = (size_t)parts_cap(g, B) * part_bytes(g);
	int nb = batch_images(g, B);
	size_t batched = nb ? batch_bytes(g, nb) : 0;
	return parts > batched ? parts : batched;
}

/* One chunk of forward_batched: images [b0, b0 + m) lowered side by side
 * into col (K, N), and out (OC, N) copied back through the output op; both
 * split over the pool (they ran on the calling thread while the others
 * waited for the GEMM). */
typedef struct batch_job {
	const cgeom *g;
	const float *x;
	float *y, *col, *out;
	const cpost *op;
	thaw_conv_geom ig;
	int b0, N;
} batch_job;

static void batch_lower(int lo, int hi, void *user)
{
	const batch_job *j = user;
	const size_t CHW = (size_t)j->g->C * j->g->H * j->g->W;
	for (int i = lo; i < hi; i++)
		thaw_im2col(j->col + (size_t)i * j->g->P, j->N, j->x + (size_t)(j->b0 + i) * CHW, &j->ig);
}

static void batch_store(int lo, int hi, void *user)
{
	const batch_job *j = user;
	const int P = j->g->P, OC = j->g->OC, active = j->op->bias || j->op->post;
	for (int o = lo; o < hi; o++) {
		cchan c = cpost_chan(j->op, o);
		for (int i = 0; i < j->N / P; i++) {
			float *yo = j->y + ((size_t)(j->b0 + i) * OC + o) * P;
			const float *src = j->out + (size_t)o * j->N + (size_t)i * P;
			if (active)
				cchan_apply(&c, yo, src, P);
			else
				memcpy(yo, src, sizeof(float) * P);
		}
	}
}

static void forward_batched(const thaw_node *n, const cgeom *g, int B, int nb, const float *x, float *y,
			    char *buf, const cpost *op)
{
	const int P = g->P, K = g->K, OC = g->OC;
	const float *W = n->p[0].w; // (OC, K)
	batch_job j = {.g = g, .x = x, .y = y, .op = op, .ig = im_geom(g)};
	j.col = (float *)buf;                                                 // (K, nb*P)
	j.out = (float *)(buf + round64((size_t)K * nb * P * sizeof(float))); // (OC, nb*P)
	for (j.b0 = 0; j.b0 < B; j.b0 += nb) {
		int m = B - j.b0 < nb ? B - j.b0 : nb;
		j.N = m * P;
		thaw_parallel_for(m, batch_lower, &j);
		thaw_sgemm(0, 0, OC, j.N, K, 1.0f, W, K, j.col, j.N, 0.0f, j.out, j.N);
		thaw_parallel_for(OC, batch_store, &j);
	}
}

typedef struct gemm_job {
	thaw_node *n;
	const cgeom *g;
	int B, parts;
	const float *x, *dy;
	float *y, *dx;
	int weight_grad, acc;
	char *part0; // the first part's buffers
	const cpost *op; // forward: the output pass
} gemm_job;

static gemm_job job_of(thaw_node *n, const cgeom *g, int B, void *scratch)
{
	gemm_job j = {.n = n, .g = g, .B = B};
	j.part0 = scratch;
	return j;
}

static float *part_col_of(const gemm_job *j, int p) { return (float *)(j->part0 + (size_t)p * part_bytes(j->g)); }
static float *part_dw_of(const gemm_job *j, int p) { return (float *)((char *)part_col_of(j, p) + part_col(j->g)); }
static float *part_db_of(const gemm_job *j, int p) { return (float *)((char *)part_dw_of(j, p) + part_dw(j->g)); }

/* Output rows per im2col band in forward: a whole image's col matrix
 * above ~1 MB (ResNet's 7x7 stem: 147 x 12544 floats, 7 MB) streams
 * through DRAM between im2col and the GEMM; bands of ~512 KB stay in L2.
 * The stem's forward went from 127 to 105 ms of CPU a batch of 32. */
enum { BAND_BYTES = 512 << 10, BAND_MIN_COLS = 256 };

static int band_rows(const cgeom *g)
{
	size_t row = (size_t)g->K * g->OW * sizeof(float); /* col bytes per output row */
	/* with a deep K the GEMM dominates and packs W again per band (3x3
	 * stride 2, K = 576, measured no faster) */
	if ((size_t)g->K * g->P * sizeof(float) <= 2 * BAND_BYTES || g->K > 256)
		return g->OH;
	int rows = (int)(BAND_BYTES / row);
	if (rows * g->OW < BAND_MIN_COLS)
		rows = (BAND_MIN_COLS + g->OW - 1) / g->OW;
	return rows < 1 ? 1 : rows < g->OH ? rows : g->OH;
}

static void forward_images(const gemm_job *j, int p, int b_lo, int b_hi)
{
	const cgeom *g = j->g;
	const thaw_node *n = j->n;
	const int P = g->P, K = g->K, OCg = g->OCg;
	const size_t HW = (size_t)g->H * g->W;
	float *c = part_col_of(j, p); // (K, P)
	const cpost *op = j->op;
	const int active = op->bias || op->post;
	thaw_conv_geom ig = im_geom(g);
	const int band = band_rows(g);
	for (int b = b_lo; b < b_hi; b++)
		for (int gr = 0; gr < g->G; gr++) {
			const float *Wg = n->p[0].w + (size_t)gr * OCg * K; // (OCg, K)
			float *yb = j->y + ((size_t)b * g->OC + (size_t)gr * OCg) * P; // (OCg, P)
			const float *xb = j->x + ((size_t)b * g->C + (size_t)gr * g->Cg) * HW;
			if (band < g->OH && K > SMALL_K) {
				for (int oy = 0; oy < g->OH; oy += band) {
					/* output rows [oy, oy + rows) read input rows from oy*sh - pt */
					thaw_conv_geom bg = ig;
					bg.oh = g->OH - oy < band ? g->OH - oy : band;
					bg.ph = g->pt - oy * g->sh;
					int N = bg.oh * g->OW;
					thaw_im2col(c, N, xb, &bg);
					float *yo = yb + (size_t)oy * g->OW;
					thaw_sgemm(0, 0, OCg, N, K, 1.0f, Wg, K, c, N, 0.0f, yo, P);
					for (int o = 0; active && o < OCg; o++) { /* the band, still in cache */
						cchan ch = cpost_chan(op, gr * OCg + o);
						cchan_apply(&ch, yo + (size_t)o * P, yo + (size_t)o * P, N);
					}
				}
				continue;
			}
			thaw_im2col(c, P, xb, &ig);
			if (K <= SMALL_K) {
				smallk_forward(yb, Wg, op->bias && !op->post ? op->bias + gr * OCg : NULL, c, P, OCg, K, P);
				thaw_blas_add_flops(2.0 * OCg * K * P);
				for (int o = 0; op->post && o < OCg; o++) {
					cchan ch = cpost_chan(op, gr * OCg + o);
					cchan_apply(&ch, yb + (size_t)o * P, yb + (size_t)o * P, P);
				}
				continue;
			}
			// y_b (OCg, P) = W_g (OCg, K) col (K, P), straight into NCHW
			thaw_sgemm(0, 0, OCg, P, K, 1.0f, Wg, K, c, P, 0.0f, yb, P);
			for (int o = 0; active && o < OCg; o++) {
				cchan ch = cpost_chan(op, gr * OCg + o);
				cchan_apply(&ch, yb + (size_t)o * P, yb + (size_t)o * P, P);
			}
		}
}

static void backward_images(const gemm_job *j, int p, int b_lo, int b_hi)
{
	const cgeom *g = j->g;
	const thaw_node *n = j->n;
	const int P = g->P, K = g->K, OCg = g->OCg;
	const size_t HW = (size_t)g->H * g->W;
	float *c = part_col_of(j, p);                                      // (K, P)
	float *dW = j->weight_grad ? part_dw_of(j, p) : NULL;              // (OC, K)
	float *db = j->weight_grad && n->a.bias ? part_db_of(j, p) : NULL; // (OC)
	thaw_conv_geom ig = im_geom(g);
	const int band = band_rows(g);
	if (db)
		memset(db, 0, sizeof(float) * g->OC);
	if (dW && K <= SMALL_K)
		memset(dW, 0, sizeof(float) * g->OC * K);
	for (int b = b_lo; b < b_hi; b++)
		for (int gr = 0; gr < g->G; gr++) {
			const float *Wg = n->p[0].w + (size_t)gr * OCg * K;                 // (OCg, K)
			const float *d = j->dy + ((size_t)b * g->OC + (size_t)gr * OCg) * P; // dY (OCg, P)
			size_t xo = ((size_t)b * g->C + (size_t)gr * g->Cg) * HW;
			for (int o = 0; db && o < OCg; o++)
				db[gr * OCg + o] += sumf(d + (size_t)o * P, (size_t)P);
			if (dW && !j->dx && band < g->OH && K > SMALL_K) {
				/* no dx (a first layer: ResNet's stem): dW band by band,
				 * each band's col still in L2 for its GEMM, as forward */
				float *dWg = dW + (size_t)gr * OCg * K; // (OCg, K)
				for (int oy = 0; oy < g->OH; oy += band) {
					thaw_conv_geom bg = ig;
					bg.oh = g->OH - oy < band ? g->OH - oy : band;
					bg.ph = g->pt - oy * g->sh;
					int N = bg.oh * g->OW;
					thaw_im2col(c, N, j->x + xo, &bg);
					thaw_sgemm(0, 1, OCg, K, N, 1.0f, d + (size_t)oy * g->OW, P, c, N,
						   b > b_lo || oy ? 1.0f : 0.0f, dWg, K);
				}
				continue;
			}
			if (dW) {
				float *dWg = dW + (size_t)gr * OCg * K; // (OCg, K)
				thaw_im2col(c, P, j->x + xo, &ig);
				if (K <= SMALL_K) {
					smallk_dw(dWg, d, c, P, OCg, K, P);
					thaw_blas_add_flops(2.0 * OCg * K * P);
				} else // dW_g (OCg, K) += dY (OCg, P) col^T (P, K)
					thaw_sgemm(0, 1, OCg, K, P, 1.0f, d, P, c, P, b > b_lo ? 1.0f : 0.0f, dWg, K);
			}
			if (!j->dx)
				continue;
			// dcol (K, P) = W_g^T (K, OCg) dY (OCg, P), into the col buffer, which is spent
			thaw_sgemm(1, 0, K, P, OCg, 1.0f, Wg, K, d, P, 0.0f, c, P);
			thaw_col2im_spent(j->dx + xo, c, P, &ig, j->acc);
		}
}

/* The backward of forward_batched: dY of a chunk gathered to (OC, nb*P);
 * dW and db overwritten by the first chunk, summed by the rest in chunk
 * order; dcol = W^T dY scattered back image by image. */
static void backward_batched(thaw_node *n, const cgeom *g, const thaw_bwd *bw, int nb, char *buf)
{
	const int P = g->P, K = g->K, OC = g->OC, B = bw->B;
	const size_t HW = (size_t)g->H * g->W;
	const float *W = n->p[0].w;                                                // (OC, K)
	float *col = (float *)buf;                                                 // (K, nb*P)
	float *d = (float *)(buf + round64((size_t)K * nb * P * sizeof(float)));   // dY (OC, nb*P)
	float *dW = bw->weight_grad ? n->p[0].g : NULL;                            // (OC, K)
	float *db = bw->weight_grad && n->a.bias ? n->p[1].g : NULL;               // (OC)
	thaw_conv_geom ig = im_geom(g);
	for (int b0 = 0; b0 < B; b0 += nb) {
		int m = B - b0 < nb ? B - b0 : nb, N = m * P;
		for (int i = 0; i < m; i++)
			for (int o = 0; o < OC; o++)
				memcpy(d + (size_t)o * N + (size_t)i * P, bw->dy + ((size_t)(b0 + i) * OC + o) * P,
				       sizeof(float) * P);
		for (int o = 0; db && o < OC; o++)
			db[o] = (b0 ? db[o] : 0.0f) + sumf(d + (size_t)o * N, (size_t)N);
		if (dW) {
			for (int i = 0; i < m; i++)
				thaw_im2col(col + (size_t)i * P, N, bw->x[0] + (size_t)(b0 + i) * g->C * HW, &ig);
			// dW (OC, K) += dY (OC, N) col^T (N, K)
			thaw_sgemm(0, 1, OC, K, N, 1.0f, d, N, col, N, b0 ? 1.0f : 0.0f, dW, K);
		}
		if (!bw->dx[0])
			continue;
		// dcol (K, N) = W^T (K, OC) dY (OC, N), into the col buffer, which is spent
		thaw_sgemm(1, 0, K, N, OC, 1.0f, W, K, d, N, 0.0f, col, N);
		for (int i = 0; i < m; i++)
			thaw_col2im_spent(bw->dx[0] + (size_t)(b0 + i) * g->C * HW, col + (size_t)i * P, N, &ig,
					  bw->acc[0]);
	}
}

/* Indices [lo, hi) are parts; part p owns images [B*p/parts, B*(p+1)/parts). */
static void forward_parts(int lo, int hi, void *user)
{
	const gemm_job *j = user;
	for (int p = lo; p < hi; p++)
		forward_images(j, p, (int)((int64_t)j->B * p / j->parts),
			       (int)((int64_t)j->B * (p + 1) / j->parts));
}

static void backward_parts(int lo, int hi, void *user)
{
	const gemm_job *j = user;
	for (int p = lo; p < hi; p++)
		backward_images(j, p, (int)((int64_t)j->B * p / j->parts),
				(int)((int64_t)j->B * (p + 1) / j->parts));
}

void thaw_conv2d_gemm_forward(thaw_node *n, const cgeom *g, int B, const float *x, float *y, void *scratch,
			      const cpost *op)
{
	gemm_job j = job_of(n, g, B, scratch);
	j.parts = parts_of(g, B);
	j.x = x;
	j.y = y;
	j.op = op;
	int nb = batch_images(g, B);
	if (nb > 1 && !thaw_parallel_inside())
		forward_batched(n, g, B, nb, x, y, j.part0, op);
	else
		thaw_parallel_for(j.parts, forward_parts, &j);
}

void thaw_conv2d_gemm_backward(thaw_node *n, const cgeom *g, const thaw_bwd *bw)
{
	gemm_job j = job_of(n, g, bw->B, bw->scratch);
	j.parts = parts_of(g, bw->B);
	j.x = bw->x[0];
	j.dy = bw->dy;
	j.dx = bw->dx[0];
	j.acc = bw->acc[0];
	j.weight_grad = bw->weight_grad;
	int nb = batch_images(g, bw->B);
	if (nb > 1 && !thaw_parallel_inside()) {
		backward_batched(n, g, bw, nb, j.part0);
		return;
	}
	thaw_parallel_for(j.parts, backward_parts, &j);
	if (!bw->weight_grad)
		return;
	/* dW = sum of the parts' dW, in part order */
	const size_t nw = (size_t)g->OC * g->K;
	float *dW = n->p[0].g, *db = n->a.bias ? n->p[1].g : NULL;
	memcpy(dW, part_dw_of(&j, 0), nw * sizeof(float));
	if (db)
		memcpy(db, part_db_of(&j, 0), sizeof(float) * g->OC);
	for (int p = 1; p < j.parts; p++) {
		axpy(dW, 1.0f, part_dw_of(&j, p), (int)nw);
		for (int o = 0; db && o < g->OC; o++)
			db[o] += part_db_of(&j, p)[o];
	}
}
