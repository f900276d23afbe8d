/* The prediction verb: batches through the model in inference mode, softmax,
 * top K, per-image loss. */
#include "thaw/predict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thaw/image.h"

/* (a, ia) ranks before (b, ib): the larger score, ties to the lower index */
static int before(float a, int ia, float b, int ib) { return a > b || (a == b && ia < ib); }

int thaw_predict_batch(thaw_model *m, const float *x, const int32_t *labels, int B,
		       thaw_prediction *out, int k, int *top_cls, float *top_p)
{
	if (!m || !x || B <= 0 || !out || k < 0)
		return thaw_error(THAW_EINVAL, "predict: needs a model, a batch and an output array");
	int K = thaw_model_class_count(m);
	if (K < 0)
		return K;
	int rc = thaw_model_forward(m, x, B, 0);
	if (rc < 0)
		return rc;
	const float *logits = thaw_model_output(m);
	for (int i = 0; i < B; i++) {
		const float *z = logits + (size_t)i * K;
		int best = 0;
		for (int c = 1; c < K; c++)
			best = z[c] > z[best] ? c : best;
		double sum = 0;
		for (int c = 0; c < K; c++)
			sum += exp((double)(z[c] - z[best]));
		out[i].cls = best;
		out[i].conf = (float)(1.0 / sum);
		int y = labels ? labels[i] : -1;
		out[i].loss = y >= 0 && y < K ? (float)(log(sum) + z[best] - z[y]) : NAN;
		/* top k by repeated scans below the last pick: no scratch memory */
		int prev = -1;
		for (int j = 0; j < k; j++) {
			int pick = -1;
			for (int c = 0; j < K && c < K; c++)
				if ((prev < 0 || before(z[prev], prev, z[c], c)) && (pick < 0 || before(z[c], c, z[pick], pick)))
					pick = c;
			if (top_cls)
				top_cls[(size_t)i * k + j] = pick;
			if (top_p)
				top_p[(size_t)i * k + j] = pick >= 0 ? (float)(exp((double)(z[pick] - z[best])) / sum) : 0;
			prev = pick >= 0 ? pick : prev;
		}
	}
	return 0;
}

int thaw_predict(thaw_model *m, const thaw_dataset *d, int batch, thaw_prediction *out, int k,
		 int *top_cls, float *top_p)
{
	if (!m || !d || batch <= 0 || (!out && d->n > 0) || k < 0)
		return thaw_error(THAW_EINVAL, "predict: needs a model, data, batch > 0 and an output array");
	int K = thaw_model_class_count(m);
	if (K < 0)
		return K;
	if (d->c != m->input.c || d->h != m->input.h || d->w != m->input.w)
		return thaw_error(THAW_ESHAPE,
				  "predict: data '%s' is %dx%dx%d but the model expects %dx%dx%d (convert it first)",
				  d->source, d->c, d->h, d->w, m->input.c, m->input.h, m->input.w);
	if (d->n == 0)
		return 0;
	int B = batch < d->n ? batch : d->n;
	size_t img = (size_t)d->c * d->h * d->w;
	float *x = thaw_malloc(img * (size_t)B * sizeof *x);
	int32_t *y = thaw_malloc((size_t)B * sizeof *y);
	int *ix = thaw_malloc((size_t)B * sizeof *ix);
	int rc = (x && y && ix) ? 0 : THAW_ENOMEM;
	thaw_loader_opts lo = thaw_loader_opts_default();
	thaw_loader_opts_from_spec(&lo, &m->input);
	for (int start = 0; rc == 0 && start < d->n; start += B) {
		int nb = d->n - start < B ? d->n - start : B;
		for (int i = 0; i < nb; i++)
			ix[i] = start + i;
		thaw_batch_fill(x, y, d, ix, nb, &lo, 0);
		size_t row = (size_t)start * k;
		rc = thaw_predict_batch(m, x, y, nb, out + start, k, top_cls ? top_cls + row : NULL,
					top_p ? top_p + row : NULL);
	}
	free(x);
	free(y);
	free(ix);
	return rc;
}

thaw_dataset *thaw_image_load(const char *path, const thaw_input_spec *spec)
{
	uint8_t *px = NULL;
	int c, h, w;
	/* PNG or JPEG by its bytes; a big JPEG decodes at reduced scale, never
	 * below the model's size */
	if (thaw_image_read(path, spec ? spec->h : 0, spec ? spec->w : 0, &px, &c, &h, &w) < 0)
		return NULL; /* the message names the file */
	thaw_dataset *d = thaw_dataset_new(1, c, h, w, 1);
	if (!d) {
		free(px);
		return NULL;
	}
	memcpy(d->x, px, (size_t)c * h * w);
	free(px);
	snprintf(d->source, sizeof d->source, "%s", path);
	if (!spec)
		return d;
	thaw_dataset *t = thaw_dataset_to_spec(d, spec, NULL, 0);
	thaw_dataset_free(d);
	if (!t)
		thaw_error_prefix("%s", path);
	return t;
}

int thaw_predict_file(thaw_model *m, const char *path, thaw_prediction *out, int k, int *top_cls,
		      float *top_p)
{
	if (!m || !path)
		return thaw_error(THAW_EINVAL, "predict: needs a model and a file");
	int rc = thaw_model_class_count(m);
	if (rc < 0)
		return rc;
	thaw_dataset *d = thaw_image_load(path, &m->input);
	if (!d)
		return THAW_EIO;
	thaw_prediction p;
	rc = thaw_predict(m, d, 1, &p, k, top_cls, top_p);
	thaw_dataset_free(d);
	if (rc < 0) {
		thaw_error_prefix("%s", path);
		return rc;
	}
	p.loss = NAN; /* a file has no label */
	if (out)
		*out = p;
	return p.cls;
}
