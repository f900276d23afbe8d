/* The transfer recipe: when a model gets a new head, where it is cut, what
 * is frozen, what the notes say; and the data for a run (classes by index
 * or name, k per class, the stratified validation hold-out, conversion). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "thaw/modelfile.h"
#include "thaw/onnx.h"
#include "thaw/transfer.h"
#include "tmpdir.h"

static int has_note(const thaw_notes *nt, const char *s)
{
	for (int i = 0; i < nt->n; i++)
		if (strstr(nt->line[i], s))
			return 1;
	return 0;
}

static void dump(const thaw_notes *nt)
{
	for (int i = 0; i < nt->n; i++)
		printf("     | %s\n", nt->line[i]);
}

#define CHECK_NOTE(nt, s)                                                                          \
	do {                                                                                       \
		int h_ = has_note(nt, s);                                                          \
		CHECKF(h_, "no note '%s'", s);                                                     \
		if (!h_)                                                                           \
			dump(nt);                                                                  \
	} while (0)

/* conv c1 (4x8x8) relu flatten fc1 (16) relu fc2 (3) drop */
static thaw_model *small_model(int named)
{
	thaw_model *m = thaw_model_new(1, 8, 8, 7);
	thaw_attrs c = thaw_conv(4, 3, 1, 1), r = thaw_layer(THAW_RELU), f = thaw_layer(THAW_FLATTEN);
	thaw_attrs d1 = thaw_dense(16), d2 = thaw_dense(3), dr = thaw_dropout(0.5f);
	thaw_model_add(m, "c1", &c, NULL, 0);
	thaw_model_add(m, "r1", &r, NULL, 0);
	thaw_model_add(m, "flatten", &f, NULL, 0);
	thaw_model_add(m, "fc1", &d1, NULL, 0);
	thaw_model_add(m, "r2", &r, NULL, 0);
	thaw_model_add(m, "fc2", &d2, NULL, 0);
	thaw_model_add(m, "drop", &dr, NULL, 0);
	if (named) {
		const char *nm[3] = {"a", "b", "c"};
		thaw_model_set_classes(m, nm, 3);
	}
	return m;
}

static thaw_dataset *named_data(int n_classes, const char *const *names)
{
	thaw_dataset *d = thaw_dataset_new(4 * n_classes, 1, 8, 8, n_classes);
	for (int i = 0; i < d->n; i++)
		d->y[i] = i % n_classes;
	thaw_dataset_set_class_names(d, names, n_classes);
	snprintf(d->source, sizeof d->source, "test data");
	return d;
}

static void test_no_transfer_when_classes_match(void)
{
	static const char *abc[3] = {"a", "b", "c"}, *bac[3] = {"b", "a", "c"};
	thaw_model *m = small_model(1);
	thaw_dataset *d = named_data(3, abc), *e = named_data(3, bac);
	thaw_notes nt = {0};
	CHECK(thaw_transfer_classes_match(m, d));
	CHECK(!thaw_transfer_classes_match(m, e)); /* the same names in another order are other classes */
	CHECK(thaw_transfer(m, d, NULL, &nt) == 0);
	CHECK(m->n == 7 && !strcmp(m->nodes[5]->name, "fc2") && m->nodes[0]->trainable);
	CHECK_NOTE(&nt, "the data's classes are the model's (a, b, c): the model keeps its head");
	thaw_notes_free(&nt);
	thaw_model_free(m);

	/* a model without names whose width matches takes the data's names */
	m = small_model(0);
	CHECK(thaw_transfer_classes_match(m, e));
	CHECK(thaw_transfer(m, e, NULL, &nt) == 0);
	CHECK(m->n == 7 && m->n_classes == 3 && m->class_names && !strcmp(m->class_names[0], "b"));
	CHECK_NOTE(&nt, "have no names: they take the data's (b, a, c)");
	thaw_notes_free(&nt);

	/* force: a new head anyway */
	thaw_transfer_opts o = thaw_transfer_opts_default();
	o.force = 1;
	CHECK(thaw_transfer(m, e, &o, &nt) == 1);
	CHECK(!strcmp(m->nodes[m->n - 1]->name, "head"));
	thaw_notes_free(&nt);
	thaw_model_free(m);
	thaw_dataset_free(d);
	thaw_dataset_free(e);
}

static void test_cut_at_last_dense(void)
{
	static const char *xy[2] = {"x", "y"};
	thaw_model *m = small_model(1);
	thaw_dataset *d = named_data(2, xy);
	thaw_notes nt = {0};
	CHECK(thaw_transfer(m, d, NULL, &nt) == 1);
	/* fc2 and the dropout after it are gone; the head reads r2 */
	CHECK(m->n == 6);
	CHECK(thaw_model_find(m, "fc2") < 0 && thaw_model_find(m, "drop") < 0);
	CHECK(!strcmp(m->nodes[5]->name, "head") && m->nodes[5]->kind == THAW_DENSE && m->nodes[5]->a.units == 2);
	CHECK(m->nodes[5]->in[0] == 4);
	CHECK(m->n_classes == 2 && !strcmp(m->class_names[0], "x") && !strcmp(m->class_names[1], "y"));
	int frozen = 1;
	for (int i = 0; i < 5; i++)
		frozen &= !m->nodes[i]->trainable;
	CHECK(frozen && m->nodes[5]->trainable);
	thaw_param_counts c = thaw_model_count(m);
	CHECK(c.trainable == 16 * 2 + 2 && c.frozen == 40 + 256 * 16 + 16);
	CHECK_NOTE(&nt, "cut after r2 (old head fc2: 3 classes; also dropped 1 layer after it)");
	CHECK_NOTE(&nt, "new head 'head': dense 16->2 for classes x, y");
	CHECK_NOTE(&nt, "froze the 5 layers before the head (4,152 params); 34 params train");
	CHECK(nt.n == 3);
	thaw_notes_free(&nt);

	/* transferring again: the head is the last dense now; a free name is found */
	thaw_transfer_opts o = thaw_transfer_opts_default();
	o.force = 1;
	o.freeze = 0;
	thaw_model_set_trainable(m, 0, m->n - 1, 1);
	CHECK(thaw_transfer(m, d, &o, &nt) == 1);
	CHECK(m->n == 6 && !strcmp(m->nodes[5]->name, "head") && m->nodes[0]->trainable);
	CHECK_NOTE(&nt, "base left as it was (not frozen here): 4,186 params train, 0 frozen");
	thaw_notes_free(&nt);
	float x[2 * 64] = {0};
	CHECK_OK(thaw_model_forward(m, x, 2, 0));
	thaw_model_free(m);
	thaw_dataset_free(d);
}

static void test_cut_at_named_node(void)
{
	static const char *xy[2] = {"x", "y"};
	thaw_model *m = small_model(1);
	thaw_dataset *d = named_data(2, xy);
	thaw_notes nt = {0};
	thaw_transfer_opts o = thaw_transfer_opts_default();
	o.cut = "r1"; /* spatial 4x8x8: a flatten goes in before the head */
	o.head_name = "cls";
	CHECK(thaw_transfer(m, d, &o, &nt) == 1);
	CHECK(m->n == 4);
	CHECK(m->nodes[2]->kind == THAW_FLATTEN && !strcmp(m->nodes[2]->name, "flatten"));
	CHECK(!strcmp(m->nodes[3]->name, "cls") && m->nodes[3]->a.units == 2);
	CHECK(!m->nodes[0]->trainable && m->nodes[3]->trainable);
	CHECK_NOTE(&nt, "cut after r1 (dropped 5 layers: flatten, ...)");
	CHECK_NOTE(&nt, "added 'flatten': 4x8x8 -> 256");
	CHECK_NOTE(&nt, "new head 'cls': dense 256->2 for classes x, y");
	thaw_notes_free(&nt);
	float x[3 * 64] = {0};
	CHECK_OK(thaw_model_forward(m, x, 3, 0));
	CHECK(thaw_model_output_shape(m).c == 2);
	thaw_model_free(m);

	/* errors leave the model as it was */
	m = small_model(1);
	o.cut = "nope";
	CHECK_ERR(thaw_transfer(m, d, &o, &nt), "transfer: no node named 'nope' to cut at");
	o.cut = "fc1";
	o.head_name = "c1";
	CHECK_ERR(thaw_transfer(m, d, &o, &nt), "already has a node named 'c1'");
	CHECK(m->n == 7 && m->n_classes == 3 && m->nodes[0]->trainable && nt.n == 0);
	thaw_model_free(m);

	/* no dense layer and a spatial output: a headless base, the head goes
	 * on top of all of it */
	m = thaw_model_new(1, 8, 8, 1);
	thaw_attrs c = thaw_conv(2, 3, 1, 1);
	thaw_model_add(m, "c1", &c, NULL, 0);
	CHECK(thaw_transfer(m, d, NULL, &nt) == 1);
	CHECK(m->n == 3 && !strcmp(m->nodes[0]->name, "c1") && !m->nodes[0]->trainable);
	CHECK(m->nodes[2]->kind == THAW_DENSE && m->n_classes == d->n_classes);
	CHECK(nt.n > 0 && strstr(nt.line[0], "the model has no head (its output is 2x8x8)"));
	thaw_notes_free(&nt);
	thaw_model_free(m);

	/* no dense layer but a vector output (a conv classifier): the user has
	 * to say where to cut */
	m = thaw_model_new(1, 8, 8, 1);
	thaw_attrs c4 = thaw_conv(4, 8, 1, 0);
	thaw_model_add(m, "c1", &c4, NULL, 0);
	CHECK_ERR(thaw_transfer(m, d, NULL, &nt), "no dense layer to replace");
	thaw_model_free(m);
	thaw_dataset_free(d);
}

static void test_fashion_base(void)
{
	thaw_model *m = thaw_model_load("assets/fashion-base.thaw", NULL);
	CHECKF(m, "%s", thaw_errmsg());
	if (!m)
		return;
	static const char *cls[3] = {"Sandal", "Shirt", "Sneaker"};
	thaw_dataset *d = thaw_dataset_new(6, 1, 28, 28, 3);
	thaw_dataset_set_class_names(d, cls, 3);
	thaw_notes nt = {0};
	CHECK(!thaw_transfer_classes_match(m, d));
	CHECK(thaw_transfer(m, d, NULL, &nt) == 1);
	CHECK_NOTE(&nt, "cut after drop1 (old head fc2: 5 classes)");
	CHECK_NOTE(&nt, "new head 'head': dense 128->3 for classes Sandal, Shirt, Sneaker");
	CHECK_NOTE(&nt, "froze the 12 layers before the head (420,544 params); 387 params train");
	CHECK(m->n == 13 && m->n_classes == 3 && !strcmp(m->class_names[0], "Sandal"));
	CHECK(thaw_model_lowest_trainable(m) == 12);
	thaw_notes_free(&nt);
	thaw_dataset_free(d);
	thaw_model_free(m);
}

/* An ONNX model: its Gemm came in as a dense node, so it is the head cut. */
static void test_onnx_model(void)
{
	static const char *xy[2] = {"x", "y"};
	thaw_model *m = small_model(0);
	CHECK_OK(thaw_onnx_export(m, tpath("small.onnx")));
	thaw_model_free(m);
	m = thaw_onnx_import(tpath("small.onnx"), NULL);
	CHECKF(m, "%s", thaw_errmsg());
	if (!m)
		return;
	int last_dense = -1;
	for (int i = 0; i < m->n; i++)
		if (m->nodes[i]->kind == THAW_DENSE)
			last_dense = i;
	CHECK(last_dense >= 0 && m->nodes[last_dense]->a.units == 3);
	thaw_dataset *d = named_data(2, xy);
	thaw_notes nt = {0};
	CHECK(thaw_transfer(m, d, NULL, &nt) == 1);
	CHECK(m->nodes[m->n - 1]->a.units == 2 && !strcmp(m->nodes[m->n - 1]->name, "head"));
	CHECK(m->n_classes == 2 && !strcmp(m->class_names[1], "y"));
	CHECK_NOTE(&nt, "(old head ");
	CHECK_NOTE(&nt, "new head 'head': dense 16->2 for classes x, y");
	float x[64] = {0};
	CHECK_OK(thaw_model_forward(m, x, 1, 0));
	thaw_notes_free(&nt);
	thaw_dataset_free(d);
	thaw_model_free(m);
}

/* a PNG folder of three named classes, 10, 20 and 30 images */
static const char *make_folder(void)
{
	static const char *names[3] = {"circle", "square", "triangle"};
	thaw_dataset *d = thaw_dataset_new(60, 1, 12, 12, 3);
	for (int i = 0; i < d->n; i++) {
		d->y[i] = i < 10 ? 0 : i < 30 ? 1 : 2;
		for (int p = 0; p < 144; p++)
			d->x[(size_t)i * 144 + p] = (uint8_t)(i * 7 + p);
	}
	thaw_dataset_set_class_names(d, names, 3);
	const char *root = tpath("shapes");
	CHECK_OK(thaw_folder_save(d, root));
	thaw_dataset_free(d);
	return root;
}

static void test_prepare(void)
{
	const char *root = make_folder();
	thaw_dataset *tr, *va;
	thaw_notes nt = {0};
	thaw_prepare_opts o = thaw_prepare_opts_default();
	CHECK_OK(thaw_data_prepare(root, &o, NULL, &tr, &va, &nt));
	if (!tr || !va)
		return;
	/* the stratified 20 %: 2 of 10, 4 of 20, 6 of 30 */
	int ct[3], cv[3];
	thaw_dataset_class_counts(tr, ct);
	thaw_dataset_class_counts(va, cv);
	CHECK(va->n == 12 && tr->n == 48);
	CHECK(cv[0] == 2 && cv[1] == 4 && cv[2] == 6 && ct[0] == 8 && ct[1] == 16 && ct[2] == 24);
	CHECK(!strcmp(va->class_names[1], "01-square"));
	CHECK_NOTE(&nt, "held out a stratified 20 % (12 images) for validation; 48 images train");
	CHECK_NOTE(&nt, "60 images of 1x12x12, 3 classes (00-circle, 01-square, 02-triangle)");
	thaw_dataset_free(tr);
	thaw_dataset_free(va);
	thaw_notes_free(&nt);

	/* classes by name (the NN- prefix optional) and index, k per class, a
	 * given fraction, conversion to the model's input */
	o.classes = "triangle,1";
	o.per_class = 10;
	o.val = "0.5";
	thaw_input_spec in = {.c = 1, .h = 8, .w = 8};
	CHECK_OK(thaw_data_prepare(root, &o, &in, &tr, &va, &nt));
	CHECK(tr && va && tr->n == 10 && va->n == 10 && tr->n_classes == 2);
	CHECK(tr && !strcmp(tr->class_names[0], "02-triangle") && !strcmp(tr->class_names[1], "01-square"));
	CHECK(tr && tr->h == 8 && va->w == 8);
	CHECK_NOTE(&nt, "kept classes 02-triangle, 01-square: 50 images");
	CHECK_NOTE(&nt, "picked 10 images per class (20 in all");
	CHECK_NOTE(&nt, "held out a stratified 50 % (10 images)");
	CHECK_NOTE(&nt, "shapes: fitted 60 of 60 images (12x12) to 8x8 (stretch)");
	thaw_dataset_free(tr);
	thaw_dataset_free(va);
	thaw_notes_free(&nt);

	/* no validation, said so; a validation SPEC gets the same classes */
	o.per_class = 0;
	o.val = "none";
	CHECK_OK(thaw_data_prepare(root, &o, NULL, &tr, &va, &nt));
	CHECK(tr && tr->n == 50 && va == NULL);
	CHECK_NOTE(&nt, "no validation set");
	thaw_dataset_free(tr);
	thaw_notes_free(&nt);
	o.val = root;
	CHECK_OK(thaw_data_prepare(root, &o, NULL, &tr, &va, &nt));
	CHECK(tr && va && tr->n == 50 && va->n == 50 && !strcmp(va->class_names[0], "02-triangle"));
	thaw_dataset_free(tr);
	thaw_dataset_free(va);
	thaw_notes_free(&nt);

	/* errors */
	o.val = "1.5";
	CHECK_ERR(thaw_data_prepare(root, &o, NULL, &tr, &va, NULL), "validation '1.5'");
	o.val = NULL;
	o.classes = "circle,hexagon";
	CHECK_ERR(thaw_data_prepare(root, &o, NULL, &tr, &va, NULL), "'hexagon' is not a class of");
	o.classes = "0,0";
	CHECK_ERR(thaw_data_prepare(root, &o, NULL, &tr, &va, NULL), "'0' given twice");
	o.classes = "5";
	CHECK_ERR(thaw_data_prepare(root, &o, NULL, &tr, &va, NULL), "5 is not a class index");
	o.classes = NULL;
	o.per_class = 15;
	CHECK_ERR(thaw_data_prepare(root, &o, NULL, &tr, &va, NULL), root);
	CHECK(tr == NULL && va == NULL);
	CHECK_ERR(thaw_data_prepare(tpath("nothing"), NULL, NULL, &tr, &va, NULL), "nothing");
}

static void test_prepare_then_transfer(void)
{
	/* a folder of 1 image per class: nothing to hold out, and it says so */
	static const char *names[2] = {"cat", "dog"};
	thaw_dataset *d = thaw_dataset_new(2, 1, 8, 8, 2);
	d->y[1] = 1;
	thaw_dataset_set_class_names(d, names, 2);
	CHECK_OK(thaw_folder_save(d, tpath("two")));
	thaw_dataset_free(d);
	thaw_dataset *tr, *va;
	thaw_notes nt = {0};
	CHECK_OK(thaw_data_prepare(tpath("two"), NULL, NULL, &tr, &va, &nt));
	CHECK(tr && tr->n == 2 && va == NULL);
	CHECK_NOTE(&nt, "too few to hold out 20 % per class: no validation set");
	thaw_model *m = small_model(1);
	CHECK(thaw_transfer(m, tr, NULL, &nt) == 1);
	CHECK(m->n_classes == 2 && !strcmp(m->class_names[1], "01-dog"));
	thaw_notes_free(&nt);
	thaw_model_free(m);
	thaw_dataset_free(tr);
}

int main(void)
{
	if (tmpdir_make("thaw-transfer") < 0)
		return 1;
	RUN(test_no_transfer_when_classes_match);
	RUN(test_cut_at_last_dense);
	RUN(test_cut_at_named_node);
	RUN(test_fashion_base);
	RUN(test_onnx_model);
	RUN(test_prepare);
	RUN(test_prepare_then_transfer);
	tmpdir_remove();
	return check_done();
}
