/* Training parity on a residual graph: from the weights of the resnet_tiny
 * ONNX fixture, STEPS steps of thaw's training step (forward, loss,
 * backward, optimizer, as thaw_fit runs them) give the losses, parameters
 * and running statistics PyTorch 1.13 gets from the same steps: SGD with
 * momentum and Adam, each with the batch norms trained and frozen, then
 * AdamW, transfer learning with a frozen stem (also through the feature
 * cache), a body held at lr_mult 0, and clipping with label smoothing and
 * short batches; and the same results with validation passes between steps
 * and with a run saved to a .thaw file and resumed. The expected values are ONNX files of the same graph made
 * by scripts/make-train-parity; the cases below repeat that script's.
 *
 * A parameter agrees when max |thaw - torch| <= 1e-4 of its largest
 * |torch| value, and within 1e-3 of PyTorch's whole change to the tensor
 * over the steps, which catches a wrong update even when the update is small
 * next to the weight (measured: 5e-5 at worst). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tmpdir.h"
#include "onnx.pb-c.h"
#include "onnx_pb.h"
#include "thaw/modelfile.h"
#include "thaw/onnx.h"
#include "thaw/train.h"

#define FIX "tests/fixtures/train_parity"
#define START "tests/fixtures/onnx/resnet_tiny/model.onnx"
#define STEPS 5
#define TOL 1e-4        /* of the tensor's scale: the bar */
#define TOL_UPDATE 1e-3 /* of PyTorch's change: the update itself is right */

typedef struct parity_case {
	const char *name;
	thaw_optim_kind kind;
	float lr, wd;
	int nesterov;
	int bn_frozen;           /* every batch norm at trainable = 0 */
	const char *freeze_upto; /* NULL: every node trains */
	int cached; /* train from the frozen part's features, as thaw_fit's cache does */
	const float *body_mult; /* NULL, or lr_mult of every node but fc at each step */
	float clip, smoothing;
	const int *batches; /* NULL, or the batch size of each step (the first rows) */
	int evaluate;       /* an inference pass after every step, as validation runs */
	int resume_after;   /* > 0: save after this many steps, load, go on */
} parity_case;

static const float warm_head[STEPS] = {0.0f, 0.0f, 0.1f, 0.1f, 0.1f};
static const int ragged[STEPS] = {8, 8, 5, 8, 3};

#define SGD .kind = THAW_SGD, .lr = 0.1f, .wd = 1e-3f
#define ADAM .kind = THAW_ADAM, .lr = 1e-2f, .wd = 1e-3f
static const parity_case cases[] = {
	{"sgd_bn_train", SGD},
	{"sgd_bn_frozen", SGD, .bn_frozen = 1},
	{"adam_bn_train", ADAM},
	{"adam_bn_frozen", ADAM, .bn_frozen = 1},
	{"adamw_bn_train", .kind = THAW_ADAMW, .lr = 1e-2f, .wd = 1e-2f},
	{"sgd_nesterov_head", SGD, .nesterov = 1, .freeze_upto = "layer1.0.relu_1"},
	{"sgd_nesterov_head", SGD, .nesterov = 1, .freeze_upto = "layer1.0.relu_1", .cached = 1},
	{"adam_body_lr_mult", ADAM, .body_mult = warm_head},
	{"sgd_clip_smooth_ragged", SGD, .clip = 0.5f, .smoothing = 0.1f, .batches = ragged},
	/* what must not change the result: validation passes, a saved and resumed run */
	{"sgd_bn_train", SGD, .evaluate = 1},
	{"adam_bn_frozen", ADAM, .bn_frozen = 1, .resume_after = 2},
	{"adam_body_lr_mult", ADAM, .body_mult = warm_head, .resume_after = 2},
};

/* The batch (B, 3, H, W) and its labels, as the script wrote them. */
typedef struct batch {
	int B;
	float *x;
	int32_t *y;
} batch;

static int load_batch(batch *bt)
{
	Onnx__TensorProto *tx = read_tensor(FIX "/input.pb"), *ty = read_tensor(FIX "/labels.pb");
	int ok = tx && ty && tx->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && tx->n_dims == 4 &&
		 tx->raw_data.len == 4 * tensor_count(tx) && ty->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 &&
		 ty->n_dims == 1 && ty->dims[0] == tx->dims[0] && ty->raw_data.len == 8 * tensor_count(ty);
	if (ok) {
		bt->B = (int)tx->dims[0];
		bt->x = malloc(tx->raw_data.len);
		bt->y = malloc((size_t)bt->B * sizeof *bt->y);
		memcpy(bt->x, tx->raw_data.data, tx->raw_data.len);
		for (int i = 0; i < bt->B; i++) {
			int64_t v;
			memcpy(&v, ty->raw_data.data + 8 * (size_t)i, 8);
			bt->y[i] = (int32_t)v;
		}
	}
	if (tx)
		onnx__tensor_proto__free_unpacked(tx, NULL);
	if (ty)
		onnx__tensor_proto__free_unpacked(ty, NULL);
	return ok ? 0 : -1;
}

/* PyTorch's loss at each step, kept in the expected file's metadata. */
static int read_losses(const char *path, double *loss)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
	Onnx__ModelProto *mp = NULL;
	if (b && fread(b, 1, (size_t)n, f) == (size_t)n)
		mp = onnx__model_proto__unpack(NULL, (size_t)n, b);
	free(b);
	fclose(f);
	int got = 0;
	for (size_t i = 0; mp && i < mp->n_metadata_props; i++)
		if (!strcmp(mp->metadata_props[i]->key, "train_parity_losses")) {
			char *p = mp->metadata_props[i]->value, *end;
			for (; got < STEPS; got++, p = end) {
				loss[got] = strtod(p, &end);
				if (end == p)
					break;
			}
		}
	if (mp)
		onnx__model_proto__free_unpacked(mp, NULL);
	return got == STEPS ? 0 : -1;
}

/* Freezes every batch norm the way a user does: the node's flag. */
static void freeze_batchnorms(thaw_model *m)
{
	for (int i = 0; i < m->n; i++)
		if (m->nodes[i]->kind == THAW_BATCHNORM)
			CHECK(thaw_model_set_trainable(m, i, i, 0) == 1);
}

/* The worst disagreement of one case: |got - want| over the tensor's
 * largest |want| (its scale), and over the largest change PyTorch made to
 * it in STEPS steps (how much of the update itself is wrong). */
typedef struct worst {
	double rel, upd;
	char rel_at[160], upd_at[160];
} worst;

static void compare(const thaw_model *got, const thaw_model *want, const thaw_model *start, worst *w)
{
	CHECK(got->n == want->n && got->n == start->n);
	for (int i = 0; i < got->n && i < want->n; i++) {
		const thaw_node *g = got->nodes[i], *e = want->nodes[i], *s = start->nodes[i];
		CHECK(g->kind == e->kind && g->np == e->np);
		for (int k = 0; k < g->np && k < e->np; k++) {
			const thaw_param *pg = &g->p[k], *pe = &e->p[k], *ps = &s->p[k];
			CHECK(pg->size == pe->size);
			if (pg->size != pe->size)
				continue;
			double scale = 0, moved = 0, diff = 0;
			for (size_t j = 0; j < pe->size; j++) {
				scale = fmax(scale, fabs(pe->w[j]));
				moved = fmax(moved, fabs((double)pe->w[j] - ps->w[j]));
				diff = fmax(diff, fabs((double)pg->w[j] - pe->w[j]));
			}
			double rel = diff / (scale > 0 ? scale : 1), upd = moved > 0 ? diff / moved : diff;
			char at[160];
			snprintf(at, sizeof at, "%s.%s", g->name, pg->name);
			CHECKF(rel <= TOL, "%s: max |thaw - torch| %.3g is %.3g of its scale %.3g", at, diff, rel, scale);
			/* what PyTorch left alone (frozen) thaw leaves bit for bit */
			CHECKF(moved > 0 || diff == 0, "%s: frozen in PyTorch, moved by %.3g in thaw", at, diff);
			CHECKF(upd <= TOL_UPDATE, "%s: max |thaw - torch| %.3g is %.3g of PyTorch's change %.3g", at,
			       diff, upd, moved);
			if (rel > w->rel) {
				w->rel = rel;
				snprintf(w->rel_at, sizeof w->rel_at, "%s", at);
			}
			if (upd > w->upd) {
				w->upd = upd;
				snprintf(w->upd_at, sizeof w->upd_at, "%s", at);
			}
		}
	}
}

static void run_case(const parity_case *pc, const batch *bt)
{
	char path[256];
	snprintf(path, sizeof path, FIX "/%s.onnx", pc->name);
	thaw_model *m = thaw_onnx_import(START, NULL), *start = thaw_onnx_import(START, NULL);
	thaw_model *want = thaw_onnx_import(path, NULL);
	thaw_trainer *t = NULL;
	CHECKF(m && start && want, "import: %s", thaw_errmsg());
	if (!m || !start || !want)
		goto out;
	if (pc->bn_frozen)
		freeze_batchnorms(m);
	if (pc->freeze_upto)
		CHECK(thaw_model_freeze_upto(m, pc->freeze_upto) > 0);
	thaw_optim o = thaw_optim_default(pc->kind);
	o.lr = pc->lr;
	o.weight_decay = pc->wd;
	o.clip_norm = pc->clip;
	if (pc->kind == THAW_SGD)
		o.momentum = 0.9f, o.nesterov = pc->nesterov;
	else
		o.beta1 = 0.9f, o.beta2 = 0.999f, o.eps = 1e-8f;
	int cut = pc->cached ? thaw_model_static_prefix(m) : -1;
	if (pc->cached)
		CHECK(cut >= 0 && !strcmp(m->nodes[cut]->name, pc->freeze_upto));
	t = thaw_trainer_new(m, &o, NULL, bt->B);
	CHECKF(t != NULL, "trainer: %s", thaw_errmsg());
	if (!t)
		goto out;
	t->smoothing = pc->smoothing;
	double loss[STEPS] = {0}, norm[STEPS] = {0};
	for (int s = 0; s < STEPS; s++) {
		thaw_step_result r;
		const int B = pc->batches ? pc->batches[s] : bt->B;
		if (s > 0 && s == pc->resume_after) { /* everything the trainer needs is in the file */
			thaw_train_state st = {.step = t->step};
			CHECK_OK(thaw_model_save(m, tpath("resume.thaw"), &st));
			thaw_trainer_free(t);
			thaw_model_free(m);
			t = NULL;
			m = thaw_model_load(tpath("resume.thaw"), &st);
			CHECKF(m != NULL, "load: %s", thaw_errmsg());
			if (!m)
				goto out;
			t = thaw_trainer_new(m, &o, NULL, bt->B);
			CHECKF(t != NULL, "trainer: %s", thaw_errmsg());
			if (!t)
				goto out;
			t->smoothing = pc->smoothing;
			t->step = st.step;
		}
		for (int i = 0; pc->body_mult && i < m->n; i++)
			if (strcmp(m->nodes[i]->name, "fc"))
				CHECK_OK(thaw_model_set_lr_mult(m, i, pc->body_mult[s]));
		if (cut >= 0) { /* thaw_fit: the cache is made by an inference pass */
			CHECK_OK(thaw_model_forward_range(m, 0, cut, bt->x, B, 0));
			CHECK_OK(thaw_trainer_step_from(t, cut + 1, bt->x, bt->y, B, &r));
		} else {
			CHECK_OK(thaw_trainer_step(t, bt->x, bt->y, B, &r));
		}
		loss[s] = r.loss;
		norm[s] = r.grad_norm;
		if (pc->evaluate)
			CHECK_OK(thaw_eval_batch(m, bt->x, bt->y, bt->B, NULL, NULL));
	}
	double want_loss[STEPS] = {0}, loss_err = 0;
	CHECKF(read_losses(path, want_loss) == 0, "%s: no train_parity_losses", path);
	for (int s = 0; s < STEPS; s++) {
		double e = fabs(loss[s] - want_loss[s]) / want_loss[s];
		CHECKF(e <= 1e-5, "%s step %d: loss %.9g, PyTorch %.9g", pc->name, s + 1, loss[s], want_loss[s]);
		loss_err = fmax(loss_err, e);
	}
	worst w = {0, 0, "-", "-"};
	compare(m, want, start, &w);
	if (pc->clip > 0) /* else the case would not check clipping */
		CHECKF(norm[0] > 2 * pc->clip, "gradient norm %g, clip %g", norm[0], pc->clip);
	const char *how = pc->cached ? "cached" : pc->evaluate ? "eval'd" : pc->resume_after ? "resumed" : "";
	printf("  %-22s %-7s loss %.4f..%.4f (rel err %.1e)  max rel err %.2e (%s), of the update %.2e (%s)\n",
	       pc->name, how, loss[0], loss[STEPS - 1], loss_err, w.rel, w.rel_at,
	       w.upd, w.upd_at);
out:
	thaw_trainer_free(t);
	thaw_model_free(m);
	thaw_model_free(start);
	thaw_model_free(want);
}

static void test_resnet_training_matches_pytorch(void)
{
	batch bt = {0};
	CHECK(tmpdir_make("thaw-parity") == 0);
	CHECKF(load_batch(&bt) == 0, "cannot read %s/input.pb and labels.pb", FIX);
	if (bt.x)
		for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
			run_case(&cases[c], &bt);
	free(bt.x);
	free(bt.y);
	tmpdir_remove();
}

int main(void)
{
	RUN(test_resnet_training_matches_pytorch);
	return check_done();
}
