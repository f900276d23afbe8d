/* The cut-point explorer: which nodes are candidate cuts, that its
 * cross-validation measures on held-out folds only, that it picks the cut
 * a constructed base makes best, and that the scratch baseline shows
 * negative transfer. Fashion-MNIST classes 5-9 from the shipped base. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "thaw/explore.h"
#include "thaw/modelfile.h"
#include "thaw/plot.h"
#include "thaw/png.h"
#include "tmpdir.h"

static thaw_dataset *all; /* the Fashion-MNIST train split, loaded once */

static thaw_dataset *fashion_59(int k, uint64_t seed)
{
	if (!all)
		all = thaw_fashion_mnist(NULL, 0);
	if (!all)
		return NULL;
	int keep[] = {5, 6, 7, 8, 9};
	thaw_dataset *s = thaw_dataset_select_classes(all, keep, 5);
	thaw_dataset *d = s ? thaw_dataset_per_class(s, k, seed) : NULL;
	thaw_dataset_free(s);
	return d;
}

static int find_cut(const thaw_explore_result *r, const char *name)
{
	for (int i = 0; i < r->n_cuts; i++)
		if (!strcmp(r->cuts[i].name, name))
			return i;
	return -1;
}

static void zero_node(thaw_model *m, const char *name)
{
	int i = thaw_model_find(m, name);
	thaw_node *n = m->nodes[i];
	for (int k = 0; k < n->np; k++)
		if (!n->p[k].is_buffer)
			memset(n->p[k].w, 0, n->p[k].size * sizeof(float));
}

static thaw_explore_opts quick(void)
{
	thaw_explore_opts o = thaw_explore_opts_default();
	o.head_steps = 120;
	o.scratch = 0;
	return o;
}

static void test_candidates_chain(void)
{
	thaw_model *m = thaw_model_load("assets/fashion-base.thaw", NULL);
	CHECKF(m != NULL, "%s", thaw_errmsg());
	if (!m)
		return;
	int c[16], n = thaw_explore_candidates(m, c, 16);
	/* relu1 and relu2 give way to the pooling that ends their block; the
	 * old head fc2 and what follows relu3 (drop1) are no cuts */
	CHECKF(n == 3, "%d candidates", n);
	if (n == 3) {
		CHECK(!strcmp(m->nodes[c[0]]->name, "pool1"));
		CHECK(!strcmp(m->nodes[c[1]]->name, "pool2"));
		CHECK(!strcmp(m->nodes[c[2]]->name, "relu3"));
	}
	thaw_model_free(m);
}

static void test_candidates_residual(void)
{
	/* c1 r1 [c2 r2 c3] add(c3, r1) r3 gap flatten fc */
	thaw_model *m = thaw_model_new(1, 8, 8, 3);
	thaw_attrs cv = thaw_conv(4, 3, 1, 1), relu = thaw_layer(THAW_RELU);
	thaw_attrs add = thaw_layer(THAW_ADD), gap = thaw_layer(THAW_GLOBALAVGPOOL), fl = thaw_layer(THAW_FLATTEN);
	thaw_attrs fc = thaw_dense(3);
	CHECK_OK(thaw_model_add(m, "c1", &cv, NULL, 0));
	CHECK_OK(thaw_model_add(m, "r1", &relu, NULL, 0));
	CHECK_OK(thaw_model_add(m, "c2", &cv, NULL, 0));
	CHECK_OK(thaw_model_add(m, "r2", &relu, NULL, 0));
	CHECK_OK(thaw_model_add(m, "c3", &cv, NULL, 0));
	int in[2] = {4, 1};
	CHECK_OK(thaw_model_add(m, "add", &add, in, 2));
	CHECK_OK(thaw_model_add(m, "r3", &relu, NULL, 0));
	CHECK_OK(thaw_model_add(m, "gap", &gap, NULL, 0));
	CHECK_OK(thaw_model_add(m, "flat", &fl, NULL, 0));
	CHECK_OK(thaw_model_add(m, "fc", &fc, NULL, 0));
	int c[16], n = thaw_explore_candidates(m, c, 16);
	/* r2 lies inside the block (r1 is still read by the add); the add
	 * gives way to its ReLU, and that to the pooling */
	CHECKF(n == 2, "%d candidates", n);
	if (n == 2) {
		CHECK(!strcmp(m->nodes[c[0]]->name, "r1"));
		CHECK(!strcmp(m->nodes[c[1]]->name, "gap"));
	}
	thaw_model *a = thaw_model_copy_arch(m, 9);
	CHECKF(a && a->n == m->n && a->nodes[5]->n_in == 2 && a->nodes[5]->in[1] == 1, "architecture copied");
	thaw_model_free(a);
	thaw_model_free(m);
}

/* conv2 wiped: everything after it is a constant, so only the cut before
 * it (pool1) can tell the classes apart, and the explorer must pick it. */
static void test_picks_early_cut(void)
{
	thaw_model *m = thaw_model_load("assets/fashion-base.thaw", NULL);
	thaw_dataset *d = fashion_59(10, 4);
	CHECKF(m && d, "%s", thaw_errmsg());
	if (!m || !d)
		goto out;
	zero_node(m, "conv2");
	thaw_explore_opts o = quick();
	thaw_explore_result r;
	CHECK_OK(thaw_explore(m, d, &o, &r));
	int p1 = find_cut(&r, "pool1"), p2 = find_cut(&r, "pool2");
	CHECK(p1 >= 0 && p2 >= 0);
	if (p1 >= 0 && p2 >= 0) {
		CHECKF(r.best == p1, "best %s", r.best >= 0 ? r.cuts[r.best].name : "none");
		CHECKF(r.cuts[p1].acc > 0.5, "pool1 %.2f", r.cuts[p1].acc);
		CHECKF(r.cuts[p2].acc < 0.35, "pool2 %.2f (a constant carries nothing)", r.cuts[p2].acc);
		CHECK(r.cuts[p1].sd >= 0 && r.cuts[p1].seconds >= 0 && r.cuts[p1].features == 32 * 14 * 14);
	}
	thaw_explore_result_free(&r);
out:
	thaw_dataset_free(d);
	thaw_model_free(m);
}

/* Labels shuffled at random: nothing generalises, so every held-out
 * accuracy stays near chance (20 %). A head that saw its held-out fold
 * would fit 3136 features to 50 labels and score near 100 %. The model is
 * left as it was. */
static void test_held_out_only(void)
{
	thaw_model *m = thaw_model_load("assets/fashion-base.thaw", NULL);
	thaw_dataset *d = fashion_59(10, 5);
	CHECKF(m && d, "%s", thaw_errmsg());
	if (!m || !d)
		goto out;
	thaw_model *before = thaw_model_load("assets/fashion-base.thaw", NULL);
	thaw_rng r0;
	thaw_rng_seed(&r0, 11);
	for (int i = d->n - 1; i > 0; i--) { /* a permutation keeps 10 of each class */
		int j = (int)thaw_rng_below(&r0, (uint32_t)i + 1);
		int32_t t = d->y[i];
		d->y[i] = d->y[j];
		d->y[j] = t;
	}
	thaw_explore_opts o = quick();
	thaw_explore_result r, r2;
	CHECK_OK(thaw_explore(m, d, &o, &r));
	for (int i = 0; i < r.n_cuts; i++)
		CHECKF(r.cuts[i].acc < 0.45, "cut %s: %.2f held out on random labels", r.cuts[i].name, r.cuts[i].acc);
	/* the same call gives the same figures: nothing else feeds it */
	CHECK_OK(thaw_explore(m, d, &o, &r2));
	int same = r.n_cuts == r2.n_cuts;
	for (int i = 0; same && i < r.n_cuts; i++)
		same = !memcmp(r.cuts[i].fold_acc, r2.cuts[i].fold_acc, sizeof r.cuts[i].fold_acc);
	CHECK(same);
	int unchanged = before && before->n == m->n;
	for (int i = 0; unchanged && i < m->n; i++)
		for (int k = 0; k < m->nodes[i]->np; k++)
			unchanged = unchanged && !memcmp(m->nodes[i]->p[k].w, before->nodes[i]->p[k].w,
							 m->nodes[i]->p[k].size * sizeof(float));
	CHECKF(unchanged, "the explored model's weights and statistics are untouched");
	thaw_explore_result_free(&r);
	thaw_explore_result_free(&r2);
	thaw_model_free(before);
out:
	thaw_dataset_free(d);
	thaw_model_free(m);
}

/* A base whose every convolution is wiped transfers nothing: the scratch
 * baseline must beat every cut and say so. */
static void test_scratch_wins(void)
{
	thaw_model *m = thaw_model_load("assets/fashion-base.thaw", NULL);
	thaw_dataset *d = fashion_59(6, 6);
	CHECKF(m && d, "%s", thaw_errmsg());
	if (!m || !d)
		goto out;
	zero_node(m, "conv1");
	zero_node(m, "conv2");
	thaw_explore_opts o = quick();
	o.folds = 3;
	o.head_steps = 40;
	o.scratch = 1;
	o.scratch_steps = 60;
	o.scratch_lr = 3e-3f;
	thaw_explore_result r;
	CHECK_OK(thaw_explore(m, d, &o, &r));
	CHECK(r.has_scratch && !strcmp(r.scratch.name, "scratch") && r.scratch.node == -1);
	CHECKF(r.scratch_wins, "scratch %.2f, best cut %.2f", r.scratch.acc, r.best >= 0 ? r.cuts[r.best].acc : -1);
	CHECKF(r.scratch.acc > 0.4, "scratch learns something: %.2f", r.scratch.acc);
	thaw_explore_result_free(&r);
out:
	thaw_dataset_free(d);
	thaw_model_free(m);
}

static void test_errors(void)
{
	thaw_model *m = thaw_model_load("assets/fashion-base.thaw", NULL);
	thaw_dataset *d = fashion_59(3, 1);
	if (!m || !d) {
		CHECKF(0, "%s", thaw_errmsg());
		goto out;
	}
	thaw_explore_opts o = quick();
	thaw_explore_result r;
	CHECK_ERR(thaw_explore(m, d, &o, &r), "has 3 labelled images, fewer than the 5 folds");
	CHECK(r.best == -1 && r.n_cuts == 0);
	thaw_explore_result_free(&r);
	o.folds = 1;
	CHECK_ERR(thaw_explore(m, d, &o, &r), "folds 1 outside 2..20");
	thaw_explore_result_free(&r);
	thaw_model *small = thaw_model_new(1, 28, 28, 1);
	thaw_attrs fc = thaw_dense(5), fl = thaw_layer(THAW_FLATTEN);
	thaw_model_add(small, "flat", &fl, NULL, 0);
	thaw_model_add(small, "fc", &fc, NULL, 0);
	o = quick();
	o.folds = 3;
	CHECK_ERR(thaw_explore(small, d, &o, &r), "no candidate cut");
	thaw_explore_result_free(&r);
	thaw_model_free(small);
out:
	thaw_dataset_free(d);
	thaw_model_free(m);
}

/* The explorer's chart: one bar per cut, as tall as its accuracy, the
 * best one in the accent colour, and the scratch line across at its height. */
static void test_bar_chart(void)
{
	const char *names[] = {"pool1", "pool2", "relu3"};
	double acc[] = {0.5, 0.9, 0.25}, sd[] = {0.05, 0.05, 0.05};
	thaw_plot_bars_spec bs = {.title = "cuts", .names = names, .value = acc, .err = sd, .n = 3, .y_max = 1,
				  .highlight = 1, .has_ref = 1, .ref = 0.7, .ref_label = "scratch 70 %",
				  .value_fmt = "%.0f", .value_scale = 100, .width = 600, .height = 400};
	CHECK_OK(thaw_plot_bars(tpath("bars.png"), &bs));
	uint8_t *px = NULL;
	int c, h, w;
	CHECK_OK(thaw_png_read(tpath("bars.png"), &px, &c, &h, &w));
	if (!px)
		return;
	CHECK(c == 3 && w == 600 && h == 400);
	/* the plot spans x 70..576 and y 44..(400-34): three slots of 168 */
	int plane = w * h, base = 400 - 34 - 2;
	int slot = (600 - 70 - 24) / 3, x1 = 70 + slot / 2 + slot; /* pool2's centre */
#define PX(x, y, k) px[(k) * plane + (y) * w + (x)]
	int y_hi = base - (int)(0.85 * (400 - 44 - 34)); /* inside pool2 (0.9), above pool1 (0.5) */
	CHECKF(PX(x1 + 20, y_hi, 2) > 150 && PX(x1 + 20, y_hi, 0) < 50, "pool2's bar is the accent blue");
	int x0 = 70 + slot / 2;
	CHECKF(PX(x0 + 20, y_hi, 0) == 255 && PX(x0 + 20, y_hi, 1) == 255, "pool1's bar stops below 85 %%");
	CHECKF(PX(x0 + 20, base - 20, 0) == 150, "pool1's bar is grey at its foot");
	/* the scratch line: orange somewhere on the row at 70 %, left of the label */
	int y_ref = 44 + (400 - 44 - 34) - (int)(0.7 * (400 - 44 - 34) + 0.5), orange = 0;
	for (int x = 72; x < 300; x++)
		for (int dy = -1; dy <= 1; dy++)
			orange += PX(x, y_ref + dy, 0) == 230 && PX(x, y_ref + dy, 1) == 119;
	CHECKF(orange > 20, "the scratch line is drawn at 70 %% (%d orange pixels)", orange);
#undef PX
	free(px);
	const char *one[] = {"x"};
	thaw_plot_bars_spec bad = {.names = one, .value = acc, .n = 0};
	CHECK_ERR(thaw_plot_bars(tpath("bad.png"), &bad), "1 to 200 bars");
}

int main(void)
{
	if (tmpdir_make("thaw-explore") < 0)
		return 1;
	RUN(test_bar_chart);
	RUN(test_candidates_chain);
	RUN(test_candidates_residual);
	RUN(test_errors);
	RUN(test_picks_early_cut);
	RUN(test_held_out_only);
	RUN(test_scratch_wins);
	thaw_dataset_free(all);
	tmpdir_remove();
	return check_done();
}
