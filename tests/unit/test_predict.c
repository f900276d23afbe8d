/* The prediction verb: softmax, top K and per-image loss agree with the
 * forward pass; a PNG file predicts as its data-set image does; models
 * whose output is no class-score vector are refused. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "tmpdir.h"
#include "thaw/png.h"
#include "thaw/predict.h"
#include "thaw/train.h"
#include "thaw/zoo.h"

static thaw_dataset *data(int n)
{
	thaw_synth_opts so = thaw_synth_opts_default();
	so.n = n;
	so.classes = 4;
	so.h = so.w = 12;
	so.seed = 3;
	return thaw_synth(&so);
}

static void test_predict_matches_forward(void)
{
	thaw_dataset *d = data(37);
	thaw_model *m = thaw_zoo_reference_cnn(1, 12, 12, 4, 5);
	m->input.mean[0] = 0.2f;
	m->input.std[0] = 0.3f;
	thaw_prediction p[37];
	int top[37 * 3];
	float tp[37 * 3];
	CHECK_OK(thaw_predict(m, d, 8, p, 3, top, tp)); /* batches of 8: a short last one */
	/* the reference: one forward over everything */
	size_t img = 12 * 12;
	float *x = malloc(sizeof(float) * img * 37), probs[37 * 4];
	int32_t y[37];
	int ix[37];
	for (int i = 0; i < 37; i++)
		ix[i] = i;
	thaw_loader_opts lo = thaw_loader_opts_default();
	thaw_loader_opts_from_spec(&lo, &m->input);
	thaw_batch_fill(x, y, d, ix, 37, &lo, 0);
	CHECK_OK(thaw_eval_batch(m, x, NULL, 37, NULL, probs));
	double worst = 0;
	int order_ok = 1, argmax_ok = 1;
	for (int i = 0; i < 37; i++) {
		const float *pi = probs + i * 4;
		int best = 0;
		for (int k = 1; k < 4; k++)
			best = pi[k] > pi[best] ? k : best;
		argmax_ok &= p[i].cls == best && top[i * 3] == best;
		worst = fmax(worst, fabs(p[i].conf - pi[best]));
		worst = fmax(worst, fabs(p[i].loss + log(pi[d->y[i]])));
		worst = fmax(worst, fabs(tp[i * 3 + 1] - pi[top[i * 3 + 1]]));
		order_ok &= tp[i * 3] >= tp[i * 3 + 1] && tp[i * 3 + 1] >= tp[i * 3 + 2] &&
			    top[i * 3] != top[i * 3 + 1] && top[i * 3 + 1] != top[i * 3 + 2];
	}
	CHECK(argmax_ok);
	CHECK(order_ok);
	CHECKF(worst < 1e-4, "largest difference %g", worst);
	/* k larger than the outputs: the rest is -1 / 0 */
	int t6[37 * 6];
	float p6[37 * 6];
	CHECK_OK(thaw_predict(m, d, 64, p, 6, t6, p6));
	CHECK(t6[4] == -1 && t6[5] == -1 && p6[5] == 0 && t6[3] >= 0);
	/* a PNG of image 5 predicts as image 5 does */
	uint8_t px[144];
	memcpy(px, thaw_dataset_image(d, 5), 144);
	CHECK_OK(thaw_png_write(tpath("five.png"), px, 1, 12, 12));
	thaw_prediction one;
	int t1[2];
	float p1[2];
	int cls = thaw_predict_file(m, tpath("five.png"), &one, 2, t1, p1);
	CHECK(cls == p[5].cls && one.cls == cls && isnan(one.loss));
	CHECK_NEAR(one.conf, p[5].conf, 1e-5);
	CHECK(t1[0] == top[5 * 3] && t1[1] == top[5 * 3 + 1]);
	/* an RGB file of another size is converted to the model's input */
	uint8_t rgb[3 * 20 * 16];
	for (int i = 0; i < 3 * 20 * 16; i++)
		rgb[i] = (uint8_t)(i * 7);
	CHECK_OK(thaw_png_write(tpath("rgb.png"), rgb, 3, 20, 16));
	CHECK(thaw_predict_file(m, tpath("rgb.png"), &one, 0, NULL, NULL) >= 0);
	CHECK_ERR(thaw_predict_file(m, tpath("missing.png"), &one, 0, NULL, NULL), "missing.png");
	/* wrong input size and a cut model are refused with what to do */
	thaw_model *m16 = thaw_zoo_reference_cnn(1, 16, 16, 4, 5);
	CHECK_ERR(thaw_predict(m16, d, 8, p, 0, NULL, NULL), "expects 1x16x16");
	CHECK_OK(thaw_model_truncate(m, "pool2"));
	CHECK_ERR(thaw_predict(m, d, 8, p, 0, NULL, NULL), "model output is 64x3x3, not a vector of class scores");
	CHECK_ERR(thaw_predict_file(m, tpath("five.png"), &one, 0, NULL, NULL), "add a head");
	free(x);
	thaw_model_free(m16);
	thaw_model_free(m);
	thaw_dataset_free(d);
}

int main(void)
{
	if (tmpdir_make("thaw-predict") < 0)
		return 1;
	RUN(test_predict_matches_forward);
	tmpdir_remove();
	return check_done();
}
