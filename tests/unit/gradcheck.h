/* Finite-difference gradient checks of one layer kind, called through its
 * ops table exactly as the model calls it. The loss is L = sum(r * y) with a
 * fixed random r, so dL/dy = r; central differences in the inputs and the
 * parameters are compared with what backward returns, both with dx
 * overwritten and with dx accumulated into. */
#ifndef THAW_GRADCHECK_H
#define THAW_GRADCHECK_H

#include <stdlib.h>

#include "check.h"
#include "thaw/layer.h"

enum { GC_RANDOM = 0, GC_SPACED = 1 }; /* SPACED: distinct values, >= 0.02 apart, none near 0 */

typedef struct gc_opts {
	int B;
	int fill;    /* GC_RANDOM or GC_SPACED */
	float eps;   /* finite-difference step (default 1e-2) */
	float tol;   /* largest relative error allowed (default 2e-2) */
	int training;
} gc_opts;

static double gc_loss(thaw_node *n, const thaw_layer_ops *o, float **x, int n_in, int B, float *y,
		      void *scratch, const float *r, size_t ny, int training)
{
	thaw_rng rng;
	thaw_rng_seed(&rng, 7); /* same dropout mask every call */
	thaw_fwd f = {.B = B, .training = training, .y = y, .scratch = scratch, .rng = &rng};
	for (int j = 0; j < n_in; j++)
		f.x[j] = x[j];
	o->forward(n, &f);
	double L = 0;
	for (size_t i = 0; i < ny; i++)
		L += (double)r[i] * y[i];
	return L;
}

static void gc_fill(float *v, size_t count, int mode, thaw_rng *rng)
{
	if (mode == GC_SPACED) {
		for (size_t i = 0; i < count; i++) {
			float s = 0.1f + 0.03f * (float)i;
			v[i] = (i % 2) ? s : -s;
		}
		for (size_t i = count; i > 1; i--) { /* shuffle */
			size_t k = thaw_rng_below(rng, (uint32_t)i);
			float t = v[i - 1];
			v[i - 1] = v[k];
			v[k] = t;
		}
		float scale = 1.0f / (0.1f + 0.03f * (float)count);
		for (size_t i = 0; i < count; i++)
			v[i] *= 2.0f * scale;
	} else {
		for (size_t i = 0; i < count; i++)
			v[i] = 2.0f * thaw_rng_uniform(rng) - 1.0f;
	}
}

/* Returns the largest relative error seen (and CHECKs it against tol). */
static double gradcheck(const char *label, thaw_attrs a, const thaw_shape *in, int n_in, gc_opts opt)
{
	if (!opt.B)
		opt.B = 2;
	if (opt.eps == 0)
		opt.eps = 1e-2f;
	if (opt.tol == 0)
		opt.tol = 2e-2f;
	const thaw_layer_ops *o = thaw_layer_ops_of(a.kind);
	thaw_node *n = calloc(1, sizeof *n);
	snprintf(n->name, sizeof n->name, "%s", label);
	n->kind = a.kind;
	n->a = a;
	n->n_in = n_in;
	n->trainable = 1;
	n->lr_mult = 1;
	for (int j = 0; j < n_in; j++)
		n->in_shape[j] = in[j];
	int rc = o->setup(n, in, n_in);
	CHECKF(rc == 0, "%s: setup failed: %s", label, thaw_errmsg());
	if (rc)
		return 1e9;
	n->out.n = 1;
	thaw_rng rng;
	thaw_rng_seed(&rng, 1234);
	/* parameters: plain allocations (the model's pmem layout is not needed) */
	for (int i = 0; i < n->np; i++) {
		thaw_param *p = &n->p[i];
		p->size = 1;
		for (int d = 0; d < p->ndim; d++)
			p->size *= (size_t)p->dims[d];
		p->w = calloc(p->size, sizeof(float));
		p->g = p->is_buffer ? NULL : calloc(p->size, sizeof(float));
	}
	if (o->init)
		o->init(n, &rng);
	for (int i = 0; i < n->np; i++) /* perturb so gamma != 1, bias != 0, stats != 0/1 */
		for (size_t k = 0; k < n->p[i].size; k++)
			n->p[i].w[k] += (n->p[i].is_buffer && strcmp(n->p[i].name, "running_var") == 0)
						? 0.5f * thaw_rng_uniform(&rng)
						: 0.3f * (2.0f * thaw_rng_uniform(&rng) - 1.0f);
	int B = opt.B;
	float *x[THAW_MAX_INPUTS], *dx[THAW_MAX_INPUTS], *dx2[THAW_MAX_INPUTS];
	size_t nx[THAW_MAX_INPUTS];
	for (int j = 0; j < n_in; j++) {
		nx[j] = (size_t)B * thaw_shape_sample(in[j]);
		x[j] = malloc(nx[j] * sizeof(float));
		dx[j] = malloc(nx[j] * sizeof(float));
		dx2[j] = malloc(nx[j] * sizeof(float));
		gc_fill(x[j], nx[j], opt.fill, &rng);
	}
	size_t ny = (size_t)B * thaw_shape_sample(n->out);
	float *y = malloc(ny * sizeof(float)), *r = malloc(ny * sizeof(float));
	gc_fill(r, ny, GC_RANDOM, &rng);
	size_t sb = o->scratch ? o->scratch(n, B, opt.training) : 0;
	void *scratch = sb ? aligned_alloc(64, (sb + 63) & ~(size_t)63) : NULL;

	/* analytic */
	gc_loss(n, o, x, n_in, B, y, scratch, r, ny, opt.training);
	thaw_bwd b = {.B = B, .y = y, .dy = r, .weight_grad = n->np > 0, .scratch = scratch};
	for (int j = 0; j < n_in; j++) {
		b.x[j] = x[j];
		b.dx[j] = dx[j];
	}
	o->backward(n, &b);
	double worst = 0;
	int bad = 0;
	/* numeric, inputs */
	for (int j = 0; j < n_in; j++) {
		for (size_t i = 0; i < nx[j]; i++) {
			float keep = x[j][i];
			x[j][i] = keep + opt.eps;
			double lp = gc_loss(n, o, x, n_in, B, y, scratch, r, ny, opt.training);
			x[j][i] = keep - opt.eps;
			double lm = gc_loss(n, o, x, n_in, B, y, scratch, r, ny, opt.training);
			x[j][i] = keep;
			double num = (lp - lm) / (2.0 * opt.eps);
			double e = fabs(num - dx[j][i]) / fmax(fabs(num) + fabs(dx[j][i]), 1e-1);
			if (e > worst)
				worst = e;
			if (e > opt.tol && bad++ < 3)
				printf("  %s: dx%d[%zu] analytic %.6g numeric %.6g\n", label, j, i, dx[j][i], num);
		}
	}
	/* numeric, learnable parameters */
	for (int p = 0; p < n->np; p++) {
		thaw_param *P = &n->p[p];
		if (P->is_buffer)
			continue;
		float *g = malloc(P->size * sizeof(float));
		memcpy(g, P->g, P->size * sizeof(float));
		for (size_t i = 0; i < P->size; i++) {
			float keep = P->w[i];
			P->w[i] = keep + opt.eps;
			double lp = gc_loss(n, o, x, n_in, B, y, scratch, r, ny, opt.training);
			P->w[i] = keep - opt.eps;
			double lm = gc_loss(n, o, x, n_in, B, y, scratch, r, ny, opt.training);
			P->w[i] = keep;
			double num = (lp - lm) / (2.0 * opt.eps);
			double e = fabs(num - g[i]) / fmax(fabs(num) + fabs(g[i]), 1e-1);
			if (e > worst)
				worst = e;
			if (e > opt.tol && bad++ < 6)
				printf("  %s: d%s[%zu] analytic %.6g numeric %.6g\n", label, P->name, i, g[i], num);
		}
		free(g);
	}
	/* accumulate mode: dx2 starts at 1 and must end at 1 + dx */
	gc_loss(n, o, x, n_in, B, y, scratch, r, ny, opt.training);
	for (int j = 0; j < n_in; j++) {
		for (size_t i = 0; i < nx[j]; i++)
			dx2[j][i] = 1.0f;
		b.dx[j] = dx2[j];
		b.acc[j] = 1;
	}
	b.weight_grad = 0;
	o->backward(n, &b);
	double acc_err = 0;
	for (int j = 0; j < n_in; j++)
		for (size_t i = 0; i < nx[j]; i++)
			acc_err = fmax(acc_err, fabs(dx2[j][i] - 1.0f - dx[j][i]));
	printf("  gradcheck %-28s max rel error %.2e (accumulate mode: %.1e)\n", label, worst, acc_err);
	CHECKF(worst <= opt.tol, "%s: gradient error %.3g > %.3g", label, worst, opt.tol);
	CHECKF(acc_err <= 1e-5, "%s: accumulate mode differs by %.3g", label, acc_err);

	for (int j = 0; j < n_in; j++) {
		free(x[j]);
		free(dx[j]);
		free(dx2[j]);
	}
	for (int i = 0; i < n->np; i++) {
		free(n->p[i].w);
		free(n->p[i].g);
	}
	free(y);
	free(r);
	free(scratch);
	free(n);
	return worst;
}

#endif
