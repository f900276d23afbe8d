/* Ready-made architectures built through the public model API. */
#include "thaw/zoo.h"

thaw_model *thaw_zoo_reference_cnn(int c, int h, int w, int classes, uint64_t seed)
{
	thaw_model *m = thaw_model_new(c, h, w, seed);
	if (!m)
		return NULL;
	thaw_attrs fc2 = thaw_dense(classes);
	fc2.init = THAW_INIT_GLOROT;
	struct {
		const char *name;
		thaw_attrs a;
	} spec[] = {
		{"conv1", thaw_conv(32, 3, 1, 1)},
		{"bn1", thaw_layer(THAW_BATCHNORM)},
		{"relu1", thaw_layer(THAW_RELU)},
		{"pool1", thaw_pool(THAW_MAXPOOL, 2, 2)},
		{"conv2", thaw_conv(64, 3, 1, 1)},
		{"bn2", thaw_layer(THAW_BATCHNORM)},
		{"relu2", thaw_layer(THAW_RELU)},
		{"pool2", thaw_pool(THAW_MAXPOOL, 2, 2)},
		{"flatten", thaw_layer(THAW_FLATTEN)},
		{"fc1", thaw_dense(128)},
		{"relu3", thaw_layer(THAW_RELU)},
		{"drop1", thaw_dropout(0.25f)},
		{"fc2", fc2},
	};
	for (size_t i = 0; i < sizeof spec / sizeof *spec; i++) {
		if (thaw_model_add(m, spec[i].name, &spec[i].a, NULL, 0) < 0) {
			thaw_model_free(m);
			return NULL;
		}
	}
	return m;
}

thaw_model *thaw_zoo_text_classifier(int words, int length, int dim, int classes, uint64_t seed)
{
	thaw_model *m = thaw_model_new(1, 1, length, seed);
	if (!m)
		return NULL;
	thaw_attrs e = thaw_embedding(words, dim), p = thaw_pool_time(THAW_POOL_MEAN), d = thaw_dense(classes);
	d.init = THAW_INIT_GLOROT;
	int in[2] = {0, -1};
	if (thaw_model_add(m, "emb", &e, NULL, 0) < 0 || thaw_model_add(m, "pool", &p, in, 2) < 0 ||
	    thaw_model_add(m, "head", &d, NULL, 0) < 0) {
		thaw_model_free(m);
		return NULL;
	}
	return m;
}
