/* The run layer: the options table reads and checks values as every
 * frontend needs, the one formatter writes the lines users see, the
 * training position survives a checkpoint (old files too), and a run
 * interrupted mid-epoch and resumed ends with the uninterrupted weights. */
#include <stdlib.h>

#include "check.h"
#include "thaw/options.h"
#include "thaw/run.h"
#include "thaw/runlog.h"
#include "thaw/zoo.h"
#include "tmpdir.h"

static void test_option_parse(void)
{
	thaw_option_value v;
	CHECK_ERR(thaw_option_parse("epochs", "abc", &v), "epochs: 'abc' is not a whole number");
	CHECK_ERR(thaw_option_parse("epochs", "2.5", &v), "epochs: '2.5' is not a whole number");
	CHECK_ERR(thaw_option_parse("epochs", "0", &v), "epochs must be positive");
	CHECK_OK(thaw_option_parse("epochs", "12", &v));
	CHECK(v.i == 12);
	CHECK_ERR(thaw_option_parse("seed", "abc", &v), "seed: 'abc'");
	CHECK_ERR(thaw_option_parse("seed", "-1", &v), "seed: '-1'");
	CHECK_OK(thaw_option_parse("seed", "18446744073709551615", &v));
	CHECK(v.u == UINT64_MAX);
	CHECK_ERR(thaw_option_parse("lr", "-1", &v), "learning rate -1");
	CHECK_ERR(thaw_option_parse("lr", "fast", &v), "lr: 'fast' is not a number");
	CHECK_ERR(thaw_option_parse("optimizer", "rmsprop", &v), "unknown optimizer 'rmsprop' (adam, adamw, sgd)");
	CHECK_ERR(thaw_option_parse("flip", "maybe", &v), "flip: 'maybe'");
	CHECK_ERR(thaw_option_parse("epoch", "3", &v), "unknown option 'epoch'");
	CHECK_ERR(thaw_option_parse("val", "x", &v), "val: a data cannot be given as text");
}

static void test_option_apply(void)
{
	thaw_fit_opts o = thaw_fit_opts_default();
	thaw_option_value v;
	/* an optimizer resets the rate to its own default; the table's order
	 * puts a given rate after it */
	CHECK_OK(thaw_option_parse("optimizer", "sgd", &v));
	CHECK_OK(thaw_option_apply(&o, "optimizer", &v));
	CHECK(o.optim.kind == THAW_SGD);
	CHECK_NEAR(o.optim.lr, 0.01, 1e-9);
	CHECK_OK(thaw_option_parse("lr", "0.5", &v));
	CHECK_OK(thaw_option_apply(&o, "lr", &v));
	CHECK_NEAR(o.optim.lr, 0.5, 1e-9);
	CHECK_OK(thaw_option_parse("cache", "false", &v));
	CHECK_OK(thaw_option_apply(&o, "cache", &v));
	CHECK(o.feature_cache == -1);
	/* a value of the wrong type is refused by apply too */
	v = (thaw_option_value){.type = THAW_OPT_NUM, .x = 3};
	CHECK_ERR(thaw_option_apply(&o, "epochs", &v), "epochs must be an integer");
	char *md = thaw_options_markdown();
	CHECK(md && strstr(md, "| `epochs` | integer | 1 | 1 or more |"));
	CHECK(md && strstr(md, "| `optimizer` | choice | `\"adam\"` | adam, adamw, sgd |"));
	free(md);
}

static void test_format(void)
{
	char line[256];
	thaw_event ev = {.kind = THAW_EV_EPOCH};
	ev.u.epoch = (thaw_epoch_stats){.phase = "head", .phase_index = 1, .epoch = 1, .epochs = 2, .train_loss = 0.5,
					.train_acc = 0.75, .val_loss = -1, .val_acc = -1, .seconds = 2, .img_s = 100};
	thaw_event_format(&ev, line, sizeof line);
	CHECK(!strcmp(line, "head epoch 1/2  loss 0.5000  acc 75.00%  100 img/s  2.0 s  ETA 2 s"));
	ev.u.epoch.val_loss = 0.25;
	ev.u.epoch.val_acc = 0.5;
	thaw_event_format(&ev, line, sizeof line);
	CHECKF(strstr(line, "  val loss 0.2500  val acc 50.00%  ") != NULL, "%s", line);
	/* truncated, never overrun */
	char small[8];
	CHECK(thaw_event_format(&ev, small, sizeof small) == 7 && strlen(small) == 7);
	ev.kind = THAW_EV_PHASE_BEGIN;
	ev.u.phase = (thaw_phase_info){.name = "tune", .index = 2, .epochs = 3, .batch_size = 32, .optimizer = "sgd",
				       .lr = 0.01f, .trainable = 10, .frozen = 20, .first_epoch = 2, .skip_batches = 4};
	thaw_event_format(&ev, line, sizeof line);
	CHECKF(!strcmp(line, "phase 2 'tune': 3 epochs, batch 32, sgd lr 0.01; 10 trainable, 20 frozen parameters; "
			     "continues at epoch 2, batch 5"),
	       "%s", line);
	ev.kind = THAW_EV_LOG;
	ev.u.line = "hello";
	CHECK(thaw_event_format(&ev, line, sizeof line) == 5);
}

static thaw_dataset *data(void)
{
	thaw_synth_opts so = thaw_synth_opts_default();
	so.n = 200;
	so.classes = 4;
	so.h = so.w = 12;
	so.seed = 5;
	return thaw_synth(&so);
}

static void test_checkpoint_position(void)
{
	thaw_model *m = thaw_zoo_reference_cnn(1, 12, 12, 4, 1);
	thaw_position p = {.phase = "tune", .phase_index = 2, .epoch = 3, .batch = 7, .step = 99, .seed = 1ull << 40};
	char *args[] = {"alpha", "two words", ""};
	CHECK_OK(thaw_checkpoint_save(tpath("c.thaw"), m, &p, 3, args));
	thaw_position q;
	thaw_train_state st;
	thaw_model *back = thaw_checkpoint_load(tpath("c.thaw"), &q, &st);
	CHECK(back != NULL);
	CHECK(!strcmp(q.phase, "tune") && q.phase_index == 2 && q.epoch == 3 && q.batch == 7 && q.step == 99 &&
	      q.seed == 1ull << 40);
	CHECK(st.argc == 3 && !strcmp(st.argv[1], "two words") && !strcmp(st.argv[2], ""));
	thaw_model_free(back);
	/* files of the previous thaw kept the position in the optimizer text */
	thaw_train_state old = {.epoch = 1, .step = 5};
	snprintf(old.phase, sizeof old.phase, "head");
	snprintf(old.optimizer, sizeof old.optimizer, "phase_index=3 batch=13");
	CHECK_OK(thaw_model_save(m, tpath("old.thaw"), &old));
	back = thaw_checkpoint_load(tpath("old.thaw"), &q, NULL);
	CHECK(back && q.phase_index == 3 && q.batch == 13 && q.epoch == 1 && q.step == 5);
	thaw_model_free(back);
	/* a plain model has no position */
	CHECK_OK(thaw_model_save(m, tpath("plain.thaw"), NULL));
	back = thaw_checkpoint_load(tpath("plain.thaw"), &q, NULL);
	CHECK(back && q.phase_index == 0);
	thaw_model_free(back);
	thaw_run_opts ro = {.resume = tpath("plain.thaw")};
	thaw_run *r = thaw_run_new(&ro);
	CHECK(!r && strstr(thaw_errmsg(), "holds no training position"));
	thaw_model_free(m);
}

static int stops_seen, stop_after;
static int stop_at(void *user)
{
	(void)user;
	return ++stops_seen >= stop_after;
}

static int phase_begins, phase_ends;
static int count_phases(const thaw_event *ev, void *user)
{
	(void)user;
	phase_begins += ev->kind == THAW_EV_PHASE_BEGIN;
	phase_ends += ev->kind == THAW_EV_PHASE_END;
	return 0;
}

static void test_resume_matches(void)
{
	thaw_dataset *d = data();
	thaw_fit_opts o = thaw_fit_opts_default();
	o.epochs = 3;
	o.batch = 32;
	o.seed = 4;
	o.shift = 1; /* augmentation: the loader's position matters */
	/* uninterrupted, two phases */
	thaw_model *a = thaw_zoo_reference_cnn(1, 12, 12, 4, 2);
	thaw_run_opts ro = {.dir = tpath("a"), .seed = 1, .on_event = count_phases};
	CHECK_OK(thaw_mkdirs(tpath("a")));
	thaw_run *r = thaw_run_new(&ro);
	phase_begins = phase_ends = 0;
	CHECK_OK(thaw_run_fit(r, a, d, &o, 1, NULL));
	CHECK_OK(thaw_run_fit(r, a, d, &o, 1, NULL));
	CHECK(phase_begins == 2 && phase_ends == 2);
	thaw_run_free(r);
	/* interrupted in the middle of phase 2's second epoch */
	thaw_model *b = thaw_zoo_reference_cnn(1, 12, 12, 4, 2);
	CHECK_OK(thaw_mkdirs(tpath("b")));
	ro.dir = tpath("b");
	ro.should_stop = stop_at;
	stops_seen = 0;
	stop_after = 7 * 3 + 7 + 3; /* 7 batches an epoch */
	r = thaw_run_new(&ro);
	thaw_phase_result res;
	CHECK_OK(thaw_run_fit(r, b, d, &o, 1, &res));
	CHECK(thaw_run_fit(r, b, d, &o, 1, &res) == THAW_ESTOP);
	CHECK(res.interrupted && res.epochs == 1);
	thaw_run_free(r);
	thaw_model_free(b);
	/* resumed in a fresh process: phase 1 restored, phase 2 continued */
	thaw_model *c = thaw_zoo_reference_cnn(1, 12, 12, 4, 2);
	thaw_run_opts rc = {.dir = tpath("b"), .resume = tpath("b"), .seed = 77};
	r = thaw_run_new(&rc);
	CHECK(r && thaw_run_resume_point(r) && thaw_run_resume_point(r)->phase_index == 2 &&
	      thaw_run_resume_point(r)->epoch == 1 && thaw_run_resume_point(r)->batch == 3);
	CHECK(r && thaw_run_seed(r) == 1); /* the run's own seed, not the one given now */
	CHECK_OK(thaw_run_fit(r, c, d, &o, 1, &res));
	CHECK(res.restored);
	CHECK_OK(thaw_run_fit(r, c, d, &o, 1, &res));
	CHECK(!res.restored && !res.interrupted);
	thaw_run_free(r);
	int same = 1;
	for (int i = 0; i < a->n; i++)
		for (int k = 0; k < a->nodes[i]->np; k++)
			same &= !memcmp(a->nodes[i]->p[k].w, c->nodes[i]->p[k].w, a->nodes[i]->p[k].size * sizeof(float));
	CHECK(same);
	thaw_model_free(a);
	thaw_model_free(c);
	thaw_dataset_free(d);
}

int main(void)
{
	if (tmpdir_make("thaw-run") < 0)
		return 1;
	RUN(test_option_parse);
	RUN(test_option_apply);
	RUN(test_format);
	RUN(test_checkpoint_position);
	RUN(test_resume_matches);
	tmpdir_remove();
	return check_done();
}
