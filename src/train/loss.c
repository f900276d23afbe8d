/* Softmax cross-entropy, stable for any logits. */
#include <math.h>

#include "thaw/train.h"

void thaw_softmax(float *out, const float *in, int B, int K)
{
	for (int i = 0; i < B; i++) {
		const float *z = in + (size_t)i * K;
		float *p = out + (size_t)i * K;
		float mx = z[0];
		for (int k = 1; k < K; k++)
			mx = z[k] > mx ? z[k] : mx;
		float s = 0;
		for (int k = 0; k < K; k++) {
			p[k] = expf(z[k] - mx);
			s += p[k];
		}
		float inv = 1.0f / s;
		for (int k = 0; k < K; k++)
			p[k] *= inv;
	}
}

int thaw_softmax_xent(const float *logits, const int32_t *labels, int B, int K, float smoothing,
		      float *dlogits, float *probs, double *loss)
{
	if (B <= 0 || K <= 0 || !logits || !labels)
		return thaw_error(THAW_EINVAL, "cross-entropy: empty batch (B=%d, K=%d)", B, K);
	if (!(smoothing >= 0.0f && smoothing < 1.0f))
		return thaw_error(THAW_EINVAL, "cross-entropy: label smoothing %g outside [0, 1)", smoothing);
	for (int i = 0; i < B; i++)
		if (labels[i] < 0 || labels[i] >= K)
			return thaw_error(THAW_EINVAL,
					  "cross-entropy: label %d of batch row %d is outside 0..%d (the model has %d outputs)",
					  labels[i], i, K - 1, K);
	double total = 0;
	const float off = smoothing / (float)K, on = 1.0f - smoothing + off;
	const float invB = 1.0f / (float)B;
	for (int i = 0; i < B; i++) {
		const float *z = logits + (size_t)i * K;
		float mx = z[0];
		for (int k = 1; k < K; k++)
			mx = z[k] > mx ? z[k] : mx;
		double s = 0;
		for (int k = 0; k < K; k++)
			s += exp((double)(z[k] - mx));
		double lse = log(s) + mx; /* log sum exp z */
		double li = 0;
		for (int k = 0; k < K; k++) {
			float t = k == labels[i] ? on : off;
			if (t != 0.0f)
				li += t * (lse - z[k]);
			float p = (float)exp((double)z[k] - lse);
			if (probs)
				probs[(size_t)i * K + k] = p;
			if (dlogits)
				dlogits[(size_t)i * K + k] = (p - t) * invB;
		}
		total += li;
	}
	*loss = total / B;
	return 0;
}
