/* fine_tune: a frozen base and a trained head, then everything thawed and
 * trained with discriminative learning rates, each phase on one-cycle. */
#include "thaw/finetune.h"
#include "thaw/transfer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

thaw_finetune_opts thaw_finetune_opts_default(void)
{
	thaw_finetune_opts o;
	memset(&o, 0, sizeof o);
	o.phase_prefix = "";
	o.head_steps = 300;
	o.steps = 300;
	o.optimizer = THAW_ADAMW;
	o.lr = 3e-3f;
	o.spread = 100.0f;
	o.groups = 3;
	o.weight_decay = 0.01f;
	o.smoothing = 0.1f;
	o.dropout = 0.5f;
	o.shift = 2; /* measured: +2.7 points at k = 10; flips (shoes all face one way) cost 1 */
	o.pct_start = 0.25f;
	o.div = 25.0f;
	o.bn_min_batch = 32;
	o.seed = 1;
	o.cache_mb = 1024;
	return o;
}

int thaw_model_head_index(const thaw_model *m)
{
	for (int i = m ? m->n - 1 : -1; i >= 0; i--)
		if (thaw_node_has_weights(m->nodes[i]))
			return i;
	return -1;
}

/* The classifier at the end of a network: dense layers and what sits
 * between them (flatten, dropout, activations). */
static int classifier_kind(thaw_kind k)
{
	return k == THAW_DENSE || k == THAW_FLATTEN || k == THAW_DROPOUT || k == THAW_RELU || k == THAW_RELU6 ||
	       k == THAW_LEAKY_RELU || k == THAW_SIGMOID || k == THAW_TANH || k == THAW_GELU;
}

int thaw_model_body_end(const thaw_model *m)
{
	if (!m || m->n == 0)
		return -1;
	int i = m->n - 1;
	while (i >= 0 && classifier_kind(m->nodes[i]->kind))
		i--;
	if (i < 0 || i == m->n - 1)
		return -1; /* all classifier (an MLP), or no classifier at the end */
	for (int j = i + 1; j < m->n; j++) /* a chain: the classifier reads the body's end only */
		if (m->nodes[j]->n_in != 1 || m->nodes[j]->in[0] != j - 1)
			return -1;
	return i;
}

/* A block starts at each conv2d or dense node. */
static int starts_block(const thaw_node *n) { return n->kind == THAW_CONV2D || n->kind == THAW_DENSE; }

int thaw_layer_groups(const thaw_model *m, int head, int max_groups, int *group)
{
	if (!m || !group || head < 0 || head > m->n || max_groups < 1)
		return thaw_error(THAW_EINVAL, "layer groups: needs a model, a head index in 0..%d and at least one group",
				  m ? m->n : 0);
	if (max_groups > THAW_FT_MAX_GROUPS)
		max_groups = THAW_FT_MAX_GROUPS;
	int blocks = 0;
	for (int i = 0; i < head; i++)
		blocks += starts_block(m->nodes[i]);
	int base = max_groups - 1; /* groups for the base */
	if (head == 0 || base == 0) {
		/* no base, or one group for everything */
		for (int i = 0; i < m->n; i++)
			group[i] = 0;
		return 1;
	}
	if (blocks == 0)
		blocks = 1; /* a base of nodes without conv or dense: one block */
	if (base > blocks)
		base = blocks;
	int b = -1;
	for (int i = 0; i < head; i++) {
		if (starts_block(m->nodes[i]))
			b++;
		int bb = b < 0 ? 0 : b;
		group[i] = (int)((long)bb * base / blocks);
	}
	for (int i = head; i < m->n; i++)
		group[i] = base;
	return base + 1;
}

int thaw_finetune_head(thaw_model *m, const thaw_dataset *d, const char *cut, float dropout, thaw_notes *nt)
{
	if (!m || !d)
		return thaw_error(THAW_EINVAL, "fine_tune: needs a model and data");
	if (!(dropout >= 0 && dropout < 1))
		return thaw_error(THAW_EINVAL, "fine_tune: dropout %g outside [0, 1)", (double)dropout);
	if (!cut && thaw_transfer_classes_match(m, d))
		return 0;
	thaw_transfer_opts to = thaw_transfer_opts_default();
	to.cut = cut;
	to.force = 1;
	int body = cut ? -1 : thaw_model_body_end(m);
	if (body >= 0) {
		to.cut = m->nodes[body]->name;
		thaw_notes_add(nt, "cut after '%s', the end of the body: the old classifier (its dense layers) goes, as "
				   "fastai's create_body does (a cut names another place)",
			       to.cut);
	}
	int rc = thaw_transfer(m, d, &to, nt);
	if (rc != 1 || dropout <= 0)
		return rc;
	/* dropout before the new head, as fastai's heads have: with a few
	 * images a class, a linear head on thousands of features needs it */
	char name[THAW_NAME_MAX] = "head_dropout";
	for (int k = 2; thaw_model_find(m, name) >= 0; k++)
		snprintf(name, sizeof name, "head_dropout_%d", k);
	thaw_attrs a = thaw_dropout(dropout);
	int head = m->n - 1, at = thaw_model_insert(m, head, name, &a);
	if (at < 0)
		return at;
	m->nodes[at]->trainable = 0; /* part of the frozen base; it has no weights */
	thaw_notes_add(nt, "added '%s': dropout %g before the head", name, (double)dropout);
	return 1;
}

typedef struct ft_ctx {
	const thaw_finetune_opts *o;
	thaw_model *m;
	const int *group;
	int G;
	int phase2;
	int next_thaw;   /* gradual: the group thawed after the next epoch; -1 when all are */
	int bn_frozen;
	const char *phase;
} ft_ctx;

/* Group g's nodes trainable (batch norms left frozen when they must be). */
static void thaw_group(ft_ctx *c, int g)
{
	for (int i = 0; i < c->m->n; i++)
		if (c->group[i] == g)
			c->m->nodes[i]->trainable = !(c->bn_frozen && c->m->nodes[i]->kind == THAW_BATCHNORM);
}

/* "conv1..pool1" */
static void group_span(const thaw_model *m, const int *group, int g, char *buf, size_t size)
{
	int first = -1, last = -1;
	for (int i = 0; i < m->n; i++)
		if (group[i] == g) {
			if (first < 0)
				first = i;
			last = i;
		}
	if (first < 0)
		snprintf(buf, size, "(empty)");
	else if (first == last)
		snprintf(buf, size, "%s", m->nodes[first]->name);
	else
		snprintf(buf, size, "%s..%s", m->nodes[first]->name, m->nodes[last]->name);
}

static int ft_on_event(const thaw_event *ev, void *user)
{
	ft_ctx *c = user;
	if (ev->kind == THAW_EV_EPOCH && c->phase2 && c->next_thaw >= 0) {
		char span[160];
		group_span(c->m, c->group, c->next_thaw, span, sizeof span);
		thaw_group(c, c->next_thaw);
		thaw_event_log(c->o->on_event, c->o->user, "%s: after epoch %d, group %d (%s) thaws", c->phase, ev->u.epoch.epoch, c->next_thaw + 1,
		       span);
		c->next_thaw--;
	}
	if (!c->o->fit && c->o->on_event)
		return c->o->on_event(ev, c->o->user);
	return 0;
}

static int run_phase(ft_ctx *c, const thaw_dataset *d, const thaw_fit_opts *fo)
{
	const thaw_finetune_opts *o = c->o;
	return o->fit ? o->fit(o->fit_user, c->m, d, fo) : thaw_fit(c->m, d, fo);
}

#define MIN_BATCHES 20

static int epochs_for(long steps, int batches)
{
	long e = (steps + batches - 1) / batches;
	return e < 1 ? 1 : e > 1000000 ? 1000000 : (int)e;
}

static int check_opts(const thaw_finetune_opts *o)
{
	if (o->head_epochs < 0 || o->epochs < 0 || o->head_steps < 0 || o->steps < 0 || o->batch < 0)
		return thaw_error(THAW_EINVAL, "fine_tune: epochs, steps and batch must not be negative");
	if (!(o->lr > 0) || !(o->ft_lr >= 0) || !isfinite(o->lr) || !isfinite(o->ft_lr))
		return thaw_error(THAW_EINVAL, "fine_tune: learning rate %g must be > 0", (double)o->lr);
	if (!(o->spread >= 1) || !isfinite(o->spread))
		return thaw_error(THAW_EINVAL, "fine_tune: spread %g must be at least 1", (double)o->spread);
	if (o->groups < 1 || o->groups > THAW_FT_MAX_GROUPS)
		return thaw_error(THAW_EINVAL, "fine_tune: groups %d outside 1..%d", o->groups, THAW_FT_MAX_GROUPS);
	if (!(o->pct_start > 0 && o->pct_start < 1) || !(o->div >= 1))
		return thaw_error(THAW_EINVAL, "fine_tune: pct_start (%g) must be in (0,1) and div (%g) at least 1",
				  (double)o->pct_start, (double)o->div);
	if (!(o->smoothing >= 0 && o->smoothing < 1) || !(o->weight_decay >= 0))
		return thaw_error(THAW_EINVAL, "fine_tune: smoothing in [0,1) and weight decay >= 0");
	if (!(o->dropout >= 0 && o->dropout < 1))
		return thaw_error(THAW_EINVAL, "fine_tune: dropout %g outside [0, 1)", (double)o->dropout);
	if (o->bn_min_batch < 0 || o->shift < 0)
		return thaw_error(THAW_EINVAL, "fine_tune: bn_min_batch and shift must not be negative");
	return 0;
}

int thaw_fine_tune(thaw_model *m, const thaw_dataset *d, const thaw_finetune_opts *opts,
		   thaw_finetune_result *res)
{
	thaw_finetune_result none;
	if (!res)
		res = &none;
	memset(res, 0, sizeof *res);
	if (!m || !d || !opts)
		return thaw_error(THAW_EINVAL, "fine_tune: needs a model, data and options");
	thaw_finetune_opts o = *opts;
	int rc = check_opts(&o);
	if (rc < 0)
		return rc;
	if (d->n <= 0)
		return thaw_error(THAW_EINVAL, "fine_tune: data '%s' has no images", d->source);
	if (!o.phase_prefix)
		o.phase_prefix = "";
	if (o.bn_min_batch == 0)
		o.bn_min_batch = 32;

	/* the model for the data: a new head at the cut, or its own */
	thaw_notes nt = {0};
	rc = thaw_finetune_head(m, d, o.cut, o.dropout, &nt);
	for (int i = 0; i < nt.n; i++)
		thaw_event_log(o.on_event, o.user, "fine_tune: %s", nt.line[i]);
	thaw_notes_free(&nt);
	if (rc < 0)
		return rc;
	res->new_head = rc == 1;
	int head = thaw_model_head_index(m);
	if (head < 0)
		return thaw_error(THAW_EINVAL, "fine_tune: the model has no layer with weights to train");
	res->head = head;
	int *group = thaw_malloc((size_t)m->n * sizeof *group);
	float *mult = thaw_malloc((size_t)m->n * sizeof *mult);
	if (!group || !mult) {
		free(group);
		free(mult);
		return THAW_ENOMEM;
	}
	for (int i = 0; i < m->n; i++)
		mult[i] = m->nodes[i]->lr_mult;
	int G = thaw_layer_groups(m, head, o.groups, group);

	int batch = o.batch > 0 ? o.batch : (d->n < 32 ? d->n : 32);
	if (batch > d->n)
		batch = d->n;
	/* Small data: an epoch of a few batches makes hundreds of epochs, each
	 * with its validation, log line and plot; so an epoch here is as many
	 * passes over the images as give MIN_BATCHES batches. */
	const thaw_dataset *data = d;
	thaw_dataset *rep = NULL;
	int passes = 1;
	if ((d->n + batch - 1) / batch < MIN_BATCHES) {
		passes = (MIN_BATCHES * batch + d->n - 1) / d->n;
		int *idx = thaw_malloc((size_t)d->n * passes * sizeof *idx);
		if (idx)
			for (int i = 0; i < d->n * passes; i++)
				idx[i] = i % d->n;
		rep = idx ? thaw_dataset_subset(d, idx, d->n * passes) : NULL;
		free(idx);
		if (!rep) {
			free(group);
			free(mult);
			return THAW_ENOMEM;
		}
		data = rep;
	}
	int batches = (data->n + batch - 1) / batch;
	res->batch = batch;
	res->passes = passes;
	int head_epochs = o.head_epochs > 0 ? o.head_epochs : o.head_steps > 0 ? epochs_for(o.head_steps, batches) : 0;
	int epochs = o.epochs > 0 ? o.epochs : o.steps > 0 ? epochs_for(o.steps, batches) : 0;
	char phase1[96], phase2[96];
	snprintf(phase1, sizeof phase1, "%shead", o.phase_prefix);
	snprintf(phase2, sizeof phase2, "%sfine-tune", o.phase_prefix);

	ft_ctx c = {.o = &o, .m = m, .group = group, .G = G, .next_thaw = -1};
	thaw_fit_opts fo = thaw_fit_opts_default();
	fo.batch = batch;
	fo.optim = thaw_optim_default(o.optimizer);
	fo.optim.weight_decay = o.weight_decay;
	fo.sched = thaw_sched_default(THAW_SCHED_ONECYCLE);
	fo.sched.pct_start = o.pct_start;
	fo.sched.div = o.div;
	fo.smoothing = o.smoothing;
	fo.shift = o.shift;
	fo.flip = o.flip;
	fo.val = o.val;
	fo.feature_cache = o.feature_cache;
	fo.cache_mb = o.cache_mb > 0 ? o.cache_mb : 1024;
	fo.on_event = ft_on_event;
	fo.user = &c;

	if (passes > 1)
		thaw_event_log(o.on_event, o.user, "fine_tune: %d images: an epoch is %d passes over them (%d batches of %d)", d->n, passes, batches,
		       batch);
	thaw_event_log(o.on_event, o.user, "fine_tune: %d images, batch %d (%d batches an epoch); phase 1 '%s' %d epochs (%ld steps), phase 2 '%s' %d epochs (%ld steps)",
	       data->n, batch, batches, phase1, head_epochs, (long)head_epochs * batches, phase2, epochs,
	       (long)epochs * batches);

	/* phase 1: the base frozen, the head trained */
	if (head_epochs > 0) {
		thaw_model_set_trainable(m, 0, m->n - 1, 0);
		thaw_model_set_trainable(m, head, m->n - 1, 1);
		thaw_param_counts pc = thaw_model_count(m);
		thaw_event_log(o.on_event, o.user, "%s: base frozen (nodes before '%s'), head trains: %zu trainable, %zu frozen parameters; %s one-cycle to lr %g",
		       phase1, m->nodes[head]->name, pc.trainable, pc.frozen, thaw_optim_name(o.optimizer),
		       (double)o.lr);
		fo.phase = phase1;
		fo.epochs = head_epochs;
		fo.optim.lr = o.lr;
		fo.seed = o.seed;
		c.phase = phase1;
		rc = run_phase(&c, data, &fo);
		if (rc < 0)
			goto out;
		res->head_epochs = rc;
	}

	/* phase 2: everything thawed, discriminative rates */
	if (epochs > 0) {
		float ft_lr = o.ft_lr > 0 ? o.ft_lr : o.lr / 2;
		res->groups = G;
		for (int g = 0; g < G; g++) {
			float gm = G > 1 ? powf(o.spread, -(float)(G - 1 - g) / (float)(G - 1)) : 1.0f;
			res->group_lr[g] = ft_lr * gm;
			res->group_first[g] = res->group_last[g] = -1;
		}
		for (int i = 0; i < m->n; i++) {
			int g = group[i];
			float gm = G > 1 ? powf(o.spread, -(float)(G - 1 - g) / (float)(G - 1)) : 1.0f;
			m->nodes[i]->lr_mult = mult[i] * gm;
			if (res->group_first[g] < 0)
				res->group_first[g] = i;
			res->group_last[g] = i;
		}
		c.bn_frozen = batch < o.bn_min_batch;
		res->bn_frozen = 0;
		for (int i = 0; i < m->n && c.bn_frozen; i++)
			res->bn_frozen |= m->nodes[i]->kind == THAW_BATCHNORM;
		char line[1024];
		int len = snprintf(line, sizeof line, "%s: %d layer group%s, peak learning rates", phase2, G,
				   G > 1 ? "s" : "");
		for (int g = 0; g < G && len < (int)sizeof line; g++) {
			char span[160];
			group_span(m, group, g, span, sizeof span);
			len += snprintf(line + len, sizeof line - (size_t)len, "%s %.3g (%s)", g ? "," : "",
					(double)res->group_lr[g], span);
		}
		thaw_event_log(o.on_event, o.user, "%s", line);
		if (res->bn_frozen)
			thaw_event_log(o.on_event, o.user, "%s: batch norms stay frozen (running statistics kept): batches of %d images are too few to estimate them (below %d)",
			       phase2, batch, o.bn_min_batch);
		thaw_model_set_trainable(m, 0, m->n - 1, 0);
		if (o.gradual && G > 1) {
			thaw_group(&c, G - 1);
			thaw_group(&c, G - 2);
			c.next_thaw = G - 3;
			thaw_event_log(o.on_event, o.user, "%s: gradual unfreezing: the head and the last group train first, one more group thaws after each epoch",
			       phase2);
		} else {
			for (int g = 0; g < G; g++)
				thaw_group(&c, g);
		}
		thaw_param_counts pc = thaw_model_count(m);
		thaw_event_log(o.on_event, o.user, "%s: %zu trainable, %zu frozen parameters; %s one-cycle", phase2, pc.trainable, pc.frozen,
		       thaw_optim_name(o.optimizer));
		c.phase2 = 1;
		c.phase = phase2;
		fo.phase = phase2;
		fo.epochs = epochs;
		fo.optim.lr = ft_lr;
		fo.seed = o.seed + 1;
		rc = run_phase(&c, data, &fo);
		if (rc < 0)
			goto out;
		res->epochs = rc;
		res->bn_frozen = res->bn_frozen && c.bn_frozen;
		/* a gradual run stopped early leaves groups frozen: thaw them all */
		for (int g = 0; g < G; g++)
			thaw_group(&c, g);
	}
	rc = 0;
out:
	for (int i = 0; i < m->n; i++)
		m->nodes[i]->lr_mult = mult[i];
	free(group);
	free(mult);
	thaw_dataset_free(rep);
	return rc;
}
