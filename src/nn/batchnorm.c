/* batchnorm: per-channel normalisation of (B, C, H, W), also of (B, C, 1, 1)
 * after a dense layer. y = gamma * (x - mean) / sqrt(var + eps) + beta.
 *
 * A training pass of a trainable node uses the batch statistics and moves
 * the running ones: running = momentum * running + (1 - momentum) * batch,
 * the variance unbiased as PyTorch does (momentum 0.9 here is PyTorch's 0.1).
 * A frozen node, or any inference pass, uses the running statistics and
 * never changes them: the Keras rule that transfer learning depends on,
 * since batch statistics of a small new data set would wreck the features.
 *
 * Each channel is finished (statistics, then output) before the next, so
 * its B*H*W values are still in cache for the second pass. */
#include <math.h>
#include <string.h>

#include "thaw/dist.h"
#include "thaw/layer.h"
#include "thaw/parallel.h"

enum { GAMMA, BETA, RMEAN, RVAR };

/* scratch: this header, then mean (C) and inv_std (C) as forward used them,
 * then (3, C) for a convolution that folds this node in (thaw_batchnorm_fold),
 * then (MPI ranks > 1) the doubles of the synchronised statistics */
#define FLOATS(C) ((5 * (size_t)(C) + 1) & ~(size_t)1)
typedef struct bn_state {
	int batch_stats; /* forward normalised with batch statistics */
	int synced;      /* ... of the whole batch over the MPI ranks (thaw/dist.h) */
	double count;    /* synced: values per channel over all ranks */
	char pad[48];
} bn_state;

#define LANES 8
#define CHUNK 512 /* float partial sums cover at most this many values */

static int bn_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	int rc = thaw_expect_inputs(n, n_in, 1);
	if (rc < 0)
		return rc;
	if (!(n->a.eps >= 0.0f) || !isfinite(n->a.eps))
		return thaw_error(THAW_EINVAL, "node '%s' (batchnorm): eps %g must be >= 0", n->name,
				  n->a.eps);
	if (!(n->a.momentum >= 0.0f && n->a.momentum <= 1.0f))
		return thaw_error(THAW_EINVAL, "node '%s' (batchnorm): momentum %g must be in [0, 1]",
				  n->name, n->a.momentum);
	int C = in[0].c;
	n->out = in[0];
	thaw_param_decl(n, GAMMA, "gamma", 0, C, 0, 0, 0);
	thaw_param_decl(n, BETA, "beta", 0, C, 0, 0, 0);
	thaw_param_decl(n, RMEAN, "running_mean", 1, C, 0, 0, 0);
	thaw_param_decl(n, RVAR, "running_var", 1, C, 0, 0, 0);
	return 0;
}

static void bn_init(thaw_node *n, thaw_rng *rng)
{
	(void)rng;
	int C = n->out.c;
	for (int c = 0; c < C; c++) {
		n->p[GAMMA].w[c] = 1.0f;
		n->p[BETA].w[c] = 0.0f;
		n->p[RMEAN].w[c] = 0.0f;
		n->p[RVAR].w[c] = 1.0f;
	}
}

static size_t bn_scratch(const thaw_node *n, int B, int training)
{
	(void)B;
	(void)training;
	size_t C = (size_t)n->out.c, ranks = (size_t)thaw_dist_size();
	/* mean, istd, (3, C) fold; with MPI ranks the synchronised statistics'
	 * exchange (bn_sync_*), aligned for doubles */
	return sizeof(bn_state) + FLOATS(C) * sizeof(float) +
	       (ranks > 1 ? (4 * C + ranks * (1 + 2 * C)) * sizeof(double) : 0);
}

/* After mean and istd in scratch: (3, C) for a conv that folds this node in. */
const float *thaw_batchnorm_fold(thaw_node *bn, const float *conv_bias)
{
	const int C = bn->out.c;
	float *post = (float *)((bn_state *)bn->scratch + 1) + 2 * C; // (3, C)
	for (int c = 0; c < C; c++) {
		post[c] = (conv_bias ? conv_bias[c] : 0.0f) - bn->p[RMEAN].w[c];
		post[C + c] = bn->p[GAMMA].w[c] * (1.0f / sqrtf(bn->p[RVAR].w[c] + bn->a.eps));
		post[2 * C + c] = bn->p[BETA].w[c];
	}
	return post;
}

/* s1 += sum(x - k), s2 += sum((x - k)^2) over x (len). Shifting by a value
 * of the channel keeps the one-pass variance from cancelling when the mean
 * is large; float lanes keep it vectorised, double totals keep it exact. */
static void sums_shifted(const float *restrict x, size_t len, float k, double *s1, double *s2)
{
	for (size_t at = 0; at < len; at += CHUNK) {
		size_t end = at + CHUNK < len ? at + CHUNK : len, i = at;
		float a[LANES] = {0}, q[LANES] = {0};
		for (; i + LANES <= end; i += LANES)
			for (int l = 0; l < LANES; l++) {
				float d = x[i + l] - k;
				a[l] += d;
				q[l] += d * d;
			}
		float ta = 0, tq = 0;
		for (; i < end; i++) {
			float d = x[i] - k;
			ta += d;
			tq += d * d;
		}
		for (int l = 0; l < LANES; l++) {
			ta += a[l];
			tq += q[l];
		}
		*s1 += ta;
		*s2 += tq;
	}
}

/* sdy += sum(dy), sdx += sum(dy * (x - mean)) over len values */
static void sums_grad(const float *restrict dy, const float *restrict x, size_t len, float mean,
		      double *sdy, double *sdx)
{
	for (size_t at = 0; at < len; at += CHUNK) {
		size_t end = at + CHUNK < len ? at + CHUNK : len, i = at;
		float a[LANES] = {0}, q[LANES] = {0};
		for (; i + LANES <= end; i += LANES)
			for (int l = 0; l < LANES; l++) {
				a[l] += dy[i + l];
				q[l] += dy[i + l] * (x[i + l] - mean);
			}
		float ta = 0, tq = 0;
		for (; i < end; i++) {
			ta += dy[i];
			tq += dy[i] * (x[i] - mean);
		}
		for (int l = 0; l < LANES; l++) {
			ta += a[l];
			tq += q[l];
		}
		*sdy += ta;
		*sdx += tq;
	}
}

/* y = (x - mean) * scale + beta. Subtracting first keeps digits that
 * x * scale + (beta - mean * scale) would cancel when |mean| >> std. */
static void normalize(float *restrict y, const float *restrict x, float mean, float scale, float beta,
		      size_t len)
{
	size_t i = 0;
	for (; i + LANES <= len; i += LANES)
		for (int l = 0; l < LANES; l++)
			y[i + l] = (x[i + l] - mean) * scale + beta;
	for (; i < len; i++)
		y[i] = (x[i] - mean) * scale + beta;
}

/* The same followed by the ReLU or relu6 the model fused into this node:
 * clipped to [lo, hi] as relu6 does (a NaN gives lo; a ReLU is [0, inf]). */
static void normalize_act(float *restrict y, const float *restrict x, float mean, float scale, float beta,
			  float lo, float hi, size_t len)
{
	size_t i = 0;
#define ACT(v) ((v) > lo ? ((v) < hi ? (v) : hi) : lo)
	for (; i + LANES <= len; i += LANES)
		for (int l = 0; l < LANES; l++) {
			float v = (x[i + l] - mean) * scale + beta;
			y[i + l] = ACT(v);
		}
	for (; i < len; i++) {
		float v = (x[i] - mean) * scale + beta;
		y[i] = ACT(v);
	}
#undef ACT
}

/* normalize or normalize_act, as node n fused an activation or not */
static void normalize_any(const thaw_node *n, float *y, const float *x, float mean, float scale, float beta,
			  size_t len)
{
	if (n->fused_relu)
		normalize_act(y, x, mean, scale, beta, n->act_lo, n->act_hi, len);
	else
		normalize(y, x, mean, scale, beta, len);
}

/* With the fused ReLU or relu6: dy where the output was strictly inside
 * [lo, hi] (PyTorch's hardtanh rule, as relu6's backward), else 0. The
 * cut is recomputed from x exactly as normalize_act made it (the same
 * float expression; -std=c11 contracts nothing into FMAs), which reads x,
 * already needed, instead of y and saves a masking pass over dy. (A ReLU
 * apart passes the gradient of an infinite value too; an infinite loss
 * stops the step anyway.) */
#define ACT_DY(dy, x, mean, scale, beta, lo, hi) act_dy(dy, ((x) - (mean)) * (scale) + (beta), lo, hi)
static inline float act_dy(float dy, float v, float lo, float hi)
{
	return ((v > lo) & (v < hi)) ? dy : 0.0f; /* & not &&: no branch, so the loops vectorise */
}

/* sums_grad of the masked dy (the fused activation's backward) */
static void sums_grad_act(const float *restrict dy, const float *restrict x, size_t len, float mean,
			  float scale, float beta, float lo, float hi, double *sdy, double *sdx)
{
	for (size_t at = 0; at < len; at += CHUNK) {
		size_t end = at + CHUNK < len ? at + CHUNK : len, i = at;
		float a[LANES] = {0}, q[LANES] = {0};
		for (; i + LANES <= end; i += LANES)
			for (int l = 0; l < LANES; l++) {
				float d = ACT_DY(dy[i + l], x[i + l], mean, scale, beta, lo, hi);
				a[l] += d;
				q[l] += d * (x[i + l] - mean);
			}
		float ta = 0, tq = 0;
		for (; i < end; i++) {
			float d = ACT_DY(dy[i], x[i], mean, scale, beta, lo, hi);
			ta += d;
			tq += d * (x[i] - mean);
		}
		for (int l = 0; l < LANES; l++) {
			ta += a[l];
			tq += q[l];
		}
		*sdy += ta;
		*sdx += tq;
	}
}

/* dx = a * dy + k * (x - mean) + c, or dx += ... when acc. With x NULL the
 * k term is absent (running statistics are constants). */
static void grad_in(float *restrict dx, const float *restrict dy, float a, const float *restrict x,
		    float mean, float k, float c, size_t len, int acc)
{
	size_t i = 0;
	if (x && acc)
		for (; i + LANES <= len; i += LANES)
			for (int l = 0; l < LANES; l++)
				dx[i + l] += a * dy[i + l] + k * (x[i + l] - mean) + c;
	else if (x)
		for (; i + LANES <= len; i += LANES)
			for (int l = 0; l < LANES; l++)
				dx[i + l] = a * dy[i + l] + k * (x[i + l] - mean) + c;
	else if (acc)
		for (; i + LANES <= len; i += LANES)
			for (int l = 0; l < LANES; l++)
				dx[i + l] += a * dy[i + l];
	else
		for (; i + LANES <= len; i += LANES)
			for (int l = 0; l < LANES; l++)
				dx[i + l] = a * dy[i + l];
	for (; i < len; i++) { /* rounded as the loops above */
		float r = x ? a * dy[i] + k * (x[i] - mean) + c : a * dy[i];
		dx[i] = acc ? dx[i] + r : r;
	}
}

/* grad_in of the masked dy (the fused activation's backward): x gives the mask
 * and, with batch statistics (stats), the k term */
static void grad_in_act(float *restrict dx, const float *restrict dy, float a, const float *restrict x,
			float mean, float scale, float beta, float lo, float hi, int stats, float k, float c, size_t len,
			int acc)
{
	size_t i = 0;
	/* stats and acc decided outside the loops: a loop-invariant choice
	 * inside them keeps GCC from vectorising without AVX (the portable
	 * build ran this 7x slower) */
#define DY_ACT(i) ACT_DY(dy[i], x[i], mean, scale, beta, lo, hi)
#define LOOPS(expr)                                                   \
	do {                                                          \
		if (acc)                                              \
			for (; i + LANES <= len; i += LANES)          \
				for (int l = 0; l < LANES; l++)       \
					dx[i + l] += expr(i + l);     \
		else                                                  \
			for (; i + LANES <= len; i += LANES)          \
				for (int l = 0; l < LANES; l++)       \
					dx[i + l] = expr(i + l);      \
		for (; i < len; i++)                                  \
			dx[i] = acc ? dx[i] + expr(i) : expr(i);      \
	} while (0)
#define WITH_STATS(i) (a * DY_ACT(i) + k * (x[i] - mean) + c)
#define CONSTANT(i) (a * DY_ACT(i))
	if (stats)
		LOOPS(WITH_STATS);
	else
		LOOPS(CONSTANT);
#undef WITH_STATS
#undef CONSTANT
#undef LOOPS
#undef DY_ACT
}

/* Channels are independent, so the pool splits them: each channel's sums
 * run on one thread in the same order as a serial pass (bit-identical for
 * any thread count), and its B*H*W values stay in that core's cache. */
typedef struct bn_job {
	thaw_node *n;
	int B, batch, weight_grad, acc;
	const float *x, *dy;
	float *y, *dx;
	bn_state *st;
} bn_job;

/* Over the B images of channel c, both with and without the fused ReLU:
 * sdy = sum(dy), sdx = sum(dy * (x - mean)) ... */
static void channel_sums(const bn_job *j, int c, double *sdy, double *sdx)
{
	const thaw_node *n = j->n;
	const size_t HW = (size_t)n->out.h * n->out.w, S = (size_t)n->out.c * HW;
	const float *mean = (const float *)(j->st + 1), *istd = mean + n->out.c;
	const float scale = n->p[GAMMA].w[c] * istd[c], beta = n->p[BETA].w[c];
	for (int b = 0; b < j->B; b++) {
		const float *dy = j->dy + b * S + c * HW, *x = j->x + b * S + c * HW;
		if (n->fused_relu)
			sums_grad_act(dy, x, HW, mean[c], scale, beta, n->act_lo, n->act_hi, sdy, sdx);
		else
			sums_grad(dy, x, HW, mean[c], sdy, sdx);
	}
}

/* ... and dx = a dy + k (x - mean) + c0 (stats) or a dy, a = gamma istd. */
static void channel_grad_in(const bn_job *j, int c, int stats, float k, float c0)
{
	const thaw_node *n = j->n;
	const size_t HW = (size_t)n->out.h * n->out.w, S = (size_t)n->out.c * HW;
	const float *mean = (const float *)(j->st + 1), *istd = mean + n->out.c;
	const float a = n->p[GAMMA].w[c] * istd[c], beta = n->p[BETA].w[c];
	for (int b = 0; b < j->B; b++) {
		float *dx = j->dx + b * S + c * HW;
		const float *dy = j->dy + b * S + c * HW, *x = j->x + b * S + c * HW;
		if (n->fused_relu)
			grad_in_act(dx, dy, a, x, mean[c], a, beta, n->act_lo, n->act_hi, stats, k, c0, HW, j->acc);
		else
			grad_in(dx, dy, a, stats ? x : NULL, mean[c], k, c0, HW, j->acc);
	}
}

static void forward_channels(int lo, int hi, void *user)
{
	const bn_job *j = user;
	thaw_node *n = j->n;
	const int B = j->B, C = n->out.c, batch = j->batch;
	const size_t HW = (size_t)n->out.h * n->out.w, S = (size_t)C * HW;
	const float *x = j->x; // (B, C, H, W)
	float *y = j->y;       // (B, C, H, W)
	const float *gamma = n->p[GAMMA].w, *beta = n->p[BETA].w;
	float *rmean = n->p[RMEAN].w, *rvar = n->p[RVAR].w;
	float *mean = (float *)(j->st + 1); // (C)
	float *istd = mean + C;             // (C)
	const double N = (double)B * (double)HW;
	const float mom = n->a.momentum;
	for (int c = lo; c < hi; c++) {
		if (batch) {
			double s1 = 0, s2 = 0;
			float k = x[(size_t)c * HW];
			for (int b = 0; b < B; b++)
				sums_shifted(x + b * S + c * HW, HW, k, &s1, &s2);
			double d = s1 / N, var = s2 / N - d * d;
			if (var < 0)
				var = 0;
			mean[c] = (float)(k + d);
			istd[c] = (float)(1.0 / sqrt(var + n->a.eps));
			double unbiased = N > 1 ? var * N / (N - 1) : var;
			rmean[c] = mom * rmean[c] + (1.0f - mom) * mean[c];
			rvar[c] = mom * rvar[c] + (1.0f - mom) * (float)unbiased;
		} else {
			mean[c] = rmean[c];
			istd[c] = 1.0f / sqrtf(rvar[c] + n->a.eps);
		}
		const float scale = gamma[c] * istd[c];
		for (int b = 0; b < B; b++)
			normalize_any(n, y + b * S + c * HW, x + b * S + c * HW, mean[c], scale, beta[c], HW);
	}
}

static void bn_sync_forward(bn_job *j);
static void bn_sync_backward(bn_job *j);


static void bn_forward(thaw_node *n, const thaw_fwd *f)
{
	bn_state *st = f->scratch;
	THAW_ASSERT(st);
	const int C = n->out.c;
	bn_job j = {.n = n, .B = f->B, .batch = f->training && n->trainable, .x = f->x[0], .y = f->y, .st = st};
	st->batch_stats = j.batch;
	st->synced = 0;
	if (j.batch && thaw_dist_sync_bn()) {
		bn_sync_forward(&j);
		return;
	}
	size_t total = (size_t)f->B * thaw_shape_sample(n->out);
	if (total < THAW_PARALLEL_MIN || n->out.h * n->out.w < 16)
		forward_channels(0, C, &j);
	else
		thaw_parallel_for(C, forward_channels, &j);
}

static void backward_channels(int lo, int hi, void *user)
{
	const bn_job *j = user;
	thaw_node *n = j->n;
	const float *gamma = n->p[GAMMA].w;
	const bn_state *st = j->st;
	const float *istd = (const float *)(st + 1) + n->out.c;
	const double N = (double)j->B * n->out.h * n->out.w;
	for (int c = lo; c < hi; c++) {
		double sdy = 0, sdx = 0; // sum(dy), sum(dy * (x - mean))
		if (st->batch_stats || j->weight_grad)
			channel_sums(j, c, &sdy, &sdx);
		if (j->weight_grad) {
			n->p[GAMMA].g[c] = (float)(sdx * istd[c]); // sum(dy * xhat)
			n->p[BETA].g[c] = (float)sdy;
		}
		if (!j->dx)
			continue;
		// batch statistics: dx = gamma istd (dy - mean(dy) - xhat mean(dy xhat)),
		// xhat = (x - mean) istd, = a dy + k (x - mean) + c0 with per-channel
		// constants, one pass; running statistics are constants: dx = a dy
		const float a = gamma[c] * istd[c];
		if (st->batch_stats)
			channel_grad_in(j, c, 1, (float)(-(double)a * istd[c] * istd[c] * sdx / N),
					(float)(-(double)a * sdy / N));
		else
			channel_grad_in(j, c, 0, 0.0f, 0.0f);
	}
}

static void bn_backward(thaw_node *n, const thaw_bwd *b)
{
	bn_job j = {.n = n, .B = b->B, .weight_grad = b->weight_grad, .acc = b->acc[0], .x = b->x[0],
		    .dy = b->dy, .dx = b->dx[0], .y = (float *)b->y, .st = b->scratch};
	if (j.st->synced) {
		bn_sync_backward(&j);
		return;
	}
	size_t total = (size_t)b->B * thaw_shape_sample(n->out);
	if (total < THAW_PARALLEL_MIN || n->out.h * n->out.w < 16)
		backward_channels(0, n->out.c, &j);
	else
		thaw_parallel_for(n->out.c, backward_channels, &j);
}

/* ---- synchronised statistics (data-parallel training over MPI ranks):
 * the mean and variance of the whole batch, as one process would compute
 * them, so N ranks train as one process on the same global batch. Each
 * rank's channel mean and centred sum of squares are gathered and merged
 * in rank order (Chan et al.), the same bits on every rank; backward sums
 * the two per-channel gradient sums over the ranks. Scratch after the
 * mean and inv_std: loc (2C) and glob (2C) gradient sums, then one block
 * (count, C means, C sums of squares) per rank. */
typedef struct bn_sync_job {
	bn_job *j;
	double *loc, *glob, *blk;
} bn_sync_job;

static double *sync_area(const bn_job *j) { return (double *)((float *)(j->st + 1) + FLOATS(j->n->out.c)); }

static void sync_stats(int lo, int hi, void *user)
{
	const bn_sync_job *s = user;
	const bn_job *j = s->j;
	const int B = j->B, C = j->n->out.c;
	const size_t HW = (size_t)j->n->out.h * j->n->out.w, S = (size_t)C * HW;
	const double N = (double)B * (double)HW;
	for (int c = lo; c < hi; c++) {
		double s1 = 0, s2 = 0;
		float k = j->x[(size_t)c * HW];
		for (int b = 0; b < B; b++)
			sums_shifted(j->x + b * S + c * HW, HW, k, &s1, &s2);
		double d = s1 / N, m2 = s2 - s1 * d;
		s->blk[1 + c] = k + d;
		s->blk[1 + C + c] = m2 > 0 ? m2 : 0;
	}
}

static void sync_normalize(int lo, int hi, void *user)
{
	const bn_job *j = ((const bn_sync_job *)user)->j;
	thaw_node *n = j->n;
	const int B = j->B, C = n->out.c;
	const size_t HW = (size_t)n->out.h * n->out.w, S = (size_t)C * HW;
	const float *mean = (const float *)(j->st + 1), *istd = mean + C;
	for (int c = lo; c < hi; c++)
		for (int b = 0; b < B; b++)
			normalize_any(n, j->y + b * S + c * HW, j->x + b * S + c * HW, mean[c], n->p[GAMMA].w[c] * istd[c],
				      n->p[BETA].w[c], HW);
}

static void bn_sync_forward(bn_job *j)
{
	thaw_node *n = j->n;
	const int C = n->out.c, ranks = thaw_dist_size();
	double *area = sync_area(j), *all = area + 4 * C;
	bn_sync_job s = {j, area, area + 2 * C, all + (size_t)thaw_dist_rank() * (1 + 2 * C)};
	s.blk[0] = (double)j->B * n->out.h * n->out.w;
	thaw_parallel_for(C, sync_stats, &s);
	size_t bytes[4096]; /* ranks; more would need a heap array */
	THAW_ASSERT(ranks <= (int)(sizeof bytes / sizeof *bytes));
	for (int r = 0; r < ranks; r++)
		bytes[r] = (1 + 2 * (size_t)C) * sizeof(double);
	if (thaw_dist_allgather(all, bytes) < 0)
		THAW_ASSERT(!"MPI exchange of batch statistics failed"); /* MPI's own handler ends the job first */
	float *mean = (float *)(j->st + 1), *istd = mean + C;
	float *rmean = n->p[RMEAN].w, *rvar = n->p[RVAR].w;
	const float mom = n->a.momentum;
	double N = 0;
	for (int r = 0; r < ranks; r++)
		N += all[(size_t)r * (1 + 2 * C)];
	for (int c = 0; c < C; c++) {
		double mu = 0, m2 = 0;
		for (int r = 0; r < ranks; r++) {
			const double *b = all + (size_t)r * (1 + 2 * C);
			mu += b[0] * b[1 + c];
		}
		mu /= N;
		for (int r = 0; r < ranks; r++) {
			const double *b = all + (size_t)r * (1 + 2 * C);
			double d = b[1 + c] - mu;
			m2 += b[1 + C + c] + b[0] * d * d;
		}
		double var = m2 / N;
		mean[c] = (float)mu;
		istd[c] = (float)(1.0 / sqrt(var + n->a.eps));
		double unbiased = N > 1 ? var * N / (N - 1) : var;
		rmean[c] = mom * rmean[c] + (1.0f - mom) * mean[c];
		rvar[c] = mom * rvar[c] + (1.0f - mom) * (float)unbiased;
	}
	j->st->synced = 1;
	j->st->count = N;
	thaw_parallel_for(C, sync_normalize, &s);
}

static void sync_grad_sums(int lo, int hi, void *user)
{
	const bn_sync_job *s = user;
	for (int c = lo; c < hi; c++) {
		double sdy = 0, sdx = 0;
		channel_sums(s->j, c, &sdy, &sdx);
		s->loc[2 * c] = sdy;
		s->loc[2 * c + 1] = sdx;
	}
}

static void sync_grad_in(int lo, int hi, void *user)
{
	const bn_sync_job *s = user;
	const bn_job *j = s->j;
	thaw_node *n = j->n;
	const float *istd = (const float *)(j->st + 1) + n->out.c;
	const double N = j->st->count;
	for (int c = lo; c < hi; c++) {
		if (j->weight_grad) { /* this rank's share: the trainer sums them over the ranks */
			n->p[GAMMA].g[c] = (float)(s->loc[2 * c + 1] * istd[c]);
			n->p[BETA].g[c] = (float)s->loc[2 * c];
		}
		if (!j->dx)
			continue;
		const float a = n->p[GAMMA].w[c] * istd[c];
		channel_grad_in(j, c, 1, (float)(-(double)a * istd[c] * istd[c] * s->glob[2 * c + 1] / N),
				(float)(-(double)a * s->glob[2 * c] / N));
	}
}

static void bn_sync_backward(bn_job *j)
{
	const int C = j->n->out.c;
	double *area = sync_area(j);
	bn_sync_job s = {j, area, area + 2 * C, NULL};
	thaw_parallel_for(C, sync_grad_sums, &s);
	memcpy(s.glob, s.loc, 2 * (size_t)C * sizeof(double));
	if (thaw_dist_sum_double(s.glob, 2 * (size_t)C) < 0)
		THAW_ASSERT(!"MPI exchange of batch norm gradients failed");
	thaw_parallel_for(C, sync_grad_in, &s);
}

static void bn_describe(const thaw_node *n, char *buf, size_t size)
{
	snprintf(buf, size, "eps %g mom %g", n->a.eps, n->a.momentum);
}

const thaw_layer_ops thaw_batchnorm_ops = {
	.name = "batchnorm",
	.setup = bn_setup,
	.init = bn_init,
	.scratch = bn_scratch,
	.forward = bn_forward,
	.backward = bn_backward,
	.describe = bn_describe,
};
