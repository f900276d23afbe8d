/* thaw fine_tune and lr_find: transfer that works without tuning, in the
 * way of fastai. fine_tune trains in two phases: (1) the base frozen, the
 * head trained on a one-cycle schedule; (2) the base thawed and everything
 * trained on one-cycle with discriminative learning rates, lower for
 * earlier layer groups (per-node lr_mult). lr_find sweeps the rate
 * exponentially, records the loss, puts the weights back bit for bit and
 * suggests a rate.
 *
 *   thaw_finetune_opts o = thaw_finetune_opts_default();
 *   o.cut = "pool2";                   // optional: start from this cut, new head
 *   o.val = test;                      // optional: validated every epoch
 *   thaw_finetune_result r;
 *   thaw_fine_tune(m, train, &o, &r);  // m changes in place
 *
 *   thaw_lrfind_opts lo = thaw_lrfind_opts_default();
 *   thaw_lrfind_result lr = {0};
 *   thaw_lr_find(m, train, &lo, &lr);  // lr.suggested; m is as before
 *   thaw_lrfind_result_free(&lr);
 *
 * Both borrow the model and data for the call. Each phase trains through
 * a fit function (thaw_fit, or the run layer's thaw_run_fit, which adds
 * checkpoints and the run folder) and publishes what it does as LOG events.
 */
#ifndef THAW_FINETUNE_H
#define THAW_FINETUNE_H

#include "thaw/event.h"
#include "thaw/fit.h"
#include "thaw/transfer.h"

/* ---- layer groups. The nodes before the head are split into blocks, a
 * block starting at each conv2d or dense node (what follows it up to the
 * next one belongs to it: its batch norm, activation, pooling); blocks
 * are then merged, in order, into at most max_groups groups of as equal a
 * number of blocks as can be. Nodes before the first block join group 0.
 * group[i] (m->n entries) gets the group of node i; nodes from `head` on
 * get the head group, which is the last. Returns the number of groups
 * including the head's (at least 1), or < 0. */
#define THAW_FT_MAX_GROUPS 16
int thaw_layer_groups(const thaw_model *m, int head, int max_groups, int *group);

/* The head: nodes from the model's last node with weights onwards (a new
 * head made by thaw_transfer is one dense node). -1 when no node has
 * weights. */
int thaw_model_head_index(const thaw_model *m);

/* The end of a network's body: the last node before the classifier at its
 * end (the trailing chain of dense layers with the flatten, dropout and
 * activations between them), as fastai's create_body and Keras'
 * include_top=False cut. The reference CNN's body ends at pool2, a
 * ResNet's at its global average pool. -1 when the model has no such
 * chain or is all classifier (an MLP). */
int thaw_model_body_end(const thaw_model *m);

/* The model for the data as fine_tune makes it: with cut, a new head
 * after that node (thaw_transfer); without, when the data's classes are
 * not the model's, a new head at the end of the body (or, without a body,
 * in place of the last dense layer); else nothing changes. A new head gets
 * a dropout node (`head_dropout`, rate `dropout`; 0: none) before it, and
 * the base is frozen. Lines for the log go to nt (may be NULL). Returns 1
 * (a new head), 0 (the model's own) or < 0. */
int thaw_finetune_head(thaw_model *m, const thaw_dataset *d, const char *cut, float dropout, thaw_notes *nt);

/* How a phase trains; thaw_fit by default. The fit function must pass the
 * events of the phase to o->on_event (fine_tune's own handler: gradual
 * unfreezing hangs on it). Returns epochs run or < 0, as thaw_fit. */
typedef int (*thaw_fit_fn)(void *user, thaw_model *m, const thaw_dataset *d, const thaw_fit_opts *o);

typedef struct thaw_finetune_opts {
	/* Where the base ends. cut set: thaw_transfer cuts after that node and
	 * puts a new head on (the cut-point explorer's choice comes this way).
	 * NULL: when the data's classes are not the model's, the cut is the end
	 * of the body (thaw_model_body_end; an MLP gets its last dense layer
	 * replaced); else the model trains as it is, its head being its last
	 * node with weights. */
	const char *cut;
	const char *phase_prefix; /* phases are "<prefix>head" and "<prefix>fine-tune" ("" default) */
	int head_epochs;   /* phase 1 epochs; 0: enough for head_steps optimizer steps */
	int epochs;        /* phase 2 epochs; 0: enough for `steps` optimizer steps */
	long head_steps;   /* 0 with head_epochs 0: no phase 1 */
	long steps;        /* 0 with epochs 0: no phase 2 */
	int batch;         /* 0: min(32, images) */
	thaw_optim_kind optimizer; /* adamw */
	float lr;          /* phase 1's peak rate */
	float ft_lr;       /* phase 2's peak rate for the head group; 0: lr / 2 */
	float spread;      /* phase 2: the first group's rate is ft_lr / spread (100) */
	int groups;        /* layer groups, the head's included (3: two for the base) */
	float weight_decay;
	float smoothing;   /* label smoothing */
	float dropout;     /* before a new head (0.5; 0: none) */
	int shift, flip;   /* augmentation: shifts of up to 2 pixels, no flips */
	float pct_start;   /* one-cycle: share of steps rising (0.25) */
	float div;         /* one-cycle: starts at peak / div (25) */
	int gradual;       /* phase 2 thaws one more group each epoch (ULMFiT), last first */
	/* Batch-norm statistics stay frozen (the nodes untrainable) in phase 2
	 * when batches have fewer images than this: a handful of images
	 * cannot estimate a mean and a variance. 0: the default, 32. */
	int bn_min_batch;
	uint64_t seed;     /* batch order and augmentation (phase 2 uses seed + 1) */
	const thaw_dataset *val; /* NULL: no validation */
	int feature_cache, cache_mb; /* as thaw_fit_opts */
	/* fine_tune's own lines as LOG events; and, when fit is NULL, every
	 * event of its phases. A fit function publishes the phases' events
	 * itself (thaw_run_fit: to the run's sinks). */
	thaw_event_fn on_event;
	void *user;
	thaw_fit_fn fit;   /* NULL: thaw_fit */
	void *fit_user;
} thaw_finetune_opts;

thaw_finetune_opts thaw_finetune_opts_default(void);

typedef struct thaw_finetune_result {
	int head_epochs, epochs;     /* run in phase 1 and phase 2 */
	int batch;
	int passes;                  /* over the images in an epoch: small data makes epochs of >= 20 batches */
	int head;                    /* index of the head's first node */
	int groups;                  /* layer groups, the head's included */
	int group_first[THAW_FT_MAX_GROUPS], group_last[THAW_FT_MAX_GROUPS]; /* node ranges */
	float group_lr[THAW_FT_MAX_GROUPS]; /* phase 2 peak rate of each group */
	int bn_frozen;               /* phase 2 kept the batch norms frozen */
	int new_head;                /* thaw_transfer gave the model a new head */
} thaw_finetune_result;

/* Trains m on d as described above (d must fit the model's input: see
 * thaw_dataset_to_spec). The model ends with every node trainable but the
 * batch norms that stayed frozen, its lr_mult values as they were, and the
 * data's class names. res may be NULL. Returns 0 or < 0 (THAW_ESTOP from
 * a fit function that was interrupted). */
int thaw_fine_tune(thaw_model *m, const thaw_dataset *d, const thaw_finetune_opts *o,
		   thaw_finetune_result *res);

/* ---- the LR finder */
typedef struct thaw_lrfind_opts {
	float lr_min, lr_max; /* the sweep, exponential (1e-7 .. 10) */
	int steps;      /* 0: 100 for small data, up to 300 for large (a step a batch) */
	int batch;      /* 0: min(32, images) */
	thaw_optim_kind optimizer; /* adamw, with its defaults */
	float beta;     /* smoothing of the loss (bias-corrected); 0: 1 - 20/steps, at least 0.6 */
	float diverge;  /* stop when the smoothed loss exceeds this many times its best (4) */
	float smoothing;
	uint64_t seed;
	thaw_event_fn on_event; /* LOG lines; may be NULL */
	void *user;
} thaw_lrfind_opts;

thaw_lrfind_opts thaw_lrfind_opts_default(void);

typedef struct thaw_lrfind_result {
	int n;            /* steps recorded */
	double *lr;       /* (n) rate of each step */
	double *loss;     /* (n) that step's batch loss */
	double *smooth;   /* (n) the smoothed loss */
	int diverged;     /* stopped early: the loss diverged (or became NaN) */
	double steep;     /* the rate of steepest descent of the smoothed curve */
	double valley;    /* fastai's valley: in the longest descent, two thirds down */
	double minimum;   /* the rate of the lowest smoothed loss, divided by 10 */
	double suggested; /* the valley (the steepest descent when no valley) */
} thaw_lrfind_result;

/* Sweeps the rate from lr_min up over `steps` steps on d's batches (again
 * from the start when d runs out), recording each step's loss; stops when
 * the loss diverges. Then restores every weight, statistic and optimizer
 * state and the model's random state bit for bit. The trainable flags
 * decide what trains, as in thaw_fit. res's arrays are the caller's (free
 * with thaw_lrfind_result_free). 0 or < 0. */
int thaw_lr_find(thaw_model *m, const thaw_dataset *d, const thaw_lrfind_opts *o, thaw_lrfind_result *res);
void thaw_lrfind_result_free(thaw_lrfind_result *r);
/* The suggestions of a curve (fills steep, valley, minimum, suggested of
 * r from its n, lr and smooth); exposed for tests. */
void thaw_lrfind_suggest(thaw_lrfind_result *r);

#endif
