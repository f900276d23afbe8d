/* thaw training: softmax cross-entropy, optimizers, learning-rate
 * schedules, metrics and the training step. The trainer borrows the model
 * (the model owns parameters and optimizer state) and owns its loss buffers,
 * sized once for the largest batch.
 *
 *   thaw_optim o = thaw_optim_default(THAW_ADAM);   // lr 1e-3
 *   thaw_trainer *t = thaw_trainer_new(m, &o, NULL, 64);
 *   thaw_step_result r;
 *   thaw_trainer_step(t, x, labels, B, &r);          // forward, loss, backward, update
 */
#ifndef THAW_TRAIN_H
#define THAW_TRAIN_H

#include <stdint.h>

#include "thaw/model.h"

/* ---- loss. Mean softmax cross-entropy of B rows of K logits, computed
 * with the max subtracted (stable for any logits). With smoothing s the
 * target is (1-s) one-hot + s/K. dlogits (B,K) gets d loss / d logits;
 * probs (B,K) gets the softmax when not NULL. A label outside [0,K) is an
 * error naming the row. */
int thaw_softmax_xent(const float *logits, const int32_t *labels, int B, int K, float smoothing,
		      float *dlogits, float *probs, double *loss);
/* Row-wise softmax, out may equal in. */
void thaw_softmax(float *out, const float *in, int B, int K);

/* ---- optimizers */
typedef enum thaw_optim_kind { THAW_SGD, THAW_ADAM, THAW_ADAMW } thaw_optim_kind;

typedef struct thaw_optim {
	thaw_optim_kind kind;
	float lr;           /* base learning rate (the schedule scales it) */
	float momentum;     /* SGD */
	int nesterov;       /* SGD */
	float beta1, beta2; /* Adam, AdamW */
	float eps;
	float weight_decay; /* SGD/Adam: L2 added to the gradient; AdamW: decoupled */
	float clip_norm;    /* > 0: clip the global gradient norm to this */
} thaw_optim;

thaw_optim thaw_optim_default(thaw_optim_kind kind); /* SGD lr 0.01 m 0.9; Adam(W) lr 1e-3 */
const char *thaw_optim_name(thaw_optim_kind kind);  /* "sgd", "adam", "adamw" */
int thaw_optim_from_name(const char *name);         /* -1 when unknown */
int thaw_optim_check(const thaw_optim *o);          /* range checks with a message */
/* Updates the parameters of every trainable node whose gradients the last
 * backward pass wrote, at rate lr * node->lr_mult. Returns the gradient norm
 * before clipping through *grad_norm when not NULL. */
int thaw_optim_step(const thaw_optim *o, thaw_model *m, float lr, float *grad_norm);

/* ---- schedules. The rate at step s (0-based) of total; warm-up (linear from
 * lr/warmup_steps... to lr) comes first and combines with any kind. */
typedef enum thaw_sched_kind {
	THAW_SCHED_CONSTANT,
	THAW_SCHED_STEP,    /* lr * gamma^(floor(s / step_size)) */
	THAW_SCHED_COSINE,  /* from lr to min_lr over total steps */
	THAW_SCHED_ONECYCLE /* up from lr/div to lr over pct_start, then cosine to lr/final_div */
} thaw_sched_kind;

typedef struct thaw_sched {
	thaw_sched_kind kind;
	long total_steps;  /* cosine, one-cycle */
	long warmup_steps; /* 0: none */
	long step_size;    /* step */
	float gamma;       /* step */
	float min_lr;      /* cosine */
	float pct_start;   /* one-cycle (default 0.3) */
	float div, final_div; /* one-cycle (defaults 25, 1e4) */
} thaw_sched;

thaw_sched thaw_sched_default(thaw_sched_kind kind);
const char *thaw_sched_name(thaw_sched_kind kind); /* "constant", "step", "cosine", "onecycle" */
int thaw_sched_from_name(const char *name);
int thaw_sched_check(const thaw_sched *s);
float thaw_sched_lr(const thaw_sched *s, float base_lr, long step);

/* ---- metrics over many batches */
typedef struct thaw_metrics {
	int K, topk;
	long n, correct, correct_topk;
	double loss_sum;
	long *confusion; /* (K, K): row = true class, column = predicted */
} thaw_metrics;

thaw_metrics *thaw_metrics_new(int K, int topk);
void thaw_metrics_free(thaw_metrics *mt);
void thaw_metrics_reset(thaw_metrics *mt);
/* scores (B, K): logits or probabilities; loss: the batch's summed loss. */
void thaw_metrics_add(thaw_metrics *mt, const float *scores, const int32_t *labels, int B,
		      double loss_sum);
double thaw_metrics_loss(const thaw_metrics *mt);
double thaw_metrics_accuracy(const thaw_metrics *mt);
double thaw_metrics_topk(const thaw_metrics *mt);
double thaw_metrics_class_accuracy(const thaw_metrics *mt, int k); /* recall of class k */

/* ---- the step */
typedef struct thaw_step_result {
	double loss; /* mean over the batch */
	int correct; /* top-1 hits in the batch */
	float lr;    /* base rate used */
	float grad_norm;
	int B;       /* images the step learned from: the whole batch over all MPI ranks */
} thaw_step_result;

typedef struct thaw_trainer {
	thaw_model *m; /* borrowed */
	thaw_optim opt;
	thaw_sched sched;
	float smoothing;
	long step;     /* steps taken; the schedule's clock */
	int max_B, K;
	float *dlogits; /* (max_B, K) */
	float *probs;   /* (max_B, K) */
	/* Data-parallel training (thaw/dist.h), set by thaw_fit on every rank:
	 * total_B > 0 says the step's B images are this rank's shard of a
	 * batch of total_B, so the gradients are summed over the ranks before
	 * the update (loss, hits and NaN checks are the whole batch's).
	 * bn_local: batch norm statistics per rank (their running values
	 * averaged) instead of synchronised over the ranks. */
	int total_B, bn_local;
	float *pack; /* the exchange buffer, made with more than one rank */
} thaw_trainer;

/* sched NULL: constant. max_B: the largest batch that will be passed. */
thaw_trainer *thaw_trainer_new(thaw_model *m, const thaw_optim *o, const thaw_sched *s, int max_B);
void thaw_trainer_free(thaw_trainer *t);
/* One training step on (B, c, h, w) normalised images. A NaN or Inf loss
 * stops before the update with THAW_ENAN and a message naming the step. */
int thaw_trainer_step(thaw_trainer *t, const float *x, const int32_t *labels, int B,
		      thaw_step_result *r);
/* The same step with the forward pass starting at node `first`, whose
 * input (node first-1's output) the caller has filled (cached features). */
int thaw_trainer_step_from(thaw_trainer *t, int first, const float *x, const int32_t *labels, int B,
			   thaw_step_result *r);
/* Inference forward pass plus metrics (no update); probs may be NULL. */
int thaw_eval_batch(thaw_model *m, const float *x, const int32_t *labels, int B, thaw_metrics *mt,
		    float *probs);

#endif
