/* thaw predict: the one prediction verb. Runs a model in inference mode over
 * a data set (or one image file) and gives, per image, the top class, its
 * softmax probability, the loss against the image's label and optionally
 * the top K classes. The CLI (thaw predict / thaw eval), the Lua binding
 * and the workbench all predict through it. The caller owns every buffer.
 *
 *   thaw_prediction p[n];
 *   int top[n * 3]; float prob[n * 3];
 *   thaw_predict(m, d, 256, p, 3, top, prob);    // d conformed to m->input
 *   thaw_prediction one;
 *   thaw_predict_file(m, "shoe.png", &one, 3, top, prob);
 */
#ifndef THAW_PREDICT_H
#define THAW_PREDICT_H

#include "thaw/data.h"
#include "thaw/model.h"

typedef struct thaw_prediction {
	int cls;    /* the top class (an output index) */
	float conf; /* its softmax probability */
	float loss; /* cross-entropy against the image's label; NaN when the
		     * label is outside the outputs or there is none (a file) */
} thaw_prediction;

/* Predicts every image of d (its shape must be the model's input: convert
 * with thaw_dataset_to_spec) in batches of `batch`, normalised with the
 * model's mean and std. out has d->n entries; with k > 0, top_cls and
 * top_p (either may be NULL) get (d->n, k) classes and probabilities, best
 * first (k is clamped to the output width; unused slots get -1 and 0).
 * Refuses a model whose output is no vector of class scores. Returns 0
 * or < 0. */
int thaw_predict(thaw_model *m, const thaw_dataset *d, int batch, thaw_prediction *out, int k,
		 int *top_cls, float *top_p);

/* The same for one batch x (B, c, h, w), already normalised; labels may be
 * NULL (losses NaN). Allocates nothing; afterwards thaw_model_output(m)
 * holds the batch's logits (B, K), e.g. for thaw_metrics_add. */
int thaw_predict_batch(thaw_model *m, const float *x, const int32_t *labels, int B,
		       thaw_prediction *out, int k, int *top_cls, float *top_p);

/* One image file as a 1-image data set (label 0, one class) at spec's
 * channels and size, fitted by its resize policy (spec NULL: as stored).
 * The one place image files are read for prediction: PNG or JPEG (told
 * apart by their bytes), EXIF orientation applied, a big JPEG decoded at
 * reduced scale but never below spec's size. */
thaw_dataset *thaw_image_load(const char *path, const thaw_input_spec *spec);

/* Predicts one image file at the model's own size, channels and
 * normalisation; out, top_cls, top_p as for thaw_predict (one row). Returns
 * the top class or < 0 with a message naming the file. */
int thaw_predict_file(thaw_model *m, const char *path, thaw_prediction *out, int k, int *top_cls,
		      float *top_p);

#endif
