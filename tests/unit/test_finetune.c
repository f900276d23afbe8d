/* fine_tune and lr_find: phase 1 trains only the head (the base's weights
 * stay as they were), phase 2 thaws everything with the per-group rates
 * its log names (checked against the optimizer's real first step), batch
 * norms stay frozen on small batches, gradual unfreezing thaws a group per
 * epoch, lr_mult values come back; lr_find puts the model back bit for
 * bit and suggests a rate inside its sweep. */
#include <stdlib.h>

#include "check.h"
#include "thaw/finetune.h"
#include "thaw/zoo.h"

static thaw_dataset *data(int n, int classes, uint64_t seed)
{
	thaw_synth_opts so = thaw_synth_opts_default();
	so.n = n;
	so.classes = classes;
	so.h = so.w = 12;
	so.seed = seed;
	return thaw_synth(&so);
}

/* A "base": the reference CNN for 5 classes; the data has 3, so fine_tune
 * gives it a new head. */
static thaw_model *base(void) { return thaw_zoo_reference_cnn(1, 12, 12, 5, 11); }

static float *copy_weights(const thaw_model *m)
{
	size_t n = 0;
	for (int i = 0; i < m->n; i++)
		for (int k = 0; k < m->nodes[i]->np; k++)
			n += m->nodes[i]->p[k].size;
	float *w = malloc(n * sizeof *w + 1), *q = w;
	for (int i = 0; i < m->n; i++)
		for (int k = 0; k < m->nodes[i]->np; k++) {
			memcpy(q, m->nodes[i]->p[k].w, m->nodes[i]->p[k].size * sizeof *q);
			q += m->nodes[i]->p[k].size;
		}
	return w;
}

/* What the event stream showed, phase by phase. */
typedef struct seen {
	int head;              /* head index, set by the test after the run starts */
	int phase;             /* 1 or 2 */
	int p1_batches, p1_bad;  /* phase 1 batches; ones where a base node trained */
	float *before;         /* phase 1: the model's weights at its start */
	int base_changed;      /* phase 1 moved a base weight */
	char rates_line[1024]; /* the log's "peak learning rates" line */
	int bn_line;           /* the log said the batch norms stay frozen */
	int p2_first_checked;
	float p2_lr;           /* the schedule's rate at phase 2's first step */
	float *p2_before;
	float dmax[64];        /* phase 2, first step: largest |dw| of each node's weight */
	float mult[64];        /* phase 2: each node's lr_mult */
	int trainable[64];     /* phase 2, first batch: flags */
	int gradual_counts[64], n_epochs2; /* trainable nodes with weights at each phase-2 epoch's start */
	thaw_model *m;
} seen;

static seen S;

static size_t offset_of(const thaw_model *m, int node)
{
	size_t off = 0;
	for (int i = 0; i < node; i++)
		for (int k = 0; k < m->nodes[i]->np; k++)
			off += m->nodes[i]->p[k].size;
	return off;
}

static int count_trainable(const thaw_model *m)
{
	int n = 0;
	for (int i = 0; i < m->n; i++)
		n += m->nodes[i]->trainable && thaw_node_has_weights(m->nodes[i]);
	return n;
}

static int on_event(const thaw_event *ev, void *user)
{
	seen *s = user;
	thaw_model *m = s->m;
	switch (ev->kind) {
	case THAW_EV_LOG:
		if (strstr(ev->u.line, "peak learning rates"))
			snprintf(s->rates_line, sizeof s->rates_line, "%s", ev->u.line);
		if (strstr(ev->u.line, "batch norms stay frozen"))
			s->bn_line = 1;
		break;
	case THAW_EV_PHASE_BEGIN:
		s->phase = strstr(ev->u.phase.name, "fine-tune") ? 2 : 1;
		if (s->phase == 1) {
			free(s->before);
			s->before = copy_weights(m);
		} else {
			s->head = thaw_model_head_index(m);
			free(s->p2_before);
			s->p2_before = copy_weights(m);
			s->p2_first_checked = 0;
			for (int i = 0; i < m->n && i < 64; i++) {
				s->mult[i] = m->nodes[i]->lr_mult;
				s->trainable[i] = m->nodes[i]->trainable;
			}
		}
		break;
	case THAW_EV_BATCH:
		if (s->phase == 1) {
			s->p1_batches++;
			int head = thaw_model_head_index(m);
			for (int i = 0; i < m->n; i++)
				if ((i < head) == (m->nodes[i]->trainable != 0))
					s->p1_bad++;
		} else if (!s->p2_first_checked) {
			s->p2_first_checked = 1;
			s->p2_lr = ev->u.batch.lr;
			for (int i = 0; i < m->n && i < 64; i++) {
				s->dmax[i] = 0;
				if (!m->nodes[i]->np || m->nodes[i]->p[0].is_buffer)
					continue;
				const thaw_param *p = &m->nodes[i]->p[0]; /* weight (or gamma) */
				const float *w0 = s->p2_before + offset_of(m, i);
				for (size_t j = 0; j < p->size; j++)
					s->dmax[i] = fmaxf(s->dmax[i], fabsf(p->w[j] - w0[j]));
			}
		}
		break;
	case THAW_EV_EPOCH:
		if (s->phase == 2 && s->n_epochs2 < 64)
			s->n_epochs2++;
		break;
	case THAW_EV_PHASE_END:
		if (s->phase == 1) {
			const float *now = copy_weights(m);
			size_t nb = offset_of(m, thaw_model_head_index(m));
			s->base_changed = memcmp(now, s->before, nb * sizeof(float)) != 0;
			free((void *)now);
		}
		break;
	default:
		break;
	}
	return 0;
}

static void test_phases_freeze_then_thaw_with_group_rates(void)
{
	thaw_dataset *d = data(96, 3, 1);
	thaw_model *m = base();
	int conv1 = thaw_model_find(m, "conv1");
	thaw_model_set_lr_mult(m, conv1, 0.5f); /* a user's multiplier: combined, then restored */
	memset(&S, 0, sizeof S);
	S.m = m;
	thaw_finetune_opts o = thaw_finetune_opts_default();
	o.batch = 16; /* below bn_min_batch 32: batch norms stay frozen */
	o.head_epochs = 2;
	o.epochs = 2;
	o.weight_decay = 0; /* the first step is then exactly lr * mult per weight */
	o.lr = 1e-2f;
	o.on_event = on_event;
	o.user = &S;
	thaw_finetune_result r;
	CHECK_OK(thaw_fine_tune(m, d, &o, &r));
	CHECK(r.new_head == 1 && r.head == m->n - 1 && !strcmp(m->nodes[r.head]->name, "head"));
	/* no cut given: the old classifier went, the head sits on pool2 */
	CHECK(!strcmp(m->nodes[r.head - 3]->name, "pool2") && m->nodes[r.head - 2]->kind == THAW_FLATTEN);
	CHECK(m->nodes[r.head - 1]->kind == THAW_DROPOUT && m->nodes[r.head - 1]->a.rate == 0.5f);
	CHECK(r.head_epochs == 2 && r.epochs == 2);
	/* phase 1: only the head trained, the base's weights did not move */
	CHECK(S.p1_batches > 0);
	CHECKF(S.p1_bad == 0, "%d batches saw a base node trainable or the head frozen", S.p1_bad);
	CHECK(!S.base_changed);
	/* phase 2: three groups, rates lr/2 spread 100x, as the log says */
	CHECK(r.groups == 3);
	float ft = o.lr / 2;
	CHECK_NEAR(r.group_lr[2], ft, 1e-9);
	CHECK_NEAR(r.group_lr[1], ft / 10, 1e-9);
	CHECK_NEAR(r.group_lr[0], ft / 100, 1e-10);
	CHECKF(strstr(S.rates_line, "3 layer groups") != NULL, "%s", S.rates_line);
	/* each "X (first..last)" in the log is the rate every node of that
	 * group got: lr_mult times the phase's peak */
	const char *p = strstr(S.rates_line, "rates");
	for (int g = 0; g < 3 && p; g++) {
		double rate;
		char span[128];
		p = strchr(p, ' ');
		CHECK(p && sscanf(p, " %lf (%127[^)])", &rate, span) == 2);
		if (!p)
			break;
		CHECK_NEAR(rate, r.group_lr[g], r.group_lr[g] * 2e-3);
		char first[128] = "", last[128] = "";
		char *dots = strstr(span, "..");
		if (dots) {
			snprintf(first, sizeof first, "%.*s", (int)(dots - span), span);
			snprintf(last, sizeof last, "%s", dots + 2);
		} else {
			snprintf(first, sizeof first, "%s", span);
			snprintf(last, sizeof last, "%s", span);
		}
		int a = thaw_model_find(m, first), b = thaw_model_find(m, last);
		CHECKF(a == r.group_first[g] && b == r.group_last[g], "group %d: %s..%s", g, first, last);
		for (int i = a; i <= b && a >= 0; i++) {
			float user_mult = i == conv1 ? 0.5f : 1.0f;
			CHECK_NEAR(S.mult[i] * ft, rate * user_mult, rate * 2e-3);
		}
		p = strchr(p, ')');
	}
	/* and the optimizer really stepped at those rates: Adam's first step
	 * moves each weight by lr (its gradient's sign; float rounding of a
	 * 1e-6 step on weights near 0.3 is a few per cent) */
	CHECK(S.p2_first_checked);
	for (int i = 0; i < m->n; i++) {
		if (m->nodes[i]->kind != THAW_CONV2D && m->nodes[i]->kind != THAW_DENSE)
			continue;
		float want = S.p2_lr * S.mult[i];
		CHECKF(S.dmax[i] > want * 0.9f && S.dmax[i] < want * 1.1f, "node %s moved %g, want %g",
		       m->nodes[i]->name, S.dmax[i], want);
	}
	/* batch norms: frozen in phase 2, said in the log */
	CHECK(r.bn_frozen && S.bn_line);
	for (int i = 0; i < m->n; i++) {
		if (m->nodes[i]->kind == THAW_BATCHNORM)
			CHECKF(!S.trainable[i] && !m->nodes[i]->trainable, "%s", m->nodes[i]->name);
		else if (thaw_node_has_weights(m->nodes[i]))
			CHECKF(S.trainable[i] && m->nodes[i]->trainable, "%s", m->nodes[i]->name);
	}
	/* the user's multipliers are back */
	CHECK(m->nodes[conv1]->lr_mult == 0.5f);
	for (int i = 0; i < m->n; i++)
		if (i != conv1)
			CHECK(m->nodes[i]->lr_mult == 1.0f);
	free(S.before);
	free(S.p2_before);
	thaw_model_free(m);

	/* large enough batches: the batch norms train too */
	m = base();
	memset(&S, 0, sizeof S);
	S.m = m;
	o.bn_min_batch = 8;
	CHECK_OK(thaw_fine_tune(m, d, &o, &r));
	CHECK(!r.bn_frozen && !S.bn_line);
	for (int i = 0; i < m->n; i++)
		if (m->nodes[i]->kind == THAW_BATCHNORM)
			CHECK(S.trainable[i] && m->nodes[i]->trainable);
	free(S.before);
	free(S.p2_before);
	thaw_model_free(m);
	thaw_dataset_free(d);
}

/* Gradual unfreezing: the trainable set grows by one group per epoch. */
static int gradual_event(const thaw_event *ev, void *user)
{
	seen *s = user;
	if (ev->kind == THAW_EV_PHASE_BEGIN)
		s->phase = strstr(ev->u.phase.name, "fine-tune") ? 2 : 1;
	if (ev->kind == THAW_EV_BATCH && s->phase == 2 && ev->u.batch.batch == 1 && ev->u.batch.epoch <= 64)
		s->gradual_counts[ev->u.batch.epoch - 1] = count_trainable(s->m);
	return 0;
}

static void test_gradual_unfreezing(void)
{
	thaw_dataset *d = data(96, 3, 2);
	thaw_model *m = base();
	memset(&S, 0, sizeof S);
	S.m = m;
	thaw_finetune_opts o = thaw_finetune_opts_default();
	o.batch = 32;
	o.head_epochs = 1;
	o.epochs = 4;
	o.cut = "drop1"; /* keeps fc1: three blocks */
	o.groups = 4;     /* head + three base groups: conv1, conv2, fc1 blocks */
	o.gradual = 1;
	o.on_event = gradual_event;
	o.user = &S;
	thaw_finetune_result r;
	CHECK_OK(thaw_fine_tune(m, d, &o, &r));
	CHECK(r.groups == 4);
	/* with weights: group 3 = head; 2 = fc1; 1 = conv2 + bn2; 0 = conv1 + bn1 */
	CHECKF(S.gradual_counts[0] == 2, "epoch 1: %d", S.gradual_counts[0]);
	CHECKF(S.gradual_counts[1] == 4, "epoch 2: %d", S.gradual_counts[1]);
	CHECKF(S.gradual_counts[2] == 6, "epoch 3: %d", S.gradual_counts[2]);
	CHECKF(S.gradual_counts[3] == 6, "epoch 4: %d", S.gradual_counts[3]);
	thaw_model_free(m);
	thaw_dataset_free(d);
}

static void test_layer_groups(void)
{
	thaw_model *m = base(); /* conv1 bn1 relu1 pool1 conv2 bn2 relu2 pool2 flatten fc1 relu3 drop1 fc2 */
	int g[32];
	int head = thaw_model_head_index(m);
	CHECK(head == m->n - 1);
	CHECK(thaw_layer_groups(m, head, 3, g) == 3);
	CHECK(g[0] == 0 && g[thaw_model_find(m, "pool1")] == 0);
	CHECK(g[thaw_model_find(m, "conv2")] == 0 && g[thaw_model_find(m, "fc1")] == 1);
	CHECK(g[head] == 2);
	CHECK(thaw_layer_groups(m, head, 16, g) == 4); /* three blocks at most */
	CHECK(thaw_layer_groups(m, head, 1, g) == 1 && g[0] == 0 && g[head] == 0);
	CHECK_ERR(thaw_layer_groups(m, m->n + 1, 3, g), "head index");
	/* the body ends before the classifier (flatten fc1 relu3 drop1 fc2) */
	CHECK(thaw_model_body_end(m) == thaw_model_find(m, "pool2"));
	thaw_model_truncate(m, "pool2");
	CHECK(thaw_model_body_end(m) == -1); /* no classifier left */
	thaw_model *mlp = thaw_model_new(1, 4, 4, 1);
	thaw_attrs fl = thaw_layer(THAW_FLATTEN), d1 = thaw_dense(8), rl = thaw_layer(THAW_RELU), d2 = thaw_dense(3);
	thaw_model_add(mlp, NULL, &fl, NULL, 0);
	thaw_model_add(mlp, NULL, &d1, NULL, 0);
	thaw_model_add(mlp, NULL, &rl, NULL, 0);
	thaw_model_add(mlp, NULL, &d2, NULL, 0);
	CHECK(thaw_model_body_end(mlp) == -1); /* all classifier */
	thaw_model_free(mlp);
	thaw_model_free(m);
}

static void test_bad_options(void)
{
	thaw_dataset *d = data(32, 3, 3);
	thaw_model *m = base();
	thaw_finetune_opts o = thaw_finetune_opts_default();
	o.spread = 0.5f;
	CHECK_ERR(thaw_fine_tune(m, d, &o, NULL), "spread");
	o = thaw_finetune_opts_default();
	o.cut = "nope";
	CHECK_ERR(thaw_fine_tune(m, d, &o, NULL), "no node named 'nope'");
	thaw_model_free(m);
	thaw_dataset_free(d);
}

/* ---- lr_find */

static int bytes_equal(const thaw_model *a, const float *w)
{
	size_t off = 0;
	for (int i = 0; i < a->n; i++)
		for (int k = 0; k < a->nodes[i]->np; k++) {
			if (memcmp(a->nodes[i]->p[k].w, w + off, a->nodes[i]->p[k].size * sizeof(float)))
				return 0;
			off += a->nodes[i]->p[k].size;
		}
	return 1;
}

static void test_lr_find_restores_and_suggests(void)
{
	thaw_dataset *d = data(128, 4, 4);
	thaw_model *m = thaw_zoo_reference_cnn(1, 12, 12, 4, 5);
	/* optimizer state from a short fit, so there is some to keep */
	thaw_fit_opts fo = thaw_fit_opts_default();
	fo.batch = 32;
	CHECK_OK(thaw_fit(m, d, &fo));
	float *w = copy_weights(m);
	int bn1 = thaw_model_find(m, "bn1"), fc2 = thaw_model_find(m, "fc2");
	size_t on = m->nodes[fc2]->p[0].size;
	float *om = malloc(on * sizeof *om);
	memcpy(om, m->nodes[fc2]->p[0].m, on * sizeof *om);
	uint64_t t = m->nodes[fc2]->opt_t;
	thaw_rng rng = m->rng;
	float rm = m->nodes[bn1]->p[2].w[0]; /* running mean: the sweep trains bn1 */

	thaw_lrfind_opts o = thaw_lrfind_opts_default();
	o.steps = 60;
	thaw_lrfind_result r;
	CHECK_OK(thaw_lr_find(m, d, &o, &r));
	CHECK(r.n >= 10 && r.n <= 60);
	CHECK(r.lr[0] >= o.lr_min * 0.999 && r.lr[r.n - 1] <= o.lr_max * 1.001);
	for (int i = 1; i < r.n; i++)
		CHECK(r.lr[i] > r.lr[i - 1]);
	/* a sweep up to 10 diverges before its end */
	CHECK(r.diverged && r.n < 60);
	CHECKF(r.suggested >= r.lr[0] && r.suggested <= r.lr[r.n - 1], "suggested %g outside %g..%g", r.suggested,
	       r.lr[0], r.lr[r.n - 1]);
	CHECK(r.steep >= r.lr[0] && r.steep <= r.lr[r.n - 1]);
	/* the model is back, bit for bit: weights, statistics, moments, clock, rng */
	CHECK(bytes_equal(m, w));
	CHECK(m->nodes[bn1]->p[2].w[0] == rm);
	CHECK(memcmp(om, m->nodes[fc2]->p[0].m, on * sizeof *om) == 0);
	CHECK(m->nodes[fc2]->opt_t == t);
	CHECK(memcmp(&rng, &m->rng, sizeof rng) == 0);
	thaw_lrfind_result_free(&r);
	free(om);

	/* a model that had no optimizer state has none after */
	thaw_model_reset_opt_state(m);
	CHECK_OK(thaw_lr_find(m, d, &o, &r));
	CHECK(m->nodes[fc2]->omem == NULL && m->nodes[fc2]->p[0].m == NULL);
	CHECK(bytes_equal(m, w));
	thaw_lrfind_result_free(&r);

	/* misuse */
	o.lr_min = 1;
	o.lr_max = 0.1f;
	CHECK_ERR(thaw_lr_find(m, d, &o, &r), "lr_min < lr_max");
	free(w);
	thaw_model_free(m);
	thaw_dataset_free(d);
}

/* The suggestion on a known curve: flat, a steep fall, a minimum, a rise. */
static void test_lr_suggest_on_a_known_curve(void)
{
	double lr[40], loss[40], sm[40];
	for (int i = 0; i < 40; i++) {
		lr[i] = 1e-6 * pow(10, i / 5.0); /* 1e-6 .. ~1e2 */
		double x = i;
		sm[i] = loss[i] = x < 10 ? 2.0 : x < 25 ? 2.0 - (x - 10) * 0.12 : 0.2 + (x - 25) * 0.3;
	}
	sm[17] -= 0.05; /* the steepest step: between 16 and 17 */
	thaw_lrfind_result r = {.n = 40, .lr = lr, .loss = loss, .smooth = sm};
	thaw_lrfind_suggest(&r);
	CHECK_NEAR(r.steep, lr[17], lr[17] * 1e-9);
	CHECK_NEAR(r.minimum, lr[25] / 10, 1e-12);
	CHECK(r.valley > lr[10] && r.valley < lr[25]); /* inside the descent */
	CHECK(r.suggested == r.valley);
}

int main(void)
{
	RUN(test_layer_groups);
	RUN(test_phases_freeze_then_thaw_with_group_rates);
	RUN(test_gradual_unfreezing);
	RUN(test_bad_options);
	RUN(test_lr_find_restores_and_suggests);
	RUN(test_lr_suggest_on_a_known_curve);
	return check_done();
}
