/* Data-parallel training over MPI: the gradient exchange, the feature cache
 * in shares, sharded evaluation, the replica check. */
#include "dist_train.h"

#include <stdlib.h>
#include <string.h>

/* Nodes whose gradients the last backward wrote (as the optimizer sees it). */
static int fresh(const thaw_node *n) { return n->trainable && n->bw && thaw_node_has_weights(n); }

/* A batch norm that normalised with batch statistics moved its running ones. */
static int moves_stats(const thaw_node *n) { return n->kind == THAW_BATCHNORM && n->trainable; }

size_t dist_pack_cap(const thaw_model *m)
{
	size_t c = 3;
	for (int i = 0; i < m->n; i++)
		for (int k = 0; k < m->nodes[i]->np; k++)
			c += m->nodes[i]->p[k].size;
	return c;
}

/* Copies the exchanged values into pack (out = 1) or back from it (out = 0),
 * in node order. Returns the count. */
static size_t walk(thaw_model *m, float *pack, int bn_local, int out, float stat_scale)
{
	size_t at = 0;
	for (int i = 0; i < m->n; i++) {
		thaw_node *n = m->nodes[i];
		if (!fresh(n))
			continue;
		for (int k = 0; k < n->np; k++) {
			thaw_param *p = &n->p[k];
			if (!p->g || p->is_buffer)
				continue;
			if (out)
				memcpy(pack + at, p->g, p->size * sizeof(float));
			else
				memcpy(p->g, pack + at, p->size * sizeof(float));
			at += p->size;
		}
	}
	for (int i = 0; bn_local && i < m->n; i++) {
		thaw_node *n = m->nodes[i];
		if (!moves_stats(n))
			continue;
		for (int k = 0; k < n->np; k++) {
			thaw_param *p = &n->p[k];
			if (!p->is_buffer)
				continue;
			if (out)
				memcpy(pack + at, p->w, p->size * sizeof(float));
			else
				for (size_t j = 0; j < p->size; j++)
					p->w[j] = pack[at + j] * stat_scale;
			at += p->size;
		}
	}
	return at;
}

int dist_reduce_step(thaw_model *m, float *pack, int bn_local, double *loss_sum, int *correct, int *count)
{
	int N = thaw_dist_size();
	if (N <= 1)
		return 0;
	size_t n = walk(m, pack, bn_local, 1, 1.0f);
	pack[n] = (float)*loss_sum;
	pack[n + 1] = (float)*correct;
	pack[n + 2] = (float)*count;
	int rc = thaw_dist_sum_float(pack, n + 3);
	if (rc < 0)
		return rc;
	walk(m, pack, bn_local, 0, 1.0f / (float)N);
	*loss_sum = pack[n];
	*correct = (int)(pack[n + 1] + 0.5f);
	*count = (int)(pack[n + 2] + 0.5f);
	return 0;
}

float *dist_cache_build(thaw_model *m, const thaw_dataset *d, int cut, int batch, size_t F)
{
	int N = thaw_dist_size(), R = thaw_dist_rank();
	size_t *bytes = thaw_calloc((size_t)N, sizeof *bytes);
	float *feat = thaw_aligned(F * (size_t)d->n * sizeof(float) + 64);
	size_t is = (size_t)d->c * d->h * d->w;
	float *x = thaw_aligned((size_t)batch * is * sizeof(float) + 64);
	int32_t *y = thaw_malloc((size_t)batch * sizeof *y);
	int *idx = thaw_malloc((size_t)batch * sizeof *idx);
	int rc = bytes && feat && x && y && idx ? 0 : THAW_ENOMEM;
	for (int r = 0; r < N; r++)
		bytes[r] = ((size_t)d->n * (r + 1) / N - (size_t)d->n * r / N) * F * sizeof(float);
	thaw_loader_opts lo = thaw_loader_opts_default();
	thaw_loader_opts_from_spec(&lo, &m->input);
	int first = (int)((long)d->n * R / N), last = (int)((long)d->n * (R + 1) / N);
	for (int at = first; rc == 0 && at < last; at += batch) {
		int B = last - at < batch ? last - at : batch;
		for (int i = 0; i < B; i++)
			idx[i] = at + i;
		thaw_batch_fill(x, y, d, idx, B, &lo, 0);
		if ((rc = thaw_model_forward_range(m, 0, cut, x, B, 0)) < 0)
			break;
		memcpy(feat + (size_t)at * F, m->nodes[cut]->y, (size_t)B * F * sizeof(float));
	}
	/* every rank reaches the exchange, even one that failed: the others
	 * wait there, and the failed one then ends the job */
	if (rc == 0)
		rc = thaw_dist_allgather(feat, bytes);
	free(bytes);
	free(x);
	free(y);
	free(idx);
	if (rc < 0) {
		free(feat);
		return NULL;
	}
	return feat;
}

void dist_shard_view(const thaw_dataset *d, thaw_dataset *view)
{
	int N = thaw_dist_size(), R = thaw_dist_rank();
	int first = (int)((long)d->n * R / N), last = (int)((long)d->n * (R + 1) / N);
	*view = *d;
	view->n = last - first;
	view->x = d->x + (size_t)first * d->c * d->h * d->w;
	view->y = d->y + first;
}

int dist_metrics_reduce(thaw_metrics *mt, thaw_metrics *into)
{
	size_t KK = (size_t)mt->K * mt->K;
	long *c = thaw_malloc((KK + 3) * sizeof *c);
	if (!c)
		return THAW_ENOMEM;
	c[0] = mt->n, c[1] = mt->correct, c[2] = mt->correct_topk;
	memcpy(c + 3, mt->confusion, KK * sizeof *c);
	double loss = mt->loss_sum;
	int rc = thaw_dist_sum_long(c, KK + 3);
	if (rc == 0)
		rc = thaw_dist_sum_double(&loss, 1);
	if (rc == 0) {
		into->n += c[0], into->correct += c[1], into->correct_topk += c[2];
		into->loss_sum += loss;
		for (size_t i = 0; i < KK; i++)
			into->confusion[i] += c[3 + i];
	}
	free(c);
	return rc;
}

int dist_check_replicas(const thaw_model *m, const char *when)
{
	int N = thaw_dist_size();
	if (N <= 1)
		return 0;
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a over the bits, a float at a time */
	for (int i = 0; i < m->n; i++)
		for (int k = 0; k < m->nodes[i]->np; k++) {
			const thaw_param *p = &m->nodes[i]->p[k];
			for (size_t j = 0; j < p->size; j++) {
				uint32_t b;
				memcpy(&b, p->w + j, sizeof b);
				h = (h ^ b) * 0x100000001b3ull;
			}
		}
	uint64_t *all = thaw_calloc((size_t)N, sizeof *all);
	size_t *bytes = thaw_calloc((size_t)N, sizeof *bytes);
	int rc = all && bytes ? 0 : THAW_ENOMEM;
	if (rc == 0) {
		for (int r = 0; r < N; r++)
			bytes[r] = sizeof *all;
		all[thaw_dist_rank()] = h;
		rc = thaw_dist_allgather(all, bytes);
	}
	for (int r = 1; rc == 0 && r < N; r++)
		if (all[r] != all[0])
			rc = thaw_error(THAW_EINVAL,
					"%s: the weights of rank %d differ from rank 0's: the ranks no longer train "
					"one model (did the script give ranks different data or settings?)",
					when, r);
	free(all);
	free(bytes);
	return rc;
}
