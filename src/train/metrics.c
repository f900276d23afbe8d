/* Loss, top-1 and top-k accuracy, and the confusion matrix over batches. */
#include <stdlib.h>
#include <string.h>

#include "thaw/train.h"

thaw_metrics *thaw_metrics_new(int K, int topk)
{
	if (K <= 0 || K > 100000) {
		thaw_error(THAW_EINVAL, "metrics: %d classes", K);
		return NULL;
	}
	thaw_metrics *mt = thaw_calloc(1, sizeof *mt);
	if (!mt)
		return NULL;
	mt->K = K;
	mt->topk = topk < 1 ? 1 : topk > K ? K : topk;
	mt->confusion = thaw_calloc((size_t)K * K, sizeof *mt->confusion);
	if (!mt->confusion) {
		free(mt);
		return NULL;
	}
	return mt;
}

void thaw_metrics_free(thaw_metrics *mt)
{
	if (!mt)
		return;
	free(mt->confusion);
	free(mt);
}

void thaw_metrics_reset(thaw_metrics *mt)
{
	mt->n = mt->correct = mt->correct_topk = 0;
	mt->loss_sum = 0;
	memset(mt->confusion, 0, (size_t)mt->K * mt->K * sizeof *mt->confusion);
}

void thaw_metrics_add(thaw_metrics *mt, const float *scores, const int32_t *labels, int B,
		      double loss_sum)
{
	const int K = mt->K;
	for (int i = 0; i < B; i++) {
		const float *s = scores + (size_t)i * K;
		int best = 0, above = 0, y = labels[i];
		for (int k = 1; k < K; k++)
			if (s[k] > s[best])
				best = k;
		if (y < 0 || y >= K)
			continue;
		for (int k = 0; k < K; k++)
			above += s[k] > s[y];
		mt->correct += best == y;
		mt->correct_topk += above < mt->topk;
		mt->confusion[(size_t)y * K + best]++;
		mt->n++;
	}
	mt->loss_sum += loss_sum;
}

double thaw_metrics_loss(const thaw_metrics *mt) { return mt->n ? mt->loss_sum / mt->n : 0; }
double thaw_metrics_accuracy(const thaw_metrics *mt) { return mt->n ? (double)mt->correct / mt->n : 0; }
double thaw_metrics_topk(const thaw_metrics *mt) { return mt->n ? (double)mt->correct_topk / mt->n : 0; }

double thaw_metrics_class_accuracy(const thaw_metrics *mt, int k)
{
	if (k < 0 || k >= mt->K)
		return 0;
	long row = 0;
	for (int j = 0; j < mt->K; j++)
		row += mt->confusion[(size_t)k * mt->K + j];
	return row ? (double)mt->confusion[(size_t)k * mt->K + k] / row : 0;
}
