/* The model graph: building, surgery (pop, truncate, insert, replace head),
 * freezing by index, glob and name, the summary, and argument errors. */
#include <stdlib.h>

#include "check.h"
#include "thaw/model.h"
#include "thaw/zoo.h"

static void test_reference_cnn_shapes_and_counts(void)
{
	thaw_model *m = thaw_zoo_reference_cnn(1, 28, 28, 10, 1);
	CHECKF(m != NULL, "%s", thaw_errmsg());
	if (!m)
		return;
	CHECK(m->n == 13);
	thaw_shape o = thaw_model_output_shape(m);
	CHECK(o.c == 10 && o.h == 1 && o.w == 1);
	int f = thaw_model_find(m, "flatten");
	CHECK(f == 8 && m->nodes[f]->out.c == 64 * 7 * 7);
	thaw_param_counts c = thaw_model_count(m);
	/* conv1 320, bn1 64, conv2 18496, bn2 128, fc1 401536, fc2 1290 */
	CHECK(c.trainable == 320 + 64 + 18496 + 128 + 401536 + 1290 && c.frozen == 0);
	CHECK_OK(thaw_model_freeze_upto(m, "pool2"));
	c = thaw_model_count(m);
	CHECK(c.frozen == 320 + 64 + 18496 + 128 && c.trainable == 401536 + 1290);
	char *s = thaw_model_summary(m);
	CHECK(s && strstr(s, "conv1") && strstr(s, "frozen (running stats)") && strstr(s, "trainable: 402826") &&
	      strstr(s, "frozen: 19008"));
	if (s && check_fail)
		printf("%s", s);
	free(s);
	thaw_model_free(m);
}

static void test_surgery(void)
{
	thaw_model *m = thaw_zoo_reference_cnn(1, 28, 28, 10, 1);
	/* pop the old head, add one for 5 classes */
	CHECK_OK(thaw_model_pop(m));
	CHECK(m->n == 12 && thaw_model_find(m, "fc2") < 0);
	thaw_attrs head = thaw_dense(5);
	CHECK(thaw_model_add(m, "head", &head, NULL, 0) == 12);
	CHECK(thaw_model_output_shape(m).c == 5);
	CHECK_OK(thaw_model_replace_head(m, 3, "head3"));
	CHECK(thaw_model_output_shape(m).c == 3 && thaw_model_find(m, "head") < 0);
	/* truncate after the first conv block, then extend */
	CHECK_OK(thaw_model_truncate(m, "pool1"));
	CHECK(m->n == 4);
	thaw_attrs gap = thaw_layer(THAW_GLOBALAVGPOOL), d = thaw_dense(7);
	CHECK(thaw_model_add(m, NULL, &gap, NULL, 0) == 4);
	CHECK(strcmp(m->nodes[4]->name, "globalavgpool_1") == 0);
	CHECK(thaw_model_add(m, "out", &d, NULL, 0) == 5);
	CHECK(m->nodes[5]->p[0].dims[1] == 32);
	/* insert a shape-preserving layer in the middle: inputs rewired */
	thaw_attrs bn = thaw_layer(THAW_BATCHNORM);
	CHECK(thaw_model_insert(m, 3, "bn_extra", &bn) == 3);
	CHECK(m->n == 7 && m->nodes[3]->in[0] == 2 && m->nodes[4]->in[0] == 3 && m->nodes[5]->in[0] == 4);
	/* an insert that would change a weighted node's input shape is refused, nothing changed */
	thaw_attrs pool = thaw_pool(THAW_MAXPOOL, 2, 2);
	thaw_attrs fl = thaw_layer(THAW_FLATTEN), d2 = thaw_dense(4);
	thaw_model_add(m, "flat", &fl, (int[]){4}, 1);
	thaw_model_add(m, "dense_after", &d2, NULL, 0);
	int before = m->n;
	CHECK_ERR(thaw_model_insert(m, 4, "shrink", &pool), "node 'dense_after'");
	CHECK(m->n == before && thaw_model_find(m, "shrink") < 0 && m->nodes[4]->in[0] == 3);
	/* run it: forward works after all that surgery */
	float x[2 * 28 * 28] = {0};
	CHECK_OK(thaw_model_forward(m, x, 2, 0));
	CHECK_ERR(thaw_model_truncate(m, "nope"), "no node named 'nope'");
	thaw_model_free(m);
}

static void test_argument_errors(void)
{
	thaw_model *m = thaw_model_new(3, 8, 8, 1);
	thaw_attrs a = thaw_dense(0);
	CHECK_ERR(thaw_model_add(m, "fc", &a, NULL, 0), "node 'fc' (dense): units must be positive");
	thaw_attrs c = thaw_conv(4, 3, 1, 0);
	CHECK(thaw_model_add(m, "c1", &c, NULL, 0) == 0);
	CHECK_ERR(thaw_model_add(m, "c1", &c, NULL, 0), "already exists");
	CHECK_ERR(thaw_model_add(m, "bad name", &c, NULL, 0), "may not contain spaces");
	CHECK_ERR(thaw_model_add(m, "c2", &c, (int[]){5}, 1), "input 0 refers to node 5");
	thaw_attrs add = thaw_layer(THAW_ADD);
	/* a residual add of mismatched shapes names the node and both shapes */
	int rc = thaw_model_add(m, "res", &add, (int[]){-1, 0}, 2);
	CHECKF(rc < 0 && strstr(thaw_errmsg(), "'res'") && strstr(thaw_errmsg(), "3x8x8") &&
		       strstr(thaw_errmsg(), "4x6x6"),
	       "%s", thaw_errmsg());
	CHECK_ERR(thaw_model_set_trainable(m, 0, 9, 0), "node range 0..9");
	CHECK_ERR(thaw_model_set_trainable_glob(m, "fc*", 0), "no node name matches 'fc*'");
	CHECK(thaw_model_pop(m) == 0 && m->n == 0);
	CHECK_ERR(thaw_model_pop(m), "no nodes");
	CHECK(thaw_model_new(0, 8, 8, 1) == NULL && strstr(thaw_errmsg(), "0x8x8"));
	float x[3 * 64];
	CHECK_ERR(thaw_model_forward(m, x, 1, 0), "no nodes");
	thaw_model_free(m);
	thaw_model_free(NULL);
}

static void test_freeze_by_glob_and_range(void)
{
	thaw_model *m = thaw_zoo_reference_cnn(1, 28, 28, 10, 1);
	CHECK(thaw_model_set_trainable_glob(m, "conv*", 0) == 2);
	CHECK(!m->nodes[0]->trainable && !m->nodes[4]->trainable && m->nodes[1]->trainable);
	CHECK(thaw_model_lowest_trainable(m) == 1);
	CHECK(thaw_model_set_trainable(m, 0, 12, 0) == 11);
	CHECK(thaw_model_lowest_trainable(m) == 13);
	CHECK(thaw_model_set_trainable_glob(m, "fc?", 1) == 2);
	CHECK(thaw_model_lowest_trainable(m) == 9);
	/* selectors: ranges and upto:NAME mark exactly those nodes */
	char mark[13] = {0};
	CHECK(thaw_model_select(m, "upto:pool1", mark) == 4 && mark[3] && !mark[4]);
	memset(mark, 0, sizeof mark);
	CHECK(thaw_model_select(m, "4-5", mark) == 2 && mark[4] && mark[5] && !mark[6]);
	memset(mark, 0, sizeof mark);
	CHECK(thaw_model_select(m, "12", mark) == 1 && mark[12]);
	CHECK_ERR(thaw_model_select(m, "3-20", mark), "node range 3..20 outside 0..12");
	CHECK_ERR(thaw_model_select(m, "upto:nope", mark), "no node named 'nope'");
	thaw_model_free(m);
}

static int has_names(const thaw_model *m) { return m->n_classes > 0 || m->class_names != NULL; }

static void test_class_names_follow_the_head(void)
{
	const char *five[] = {"a", "b", "c", "d", "e"};
	thaw_model *m = thaw_zoo_reference_cnn(1, 28, 28, 5, 1);
	CHECK_OK(thaw_model_set_classes(m, five, 5));
	CHECK(m->n_classes == 5);
	/* the wrong count is an error and keeps the old names */
	CHECK_ERR(thaw_model_set_classes(m, five, 2), "2 names for a model with 5 outputs");
	CHECK(m->n_classes == 5 && !strcmp(m->class_names[4], "e"));
	CHECK_OK(thaw_model_pop(m));
	CHECK(!has_names(m));
	thaw_attrs d10 = thaw_dense(10);
	CHECK(thaw_model_add(m, "head", &d10, NULL, 0) >= 0);
	CHECK(!has_names(m) && thaw_model_class_count(m) == 10);
	/* replace_head drops them */
	const char *ten[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
	CHECK_OK(thaw_model_set_classes(m, ten, 10));
	CHECK_OK(thaw_model_replace_head(m, 3, "h3"));
	CHECK(!has_names(m));
	/* adding after the output drops them, even when the width stays */
	CHECK_OK(thaw_model_set_classes(m, five, 3));
	thaw_attrs relu = thaw_layer(THAW_RELU);
	CHECK(thaw_model_add(m, NULL, &relu, NULL, 0) >= 0);
	CHECK(!has_names(m));
	/* truncate drops them, and the cut output is no vector of class scores */
	CHECK_OK(thaw_model_set_classes(m, five, 3));
	char out[THAW_NAME_MAX];
	snprintf(out, sizeof out, "%s", m->nodes[m->n - 1]->name);
	CHECK_OK(thaw_model_truncate(m, out));
	CHECK(m->n_classes == 3); /* truncating at the output itself changes nothing */
	CHECK_OK(thaw_model_truncate(m, "pool2"));
	CHECK(!has_names(m));
	CHECK_ERR(thaw_model_class_count(m), "model output is 64x7x7, not a vector of class scores: add a head");
	CHECK_ERR(thaw_model_set_classes(m, five, 5), "not a vector of class scores");
	/* an insert that keeps the output width keeps the names */
	thaw_attrs gap = thaw_layer(THAW_GLOBALAVGPOOL), d3 = thaw_dense(3);
	thaw_model_add(m, NULL, &gap, NULL, 0);
	thaw_model_add(m, "out", &d3, NULL, 0);
	CHECK_OK(thaw_model_set_classes(m, five, 3));
	thaw_attrs bn = thaw_layer(THAW_BATCHNORM);
	CHECK(thaw_model_insert(m, 2, "bn_mid", &bn) == 2);
	CHECK(m->n_classes == 3);
	CHECK_OK(thaw_model_set_classes(m, NULL, 0));
	CHECK(!has_names(m));
	thaw_model_free(m);
}

/* Names are looked up in a hash table kept through every surgery: each
 * node is found at its index after adds, inserts, pops and truncation, and
 * a default name that went is given out again. */
static void test_names_follow_surgery(void)
{
	thaw_model *m = thaw_model_new(1, 4, 4, 1);
	thaw_attrs relu = thaw_layer(THAW_RELU);
	for (int i = 0; i < 300; i++)
		CHECK(thaw_model_add(m, NULL, &relu, NULL, 0) == i);
	CHECK(strcmp(m->nodes[299]->name, "relu_300") == 0);
	CHECK(thaw_model_insert(m, 10, "mid", &relu) == 10);
	CHECK(thaw_model_insert(m, 0, NULL, &relu) == 0); /* relu_301 */
	CHECK(strcmp(m->nodes[0]->name, "relu_301") == 0);
	CHECK_OK(thaw_model_pop(m));                     /* relu_300 goes */
	CHECK_OK(thaw_model_truncate(m, "relu_200"));    /* relu_201..299 go */
	int ok = 1;
	for (int i = 0; i < m->n; i++)
		ok &= thaw_model_find(m, m->nodes[i]->name) == i;
	CHECK(ok);
	CHECK(m->n == 202);
	CHECK(thaw_model_find(m, "mid") == 11);
	CHECK(thaw_model_find(m, "relu_250") == -1 && thaw_model_find(m, "relu_300") == -1);
	CHECK(thaw_model_add(m, NULL, &relu, NULL, 0) == 202);
	CHECKF(strcmp(m->nodes[202]->name, "relu_201") == 0, "%s", m->nodes[202]->name);
	CHECK_ERR(thaw_model_add(m, "mid", &relu, NULL, 0), "already exists");
	while (m->n > 1)
		CHECK_OK(thaw_model_pop(m));
	CHECK(thaw_model_find(m, "relu_301") == 0 && thaw_model_find(m, "mid") == -1);
	CHECK(thaw_model_add(m, NULL, &relu, NULL, 0) == 1);
	CHECKF(strcmp(m->nodes[1]->name, "relu_1") == 0, "%s", m->nodes[1]->name);
	thaw_model_free(m);
}

/* Shape arithmetic is checked in 64 bits before a layer's int arithmetic
 * runs: huge pads, dilations and outputs are refused with the sizes. */
static void test_huge_shapes_refused(void)
{
	thaw_model *m = thaw_model_new(1, 8, 8, 1);
	thaw_attrs c = thaw_conv(4, 3, 1, 30000);
	CHECK_ERR(thaw_model_add(m, "big", &c, NULL, 0),
		  "node 'big' (conv2d): output shape 4x60006x60006 has 14402880144 values per image (at most 2147483647)");
	c = thaw_conv(4, 3, 1, 1 << 30);
	CHECK_ERR(thaw_model_add(m, "big", &c, NULL, 0), "node 'big' (conv2d): padding 1073741824 outside 0..16777216");
	c = thaw_conv(4, 3, 1, 0);
	c.dh = 1 << 30;
	CHECK_ERR(thaw_model_add(m, "big", &c, NULL, 0),
		  "node 'big' (conv2d): padded input 8x8 or kernel 2147483649x3 (dilated) exceeds 16777216");
	thaw_attrs p = thaw_pool(THAW_MAXPOOL, 1 << 30, 1);
	CHECK_ERR(thaw_model_add(m, "pool", &p, NULL, 0), "exceeds 16777216");
	CHECK(m->n == 0);
	c = thaw_conv(4, 3, 1, 1);
	CHECK_OK(thaw_model_add(m, "ok", &c, NULL, 0));
	thaw_model_free(m);
}

/* A training plan shares gradient buffers between nodes whose backward
 * spans do not overlap: a chain of eight convolutions holds two at once,
 * not eight, and training still matches a plan made fresh each time. */
static void test_gradient_buffers_shared(void)
{
	thaw_model *m = thaw_model_new(4, 16, 16, 1);
	for (int i = 0; i < 8; i++) {
		thaw_attrs a = thaw_conv(4, 3, 1, 1);
		CHECK_OK(thaw_model_add(m, NULL, &a, NULL, 0));
	}
	const int B = 3;
	size_t dy = (size_t)B * 4 * 16 * 16 * sizeof(float);
	CHECK_OK(thaw_model_plan(m, B, 0));
	size_t infer = m->arena.used;
	thaw_model_free(m);
	m = thaw_model_new(4, 16, 16, 1);
	for (int i = 0; i < 8; i++) {
		thaw_attrs a = thaw_conv(4, 3, 1, 1);
		CHECK_OK(thaw_model_add(m, NULL, &a, NULL, 0));
	}
	CHECK_OK(thaw_model_plan(m, B, 1));
	size_t train = m->arena.used;
	CHECKF(train - infer <= 2 * dy, "training plan adds %zu bytes for gradients, 2 buffers are %zu", train - infer,
	       2 * dy);
	/* neighbours never share: the dy a node reads and the one it writes */
	for (int i = 1; i < m->n; i++)
		CHECK(m->nodes[i]->dy != m->nodes[i - 1]->dy);
	thaw_model_free(m);
}

int main(void)
{
	RUN(test_class_names_follow_the_head);
	RUN(test_names_follow_surgery);
	RUN(test_huge_shapes_refused);
	RUN(test_reference_cnn_shapes_and_counts);
	RUN(test_surgery);
	RUN(test_argument_errors);
	RUN(test_freeze_by_glob_and_range);
	RUN(test_gradient_buffers_shared);
	return check_done();
}
