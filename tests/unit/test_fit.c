/* The epoch loop: the feature cache (same weights, prefix run once),
 * callbacks that stop a phase, early stopping with restored weights,
 * resuming part-way through a phase, and shape errors. */
#include <stdlib.h>

#include "check.h"
#include "thaw/fit.h"
#include "thaw/zoo.h"

static thaw_dataset *data(int n, uint64_t seed)
{
	thaw_synth_opts so = thaw_synth_opts_default();
	so.n = n;
	so.classes = 4;
	so.h = so.w = 12;
	so.seed = seed;
	return thaw_synth(&so);
}

static thaw_model *frozen_base(uint64_t seed)
{
	thaw_model *m = thaw_zoo_reference_cnn(1, 12, 12, 4, seed);
	thaw_model_freeze_upto(m, "pool2");
	return m;
}

static int same_weights(const thaw_model *a, const thaw_model *b, float tol)
{
	for (int i = 0; i < a->n; i++)
		for (int k = 0; k < a->nodes[i]->np; k++) {
			const thaw_param *p = &a->nodes[i]->p[k], *q = &b->nodes[i]->p[k];
			if (thaw_max_rel_diff(p->w, q->w, p->size) > tol)
				return 0;
		}
	return 1;
}

static int epochs_seen;
static int count_log(const thaw_event *ev, void *user)
{
	(void)user;
	if (ev->kind == THAW_EV_LOG && strstr(ev->u.line, "feature cache"))
		epochs_seen += 1000;
	return 0;
}

static void test_feature_cache_matches_and_saves_work(void)
{
	thaw_dataset *d = data(256, 1);
	thaw_model *a = frozen_base(3), *b = frozen_base(3);
	thaw_fit_opts o = thaw_fit_opts_default();
	o.epochs = 4;
	o.batch = 32;
	o.seed = 9;
	o.on_event = count_log;
	epochs_seen = 0;
	CHECK(thaw_fit(a, d, &o) == 4);
	CHECK(epochs_seen == 1000); /* announced once */
	o.feature_cache = -1;
	CHECK(thaw_fit(b, d, &o) == 4);
	/* conv1 ran once per batch to fill the cache, not once per batch per epoch */
	CHECKF(a->nodes[0]->n_forward == 8 && b->nodes[0]->n_forward == 32, "conv1 forwards: cached %llu, plain %llu",
	       (unsigned long long)a->nodes[0]->n_forward, (unsigned long long)b->nodes[0]->n_forward);
	CHECK(a->nodes[9]->n_forward == 32); /* fc1: every step */
	CHECK(same_weights(a, b, 1e-5f));
	/* with augmentation the cache is not used */
	thaw_model *c = frozen_base(3);
	o.feature_cache = 0;
	o.shift = 1;
	CHECK(thaw_fit(c, d, &o) == 4);
	CHECK(c->nodes[0]->n_forward == 32);
	thaw_model_free(a);
	thaw_model_free(b);
	thaw_model_free(c);
	thaw_dataset_free(d);
}

static int stop_after_two(const thaw_event *ev, void *user)
{
	(void)user;
	return ev->kind == THAW_EV_EPOCH && ev->u.epoch.epoch >= 2;
}

static int batches;
static int stop_at_batch(const thaw_event *ev, void *user)
{
	(void)user;
	if (ev->kind != THAW_EV_BATCH)
		return 0;
	batches++;
	return ev->u.batch.epoch == 2 && ev->u.batch.batch == 3;
}

static void test_callbacks_stop(void)
{
	thaw_dataset *d = data(128, 2);
	thaw_model *m = frozen_base(4);
	thaw_fit_opts o = thaw_fit_opts_default();
	o.epochs = 5;
	o.batch = 32;
	o.on_event = stop_after_two;
	CHECK(thaw_fit(m, d, &o) == 2);
	o.on_event = stop_at_batch;
	batches = 0;
	CHECK(thaw_fit(m, d, &o) == 1); /* epoch 2 did not finish */
	CHECK(batches == 7);
	thaw_model_free(m);
	thaw_dataset_free(d);
}

static void test_resume_part_way_gives_the_same_weights(void)
{
	thaw_dataset *d = data(192, 3);
	thaw_model *a = thaw_zoo_reference_cnn(1, 12, 12, 4, 5), *b = thaw_zoo_reference_cnn(1, 12, 12, 4, 5);
	thaw_fit_opts o = thaw_fit_opts_default();
	o.epochs = 3;
	o.batch = 32;
	o.seed = 11;
	o.sched = thaw_sched_default(THAW_SCHED_COSINE);
	CHECK(thaw_fit(a, d, &o) == 3);
	/* b: stop in epoch 2 after batch 3, then continue from there */
	o.on_event = stop_at_batch;
	CHECK(thaw_fit(b, d, &o) == 1);
	o.on_event = NULL;
	o.first_epoch = 2;
	o.skip_batches = 3;
	o.first_step = 6 + 3;
	CHECK(thaw_fit(b, d, &o) == 3);
	CHECK(same_weights(a, b, 0.0f));
	thaw_model_free(a);
	thaw_model_free(b);
	thaw_dataset_free(d);
}

static void test_early_stopping_restores_best(void)
{
	thaw_dataset *d = data(128, 4), *v = data(64, 5);
	thaw_model *m = thaw_zoo_reference_cnn(1, 12, 12, 4, 6);
	thaw_fit_opts o = thaw_fit_opts_default();
	o.epochs = 30;
	o.batch = 32;
	o.optim.lr = 0.05f; /* too high on purpose: validation loss will wander */
	o.val = v;
	o.patience = 2;
	o.restore_best = 1;
	int done = thaw_fit(m, d, &o);
	CHECKF(done > 0 && done < 30, "ran %d epochs", done);
	thaw_metrics *mt = thaw_metrics_new(4, 1);
	CHECK_OK(thaw_evaluate(m, v, 64, mt));
	printf("  early stop after %d epochs, restored val loss %.4f\n", done, thaw_metrics_loss(mt));
	thaw_metrics_free(mt);
	thaw_model_free(m);
	thaw_dataset_free(d);
	thaw_dataset_free(v);
}

static void test_shape_errors(void)
{
	thaw_dataset *d = data(64, 6);
	thaw_model *m = thaw_zoo_reference_cnn(1, 16, 16, 4, 7);
	thaw_fit_opts o = thaw_fit_opts_default();
	CHECK_ERR(thaw_fit(m, d, &o), "is 1x12x12 but the model expects 1x16x16");
	thaw_model *k2 = thaw_zoo_reference_cnn(1, 12, 12, 2, 7);
	CHECK_ERR(thaw_fit(k2, d, &o), "has 4 classes but the model outputs 2 class scores");
	/* fewer classes than outputs is refused too: the head would train
	 * outputs no image ever names */
	thaw_model *k6 = thaw_zoo_reference_cnn(1, 12, 12, 6, 7);
	CHECK_ERR(thaw_fit(k6, d, &o), "has 4 classes but the model outputs 6");
	thaw_model_free(k6);
	/* a cut model whose output is a feature map, not class scores */
	thaw_model *cut = thaw_zoo_reference_cnn(1, 12, 12, 4, 7);
	CHECK_OK(thaw_model_truncate(cut, "pool2"));
	CHECK_ERR(thaw_fit(cut, d, &o), "not a vector of class scores: add a head");
	thaw_metrics *mt = thaw_metrics_new(4, 1);
	CHECK_ERR(thaw_evaluate(cut, d, 32, mt), "not a vector of class scores");
	thaw_metrics_free(mt);
	thaw_model_free(cut);
	o.epochs = 0;
	CHECK_ERR(thaw_fit(m, d, &o), "epochs (0)");
	thaw_model_free(m);
	thaw_model_free(k2);
	thaw_dataset_free(d);
}

static char last_log[512];
static int keep_log(const thaw_event *ev, void *user)
{
	(void)user;
	if (ev->kind == THAW_EV_LOG)
		snprintf(last_log, sizeof last_log, "%s", ev->u.line);
	return 0;
}

static void test_new_head_takes_the_data_names(void)
{
	thaw_dataset *d = data(64, 8);
	const char *names[] = {"w", "x", "y", "z"};
	CHECK_OK(thaw_dataset_set_class_names(d, names, 4));
	thaw_model *m = thaw_zoo_reference_cnn(1, 12, 12, 4, 9);
	CHECK(m->n_classes == 0);
	thaw_fit_opts o = thaw_fit_opts_default();
	o.batch = 32;
	o.on_event = keep_log;
	last_log[0] = 0;
	CHECK_OK(thaw_fit(m, d, &o));
	CHECK(m->n_classes == 4 && !strcmp(m->class_names[0], "w") && !strcmp(m->class_names[3], "z"));
	CHECKF(strstr(last_log, "take the data's class names (w,x,y,z)"), "log '%s'", last_log);
	/* same width, other names: the data's win and the log says so */
	const char *old[] = {"a", "b", "c", "d"};
	CHECK_OK(thaw_model_set_classes(m, old, 4));
	last_log[0] = 0;
	CHECK_OK(thaw_fit(m, d, &o));
	CHECK(!strcmp(m->class_names[1], "x"));
	CHECKF(strstr(last_log, "change from the old (a,b,c,d) to the data's (w,x,y,z)"), "log '%s'", last_log);
	/* the same names: nothing to say */
	last_log[0] = 0;
	CHECK_OK(thaw_fit(m, d, &o));
	CHECKF(last_log[0] == 0 || !strstr(last_log, "class names"), "log '%s'", last_log);
	thaw_model_free(m);
	thaw_dataset_free(d);
}

int main(void)
{
	RUN(test_new_head_takes_the_data_names);
	RUN(test_feature_cache_matches_and_saves_work);
	RUN(test_callbacks_stop);
	RUN(test_resume_part_way_gives_the_same_weights);
	RUN(test_early_stopping_restores_best);
	RUN(test_shape_errors);
	return check_done();
}
