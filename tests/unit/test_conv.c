/* conv2d: gradients by finite differences, forward and backward against a
 * naive direct convolution, setup errors, freezing through the model API,
 * and (printed only) timings of the reference CNN's convolutions. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gradcheck.h"
#include "thaw/blas.h"
#include "thaw/layer.h"

/* A node set up outside a model, with parameters, scratch and buffers for B. */
typedef struct lab {
	thaw_node *n;
	const thaw_layer_ops *o;
	int B;
	float *x, *y, *dy, *dx;
	size_t nx, ny;
	void *scratch;
} lab;

static int lab_new(lab *L, thaw_attrs a, thaw_shape in, int B, uint64_t seed)
{
	memset(L, 0, sizeof *L);
	L->o = thaw_layer_ops_of(a.kind);
	L->n = calloc(1, sizeof *L->n);
	snprintf(L->n->name, sizeof L->n->name, "lab");
	L->n->kind = a.kind;
	L->n->a = a;
	L->n->n_in = 1;
	L->n->trainable = 1;
	L->n->in_shape[0] = in;
	if (L->o->setup(L->n, &in, 1) < 0)
		return -1;
	L->n->out.n = 1;
	thaw_rng rng;
	thaw_rng_seed(&rng, seed);
	for (int i = 0; i < L->n->np; i++) {
		thaw_param *p = &L->n->p[i];
		p->size = 1;
		for (int d = 0; d < p->ndim; d++)
			p->size *= (size_t)p->dims[d];
		p->w = malloc(p->size * sizeof(float));
		p->g = malloc(p->size * sizeof(float));
		for (size_t k = 0; k < p->size; k++)
			p->w[k] = 2.0f * thaw_rng_uniform(&rng) - 1.0f;
	}
	L->B = B;
	L->nx = (size_t)B * thaw_shape_sample(in);
	L->ny = (size_t)B * thaw_shape_sample(L->n->out);
	L->x = malloc(L->nx * sizeof(float));
	L->dx = malloc(L->nx * sizeof(float));
	L->y = malloc(L->ny * sizeof(float));
	L->dy = malloc(L->ny * sizeof(float));
	for (size_t k = 0; k < L->nx; k++)
		L->x[k] = 2.0f * thaw_rng_uniform(&rng) - 1.0f;
	for (size_t k = 0; k < L->ny; k++)
		L->dy[k] = 2.0f * thaw_rng_uniform(&rng) - 1.0f;
	size_t sb = L->o->scratch ? L->o->scratch(L->n, B, 1) : 0;
	L->scratch = sb ? aligned_alloc(64, (sb + 63) & ~(size_t)63) : NULL;
	return 0;
}

static void lab_free(lab *L)
{
	for (int i = 0; L->n && i < L->n->np; i++) {
		free(L->n->p[i].w);
		free(L->n->p[i].g);
	}
	free(L->n);
	free(L->x);
	free(L->y);
	free(L->dy);
	free(L->dx);
	free(L->scratch);
}

static void lab_forward(lab *L)
{
	thaw_fwd f = {.B = L->B, .training = 1, .y = L->y, .scratch = L->scratch};
	f.x[0] = L->x;
	L->o->forward(L->n, &f);
}

static void lab_backward(lab *L, int weight_grad, int want_dx)
{
	thaw_bwd b = {.B = L->B, .y = L->y, .dy = L->dy, .weight_grad = weight_grad, .scratch = L->scratch};
	b.x[0] = L->x;
	b.dx[0] = want_dx ? L->dx : NULL;
	L->o->backward(L->n, &b);
}

/* ---- the naive reference: ONNX Conv written out, in double. */
typedef struct refconv {
	int B, C, H, W, OC, G, kh, kw, sh, sw, pt, pl, dh, dw, OH, OW;
} refconv;

static refconv ref_of(const lab *L)
{
	const thaw_attrs *a = &L->n->a;
	return (refconv){L->B, L->n->in_shape[0].c, L->n->in_shape[0].h, L->n->in_shape[0].w, a->filters,
			 a->groups, a->kh, a->kw, a->sh, a->sw, a->pad[0], a->pad[1], a->dh, a->dw,
			 L->n->out.h, L->n->out.w};
}

/* Calls fn(b, oc, oy, ox, ic, weight index, input index) for every product term. */
#define REF_LOOP(r, BODY)                                                                            \
	for (int b = 0; b < r.B; b++)                                                                \
		for (int oc = 0; oc < r.OC; oc++)                                                    \
			for (int oy = 0; oy < r.OH; oy++)                                            \
				for (int ox = 0; ox < r.OW; ox++) {                                  \
					size_t yi = (((size_t)b * r.OC + oc) * r.OH + oy) * r.OW + ox; \
					int cg = r.C / r.G, g = oc / (r.OC / r.G);                   \
					for (int c = 0; c < cg; c++)                                 \
						for (int ky = 0; ky < r.kh; ky++)                    \
							for (int kx = 0; kx < r.kw; kx++) {          \
								int iy = oy * r.sh + ky * r.dh - r.pt; \
								int ix = ox * r.sw + kx * r.dw - r.pl; \
								if (iy < 0 || iy >= r.H || ix < 0 || ix >= r.W) \
									continue;            \
								size_t wi = (((size_t)oc * cg + c) * r.kh + ky) * r.kw + kx; \
								size_t xi = (((size_t)b * r.C + g * cg + c) * r.H + iy) * r.W + ix; \
								BODY;                                \
							}                                            \
				}

/* conv2d.c's rule for its Winograd kernel (conv2d_wino.c); WINO_MIN_C in
 * conv2d.h: 12 input channels, 64 in a build without AVX2. */
static int winograd_shape(thaw_attrs a, thaw_shape in)
{
#if defined(__AVX2__)
	const int min_c = 12;
#else
	const int min_c = 64;
#endif
	return a.kh == 3 && a.kw == 3 && a.sh == 1 && a.sw == 1 && a.dh == 1 && a.dw == 1 && a.groups == 1 &&
	       in.c >= min_c && a.pad[0] <= 2 && a.pad[1] <= 2 && a.pad[2] <= 2 && a.pad[3] <= 2;
}

/* max |a - ref| / max(1, max |ref|): the parity tests' measure */
static double scale_err(const float *a, const double *ref, size_t n, double shift)
{
	double e = 0, m = 1;
	for (size_t k = 0; k < n; k++) {
		e = fmax(e, fabs(a[k] - shift - ref[k]));
		m = fmax(m, fabs(ref[k]));
	}
	return e / m;
}

/* Largest relative difference of forward, dW, db, dx from the reference:
 * element by element (to 1e-4), or for Winograd, whose transforms round
 * more (measured ~3e-5), against the tensor's largest value (to 1e-4, the
 * bar of the PyTorch-parity tests). */
static int ref_no_dx; /* backward as for a first layer: no dx asked for */

static void compare_with_reference(const char *label, thaw_attrs a, thaw_shape in, int B)
{
	lab L;
	int rc = lab_new(&L, a, in, B, 99);
	CHECKF(rc == 0, "%s: setup: %s", label, thaw_errmsg());
	if (rc) {
		lab_free(&L);
		return;
	}
	refconv r = ref_of(&L);
	const float *w = L.n->p[0].w, *bias = a.bias ? L.n->p[1].w : NULL;
	double *y = calloc(L.ny, sizeof(double)), *dx = calloc(L.nx, sizeof(double));
	double *dw = calloc(L.n->p[0].size, sizeof(double)), *db = calloc((size_t)r.OC, sizeof(double));
	REF_LOOP(r, {
		y[yi] += (double)w[wi] * L.x[xi];
		dx[xi] += (double)w[wi] * L.dy[yi];
		dw[wi] += (double)L.dy[yi] * L.x[xi];
	});
	for (int b = 0; b < r.B; b++)
		for (int oc = 0; oc < r.OC; oc++)
			for (int p = 0; p < r.OH * r.OW; p++) {
				size_t yi = ((size_t)b * r.OC + oc) * r.OH * r.OW + p;
				if (bias)
					y[yi] += bias[oc];
				db[oc] += L.dy[yi];
			}
	lab_forward(&L);
	/* dx first holds 0.5: accumulate mode must add to it */
	for (size_t k = 0; k < L.nx; k++)
		L.dx[k] = 0.5f;
	thaw_bwd bb = {.B = B, .y = L.y, .dy = L.dy, .weight_grad = 1, .scratch = L.scratch};
	bb.x[0] = L.x;
	bb.dx[0] = ref_no_dx ? NULL : L.dx;
	bb.acc[0] = 1;
	L.o->backward(L.n, &bb);
	if (ref_no_dx) /* dx untouched */
		for (size_t k = 0; k < L.nx; k++)
			dx[k] = 0.0;
	double ey = 0, ex = 0, ew = 0, eb = 0;
	for (size_t k = 0; k < L.ny; k++)
		ey = fmax(ey, fabs(L.y[k] - y[k]) / fmax(1.0, fabs(y[k])));
	for (size_t k = 0; k < L.nx; k++)
		ex = fmax(ex, fabs(L.dx[k] - 0.5 - dx[k]) / fmax(1.0, fabs(dx[k])));
	for (size_t k = 0; k < L.n->p[0].size; k++)
		ew = fmax(ew, fabs(L.n->p[0].g[k] - dw[k]) / fmax(1.0, fabs(dw[k])));
	for (int k = 0; bias && k < r.OC; k++)
		eb = fmax(eb, fabs(L.n->p[1].g[k] - db[k]) / fmax(1.0, fabs(db[k])));
	if (winograd_shape(a, in)) {
		ey = scale_err(L.y, y, L.ny, 0);
		ex = scale_err(L.dx, dx, L.nx, 0.5);
		ew = scale_err(L.n->p[0].g, dw, L.n->p[0].size, 0);
		printf("  reference %-26s y %.1e  dx %.1e  dW %.1e  db %.1e (winograd: y, dx, dW of the scale)\n", label,
		       ey, ex, ew, eb);
	} else {
		printf("  reference %-26s y %.1e  dx %.1e  dW %.1e  db %.1e\n", label, ey, ex, ew, eb);
	}
	CHECKF(ey < 1e-4 && ex < 1e-4 && ew < 1e-4 && eb < 1e-4, "%s: differs from the reference", label);
	free(y);
	free(dx);
	free(dw);
	free(db);
	lab_free(&L);
}

static thaw_attrs conv(int filters, int kh, int kw, int s, int p)
{
	thaw_attrs a = thaw_conv(filters, kh, s, p);
	a.kw = kw;
	return a;
}

/* Each configuration exercises one kernel: gemm (im2col), 1x1, direct, wino. */
typedef struct cfg {
	const char *label;
	thaw_attrs a;
	thaw_shape in;
} cfg;

static int configs(cfg *c)
{
	int k = 0;
	c[k++] = (cfg){"3x3 s2 p1 (gemm)", conv(4, 3, 3, 2, 1), {1, 3, 7, 7}};
	thaw_attrs asym = conv(3, 3, 2, 1, 0);
	asym.pad[0] = 1, asym.pad[1] = 0, asym.pad[2] = 2, asym.pad[3] = 1;
	c[k++] = (cfg){"3x2 asymmetric pad", asym, {1, 2, 6, 5}};
	thaw_attrs dil = conv(3, 3, 3, 1, 2);
	dil.dh = dil.dw = 2;
	c[k++] = (cfg){"3x3 dilation 2", dil, {1, 2, 7, 7}};
	thaw_attrs g2 = conv(6, 3, 3, 1, 1);
	g2.groups = 2;
	c[k++] = (cfg){"3x3 groups 2", g2, {1, 4, 6, 6}};
	thaw_attrs dw = conv(6, 3, 3, 1, 1);
	dw.groups = 3;
	c[k++] = (cfg){"depthwise x2 (direct)", dw, {1, 3, 6, 6}};
	thaw_attrs dws = conv(3, 3, 3, 2, 0);
	dws.groups = 3;
	dws.pad[0] = 1, dws.pad[3] = 2;
	dws.dw = 2;
	c[k++] = (cfg){"depthwise s2 asym dil", dws, {1, 3, 7, 8}};
	thaw_attrs dwd = conv(8, 3, 3, 1, 0);
	dwd.groups = 4;
	dwd.dh = dwd.dw = 2;
	dwd.pad[0] = 2, dwd.pad[1] = 1, dwd.pad[2] = 0, dwd.pad[3] = 3;
	c[k++] = (cfg){"depthwise x2 d2 asym 11x13", dwd, {1, 4, 11, 13}};
	thaw_attrs dwp = conv(3, 1, 1, 1, 1); /* padding beyond the kernel's reach */
	dwp.groups = 3;
	c[k++] = (cfg){"depthwise 1x1 p1", dwp, {1, 3, 4, 9}};
	thaw_attrs nb = conv(3, 3, 3, 1, 0);
	nb.bias = 0;
	c[k++] = (cfg){"3x3 no bias", nb, {1, 2, 5, 5}};
	c[k++] = (cfg){"1x1", conv(3, 1, 1, 1, 0), {1, 4, 5, 5}};
	thaw_attrs pw2 = conv(4, 1, 1, 1, 0);
	pw2.groups = 2;
	c[k++] = (cfg){"1x1 groups 2", pw2, {1, 4, 3, 4}};
	c[k++] = (cfg){"1x1 s2 (gemm)", conv(3, 1, 1, 2, 0), {1, 4, 5, 5}};
	c[k++] = (cfg){"3x3 p1 on 33x33", conv(2, 3, 3, 1, 1), {1, 2, 33, 33}}; /* one image per GEMM */
	c[k++] = (cfg){"in_c 1, 3x3 p1", conv(4, 3, 3, 1, 1), {1, 1, 6, 6}};
	c[k++] = (cfg){"3x3 p1 12 in (wino)", conv(3, 3, 3, 1, 1), {1, 12, 5, 6}};
	return k;
}

static void test_gradcheck(void)
{
	cfg c[24];
	int k = configs(c);
	for (int i = 0; i < k; i++)
		gradcheck(c[i].label, c[i].a, &c[i].in, 1, (gc_opts){.B = 2});
}

static void test_reference(void)
{
	cfg c[24];
	int k = configs(c);
	for (int i = 0; i < k; i++)
		compare_with_reference(c[i].label, c[i].a, c[i].in, 3);
	/* the reference CNN's shapes, smaller batch */
	compare_with_reference("conv1 1x28x28 -> 32", conv(32, 3, 3, 1, 1), (thaw_shape){1, 1, 28, 28}, 3);
	compare_with_reference("conv2 32x14x14 -> 64", conv(64, 3, 3, 1, 1), (thaw_shape){1, 32, 14, 14}, 2);
	/* big weights on a small map: GEMMs over several images (21 a chunk
	 * here, so a full chunk and a partial one) */
	compare_with_reference("batched 64x5x5 -> 512", conv(512, 3, 3, 1, 1), (thaw_shape){1, 64, 5, 5}, 23);
	/* Winograd: odd sizes, padding 0, 1, 2 and asymmetric, batch 1, partial
	 * tile groups (widths 11, 30, 70), and chunks of 64 tiles (7x7: 16
	 * images a chunk, then a short one) */
	compare_with_reference("wino 64x9x11 -> 64 p1 B1", conv(64, 3, 3, 1, 1), (thaw_shape){1, 64, 9, 11}, 1);
	compare_with_reference("wino 65x13x7 -> 72 p0", conv(72, 3, 3, 1, 0), (thaw_shape){1, 65, 13, 7}, 2);
	compare_with_reference("wino 64x6x10 -> 67 p2", conv(67, 3, 3, 1, 2), (thaw_shape){1, 64, 6, 10}, 2);
	thaw_attrs wa = conv(64, 3, 3, 1, 0);
	wa.pad[0] = 0, wa.pad[1] = 1, wa.pad[2] = 2, wa.pad[3] = 1;
	wa.bias = 0;
	compare_with_reference("wino p0,1,2,1 no bias", wa, (thaw_shape){1, 64, 10, 9}, 2);
	compare_with_reference("wino 64x5x70 -> 64 p1", conv(64, 3, 3, 1, 1), (thaw_shape){1, 64, 5, 70}, 1);
	compare_with_reference("wino 64x29x30 -> 64 p1", conv(64, 3, 3, 1, 1), (thaw_shape){1, 64, 29, 30}, 1);
	compare_with_reference("wino 64x7x7 -> 64 B66", conv(64, 3, 3, 1, 1), (thaw_shape){1, 64, 7, 7}, 66);
	/* few channels (from WINO_MIN_C = 12 in, any number out): tiles taken
	 * eight at a time across tile rows and images (3x3: one tile an
	 * image; 30x17: 40 tiles an image, tile rows split between blocks of
	 * 64 tiles), small OC, asymmetric padding, one image */
	compare_with_reference("wino 12x9x7 -> 5 p1 B1", conv(5, 3, 3, 1, 1), (thaw_shape){1, 12, 9, 7}, 1);
	compare_with_reference("wino 16x14x14 -> 32 p0", conv(32, 3, 3, 1, 0), (thaw_shape){1, 16, 14, 14}, 3);
	thaw_attrs ws = conv(16, 3, 3, 1, 0);
	ws.pad[0] = 2, ws.pad[1] = 0, ws.pad[2] = 1, ws.pad[3] = 2;
	compare_with_reference("wino 32x7x7 -> 16 p2,0,1,2", ws, (thaw_shape){1, 32, 7, 7}, 5);
	compare_with_reference("wino 20x3x3 -> 8 p1 B9", conv(8, 3, 3, 1, 1), (thaw_shape){1, 20, 3, 3}, 9);
	compare_with_reference("wino 13x30x17 -> 3 p1", conv(3, 3, 3, 1, 1), (thaw_shape){1, 13, 30, 17}, 4);
	compare_with_reference("wino 24x5x6 -> 40 p2 B7", conv(40, 3, 3, 1, 2), (thaw_shape){1, 24, 5, 6}, 7);
	/* 156 tiles in one image: a chunk ends inside it */
	compare_with_reference("wino 16x50x45 -> 8 p1 B1", conv(8, 3, 3, 1, 1), (thaw_shape){1, 16, 50, 45}, 1);
	/* a col matrix above 1 MB with K <= 256 goes in bands of output rows,
	 * the last one short */
	compare_with_reference("bands 7x7 s2 p3 3x120x100 -> 8", conv(8, 7, 7, 2, 3), (thaw_shape){1, 3, 120, 100}, 1);
	thaw_attrs ba = conv(5, 5, 5, 1, 0);
	ba.pad[0] = 2, ba.pad[1] = 1, ba.pad[2] = 0, ba.pad[3] = 2;
	compare_with_reference("bands 5x5 p2,1,0,2 4x70x90 -> 5", ba, (thaw_shape){1, 4, 70, 90}, 2);
	/* a first layer (no dx): dW band by band too */
	ref_no_dx = 1;
	compare_with_reference("bands, no dx, 7x7 s2 p3", conv(8, 7, 7, 2, 3), (thaw_shape){1, 3, 120, 100}, 3);
	compare_with_reference("bands, no dx, 5x5 p2,1,0,2", ba, (thaw_shape){1, 4, 70, 90}, 2);
	ref_no_dx = 0;
	thaw_attrs mb = conv(32, 3, 3, 2, 1);
	mb.groups = 16;
	compare_with_reference("depthwise 16x9x9 x2 s2", mb, (thaw_shape){1, 16, 9, 9}, 2);
	/* MobileNet's downsampling depthwise convs (backward on vectors: dy
	 * spread two apart), even and odd maps, asymmetric padding, dilation */
	thaw_attrs md = conv(24, 3, 3, 2, 1);
	md.groups = 24;
	compare_with_reference("depthwise 24x12x12 s2 p1", md, (thaw_shape){1, 24, 12, 12}, 3);
	compare_with_reference("depthwise 24x13x11 s2 p1", md, (thaw_shape){1, 24, 13, 11}, 2);
	thaw_attrs ma = conv(5, 3, 3, 2, 0);
	ma.groups = 5;
	ma.pad[0] = 1, ma.pad[1] = 0, ma.pad[2] = 2, ma.pad[3] = 1;
	compare_with_reference("depthwise 5x10x17 s2 p1,0,2,1", ma, (thaw_shape){1, 5, 10, 17}, 2);
	thaw_attrs m5 = conv(9, 5, 5, 2, 2);
	m5.groups = 9;
	m5.dh = m5.dw = 2;
	compare_with_reference("depthwise 5x5 d2 s2 p2 9x15x15", m5, (thaw_shape){1, 9, 15, 15}, 2);
	/* depthwise forward on planes split in even and odd columns: stride 2
	 * across with 1 down (and the other way), dilated, asymmetric padding */
	thaw_attrs ds = conv(8, 3, 3, 2, 1);
	ds.groups = 8, ds.sh = 1, ds.dw = 2, ds.pad[3] = 2;
	compare_with_reference("depthwise 8x11x13 s1x2 d2", ds, (thaw_shape){1, 8, 11, 13}, 2);
	ds.sh = 2, ds.sw = 1, ds.dw = 1, ds.dh = 2;
	compare_with_reference("depthwise 8x13x11 s2x1 d2", ds, (thaw_shape){1, 8, 13, 11}, 2);
}

/* Winograd splits its work by planes and by the 36 products, each value
 * computed by one part in one order: one and two threads give the same bits. */
static void test_winograd_threads(void)
{
	/* ResNet-like, and the reference CNN's conv2 over three chunks of tiles */
	const struct {
		int filters;
		thaw_shape in;
		int B;
	} shapes[] = {{64, {1, 64, 12, 9}, 5}, {64, {1, 32, 14, 14}, 9}};
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		if (!winograd_shape(conv(shapes[s].filters, 3, 3, 1, 1), shapes[s].in))
			continue; /* a build without AVX2: im2col + GEMM, whose dW parts follow the thread count */
		float *out[2][3];
		for (int t = 0; t < 2; t++) {
			thaw_blas_set_threads(t + 1);
			lab L;
			CHECK_OK(lab_new(&L, conv(shapes[s].filters, 3, 3, 1, 1), shapes[s].in, shapes[s].B, 3));
			lab_forward(&L);
			lab_backward(&L, 1, 1);
			size_t sz[3] = {L.ny, L.nx, L.n->p[0].size};
			const float *src[3] = {L.y, L.dx, L.n->p[0].g};
			for (int k = 0; k < 3; k++) {
				out[t][k] = malloc(sz[k] * sizeof(float));
				memcpy(out[t][k], src[k], sz[k] * sizeof(float));
			}
			if (t == 1)
				for (int k = 0; k < 3; k++)
					CHECKF(memcmp(out[0][k], out[1][k], sz[k] * sizeof(float)) == 0,
					       "shape %zu: tensor %d differs between 1 and 2 threads", s, k);
			lab_free(&L);
		}
		thaw_blas_set_threads(0);
		for (int t = 0; t < 2; t++)
			for (int k = 0; k < 3; k++)
				free(out[t][k]);
	}
}

/* Depthwise forward splits the planes over the pool, each plane computed
 * by one part: one and two threads give the same bits, forward and
 * backward (stride 1 with a multiplier, stride 2). */
static void test_depthwise_threads(void)
{
	thaw_attrs cs[2] = {conv(24, 3, 3, 1, 1), conv(12, 3, 3, 2, 1)};
	cs[0].groups = cs[1].groups = 12;
	for (int c = 0; c < 2; c++) {
		float *out[2][3];
		size_t sz[3] = {0};
		for (int t = 0; t < 2; t++) {
			thaw_blas_set_threads(t + 1);
			lab L;
			CHECK_OK(lab_new(&L, cs[c], (thaw_shape){1, 12, 15, 13}, 6, 4));
			lab_forward(&L);
			lab_backward(&L, 1, 1);
			const float *src[3] = {L.y, L.dx, L.n->p[0].g};
			sz[0] = L.ny, sz[1] = L.nx, sz[2] = L.n->p[0].size;
			for (int k = 0; k < 3; k++) {
				out[t][k] = malloc(sz[k] * sizeof(float));
				memcpy(out[t][k], src[k], sz[k] * sizeof(float));
			}
			lab_free(&L);
		}
		thaw_blas_set_threads(0);
		for (int k = 0; k < 3; k++) {
			CHECKF(memcmp(out[0][k], out[1][k], sz[k] * sizeof(float)) == 0,
			       "depthwise %d: tensor %d differs between 1 and 2 threads", c, k);
			for (int t = 0; t < 2; t++)
				free(out[t][k]);
		}
	}
}

/* An inference pass folds the batch norm after a Winograd convolution into
 * the convolution's output pass (and the ReLU after it): the same outputs
 * as a training pass with that batch norm frozen, which runs them apart. */
static void test_folded_batchnorm(void)
{
	thaw_model *m = thaw_model_new(64, 9, 13, 4);
	thaw_attrs c = thaw_conv(64, 3, 1, 1), bn = thaw_layer(THAW_BATCHNORM), relu = thaw_layer(THAW_RELU);
	CHECK_OK(thaw_model_add(m, "conv", &c, NULL, 0));
	CHECK_OK(thaw_model_add(m, "bn", &bn, NULL, 0));
	CHECK_OK(thaw_model_add(m, "relu", &relu, NULL, 0));
	CHECK_OK(thaw_model_add(m, "conv2", &c, NULL, 0));
	CHECK_OK(thaw_model_add(m, "bn2", &bn, NULL, 0)); /* no ReLU after this one */
	thaw_rng r;
	thaw_rng_seed(&r, 8);
	for (int k = 1; k < m->n; k += 3) {
		thaw_node *b = m->nodes[k];
		for (int i = 0; i < 64; i++) {
			b->p[0].w[i] = 0.5f + thaw_rng_uniform(&r);  /* gamma */
			b->p[1].w[i] = thaw_rng_normal(&r);          /* beta */
			b->p[2].w[i] = thaw_rng_normal(&r);          /* running mean */
			b->p[3].w[i] = 0.1f + thaw_rng_uniform(&r);  /* running var */
		}
		b->trainable = 0;
		for (int i = 0; i < 64; i++) /* the conv's bias, folded with the mean */
			m->nodes[k - 1]->p[1].w[i] = thaw_rng_normal(&r);
	}
	const int B = 3;
	size_t nx = (size_t)B * 64 * 9 * 13;
	float *x = malloc(nx * sizeof(float)), *want = malloc(nx * sizeof(float));
	for (size_t i = 0; i < nx; i++)
		x[i] = thaw_rng_normal(&r);
	CHECK_OK(thaw_model_forward(m, x, B, 1));
	memcpy(want, thaw_model_output(m), nx * sizeof(float));
	CHECK_OK(thaw_model_forward(m, x, B, 0));
	CHECK(m->nodes[0]->fold_bn == 2 && m->nodes[3]->fold_bn == 5);
	const float *y = thaw_model_output(m);
	double e = 0, scale = 1;
	int zeros = 0;
	for (size_t i = 0; i < nx; i++) {
		e = fmax(e, fabs(y[i] - want[i]));
		scale = fmax(scale, fabs(want[i]));
	}
	const float *mid = m->nodes[2]->y; /* the ReLU's output, the folded batch norm's */
	for (size_t i = 0; i < nx; i++)
		zeros += mid[i] == 0.0f;
	printf("  folded batch norm: max diff %.1e of scale %.1f, %d of %zu cut by the ReLU\n", e, scale, zeros, nx);
	CHECK(e <= 1e-5 * scale);
	CHECK(zeros > 0 && zeros < (int)nx);
	free(x);
	free(want);
	thaw_model_free(m);
}

static void test_setup_errors(void)
{
	thaw_model *m = thaw_model_new(3, 8, 8, 1);
	thaw_attrs a = thaw_conv(4, 3, 1, 1);
	a.groups = 2;
	CHECK_ERR(thaw_model_add(m, "convg", &a, NULL, 0), "node 'convg' (conv2d)");
	CHECK_ERR(thaw_model_add(m, "convg", &a, NULL, 0), "input 3x8x8 has 3 channels, not divisible by groups 2");
	a = thaw_conv(5, 3, 1, 1);
	a.groups = 3;
	thaw_model *m6 = thaw_model_new(6, 8, 8, 1);
	CHECK_ERR(thaw_model_add(m6, "convf", &a, NULL, 0), "node 'convf' (conv2d): 5 filters not divisible by groups 3");
	thaw_model_free(m6);
	thaw_model *m5 = thaw_model_new(1, 5, 5, 1);
	a = thaw_conv(8, 7, 1, 0);
	CHECK_ERR(thaw_model_add(m5, "conv3", &a, NULL, 0),
		  "node 'conv3' (conv2d): kernel 7x7 larger than padded input 5x5 (input 1x5x5)");
	a = thaw_conv(8, 3, 1, 0);
	a.dh = a.dw = 3;
	CHECK_ERR(thaw_model_add(m5, "convd", &a, NULL, 0),
		  "node 'convd' (conv2d): kernel 3x3 (dilated to 7x7) larger than padded input 5x5");
	a = thaw_conv(8, 3, 0, 0);
	CHECK_ERR(thaw_model_add(m5, "convs", &a, NULL, 0), "node 'convs' (conv2d): kernel 3x3, stride 0x0");
	a = thaw_conv(0, 3, 1, 0);
	CHECK_ERR(thaw_model_add(m5, "conv0", &a, NULL, 0), "node 'conv0' (conv2d): filters must be positive");
	/* a kernel that only fits with the padding is fine */
	a = thaw_conv(2, 7, 1, 1);
	CHECK_OK(thaw_model_add(m5, "conv7", &a, NULL, 0));
	CHECK(m5->n == 1 && m5->nodes[0]->out.h == 1 && m5->nodes[0]->out.w == 1);
	/* ONNX output size with asymmetric padding and stride */
	a = thaw_conv(2, 3, 2, 0);
	a.pad[2] = 1;
	a.pad[3] = 2;
	CHECK_OK(thaw_model_add(m, "conva", &a, NULL, 0));
	CHECK(m->nodes[m->n - 1]->out.h == 4 && m->nodes[m->n - 1]->out.w == 4);
	char d[96];
	thaw_node_describe(m->nodes[m->n - 1], d, sizeof d);
	CHECKF(strcmp(d, "3x3 s2 p0,0,1,2 3->2") == 0, "describe gave '%s'", d);
	thaw_model_free(m);
	thaw_model_free(m5);
}

/* A frozen conv between trainable ones still passes gradients down but
 * leaves its weight gradients alone and issues no weight-gradient GEMM. */
static void test_frozen(void)
{
	thaw_model *m = thaw_model_new(2, 10, 10, 3);
	thaw_attrs a = thaw_conv(4, 3, 1, 1);
	CHECK_OK(thaw_model_add(m, "c0", &a, NULL, 0));
	a = thaw_conv(6, 3, 1, 1);
	CHECK_OK(thaw_model_add(m, "c1", &a, NULL, 0));
	a = thaw_conv(3, 3, 2, 0);
	CHECK_OK(thaw_model_add(m, "c2", &a, NULL, 0));
	const int B = 4;
	size_t nx = (size_t)B * 2 * 10 * 10, ny = (size_t)B * thaw_shape_sample(thaw_model_output_shape(m));
	float *x = malloc(nx * sizeof(float)), *dout = malloc(ny * sizeof(float));
	thaw_rng r;
	thaw_rng_seed(&r, 5);
	for (size_t i = 0; i < nx; i++)
		x[i] = thaw_rng_normal(&r);
	for (size_t i = 0; i < ny; i++)
		dout[i] = thaw_rng_normal(&r);

	/* trainable everywhere: reference gradients of c0 and the FLOP count */
	CHECK_OK(thaw_model_forward(m, x, B, 1));
	thaw_blas_reset_flops();
	CHECK_OK(thaw_model_backward(m, dout));
	double flops_all = thaw_blas_flops();
	thaw_node *c0 = m->nodes[0], *c1 = m->nodes[1];
	size_t n0 = c0->p[0].size;
	float *g0 = malloc(n0 * sizeof(float));
	memcpy(g0, c0->p[0].g, n0 * sizeof(float));

	c1->trainable = 0;
	for (size_t i = 0; i < c1->p[0].size; i++)
		c1->p[0].g[i] = 123.0f;
	c1->p[1].g[0] = 123.0f;
	uint64_t wg1 = c1->n_weight_grad, bw1 = c1->n_backward, wg0 = c0->n_weight_grad;
	CHECK_OK(thaw_model_forward(m, x, B, 1));
	thaw_blas_reset_flops();
	CHECK_OK(thaw_model_backward(m, dout));
	double flops_frozen = thaw_blas_flops();
	int untouched = 1;
	for (size_t i = 0; i < c1->p[0].size; i++)
		untouched &= c1->p[0].g[i] == 123.0f;
	CHECK(untouched && c1->p[1].g[0] == 123.0f);
	CHECK(c1->n_weight_grad == wg1);     /* no weight gradient counted */
	CHECK(c1->n_backward == bw1 + 1);    /* but it ran, for c0 */
	CHECK(c0->n_weight_grad == wg0 + 1);
	CHECK(thaw_max_rel_diff(g0, c0->p[0].g, n0) < 1e-6f); /* c0 gets the same gradient */
	/* the saved work is exactly c1's dW GEMM: 2 * OC * K * (B*P) */
	double dw_gemm = 2.0 * 6 * (4 * 9) * (B * 10 * 10);
	CHECKF(fabs((flops_all - flops_frozen) - dw_gemm) < 1, "saved %.0f FLOPs, expected %.0f",
	       flops_all - flops_frozen, dw_gemm);

	/* a frozen first conv: nothing below the lowest trainable node runs */
	c1->trainable = 1;
	c0->trainable = 0;
	for (size_t i = 0; i < n0; i++)
		c0->p[0].g[i] = 7.0f;
	uint64_t b0 = c0->n_backward;
	wg0 = c0->n_weight_grad;
	CHECK_OK(thaw_model_forward(m, x, B, 1));
	CHECK_OK(thaw_model_backward(m, dout));
	CHECK(c0->n_backward == b0 && c0->n_weight_grad == wg0);
	CHECK(c0->p[0].g[0] == 7.0f && c0->p[0].g[n0 - 1] == 7.0f);
	free(g0);
	free(x);
	free(dout);
	thaw_model_free(m);
}

/* Per-call times of the reference CNN's convolutions at batch 64 (printed,
 * never asserted). */
static thaw_attrs dwconv(int channels, int k, int s, int p)
{
	thaw_attrs a = thaw_conv(channels, k, s, p);
	a.groups = channels;
	return a;
}

static double time_it(lab *L, int what, int reps)
{
	double best = 1e9;
	for (int r = 0; r < reps; r++) {
		if (what != 0)
			lab_forward(L);
		double t = thaw_now();
		if (what == 0)
			lab_forward(L);
		else if (what == 1)
			lab_backward(L, 0, 1);
		else
			lab_backward(L, 1, 0);
		t = thaw_now() - t;
		if (t < best)
			best = t;
	}
	return best * 1e3;
}

static void timings(void)
{
	struct {
		const char *label;
		thaw_attrs a;
		thaw_shape in;
	} t[] = {
		{"conv1 1x28x28->32 3x3 p1", conv(32, 3, 3, 1, 1), {1, 1, 28, 28}},
		{"conv2 32x14x14->64 3x3 p1", conv(64, 3, 3, 1, 1), {1, 32, 14, 14}},
		{"depthwise 64x28x28 3x3 p1", dwconv(64, 3, 1, 1), {1, 64, 28, 28}},
		{"pointwise 64x28x28->64 1x1", conv(64, 1, 1, 1, 0), {1, 64, 28, 28}},
	};
	thaw_blas_set_threads(getenv("THAW_THREADS") ? atoi(getenv("THAW_THREADS")) : 2);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		lab L;
		if (lab_new(&L, t[i].a, t[i].in, 64, 1) < 0)
			continue;
		time_it(&L, 0, 2);
		double f = time_it(&L, 0, 10), bd = time_it(&L, 1, 10), bwt = time_it(&L, 2, 10);
		printf("  time B=64 %-27s forward %6.3f ms  backward-data %6.3f ms  backward-weights %6.3f ms\n",
		       t[i].label, f, bd, bwt);
		lab_free(&L);
	}
}

int main(void)
{
	RUN(test_gradcheck);
	RUN(test_reference);
	RUN(test_winograd_threads);
	RUN(test_depthwise_threads);
	RUN(test_folded_batchnorm);
	RUN(test_setup_errors);
	RUN(test_frozen);
	if (!getenv("THAW_NO_TIMING"))
		timings();
	return check_done();
}
