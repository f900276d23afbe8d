/* thaw explore: where to cut a base for a new task, measured. For every
 * candidate cut of a model (the end of each block: a pooling, or the
 * activation that closes a block, or a residual add, at a point where one
 * tensor carries everything to the output), the features of the labelled
 * images are computed in one inference pass, and a quick head (a dense
 * softmax layer, Adam, a fixed budget of steps) is fitted with stratified
 * k-fold cross-validation on those images alone: the held-out accuracy,
 * mean and sd over the folds, says how well the cut transfers. Beside the
 * cuts stands a scratch baseline: the model's own architecture with a new
 * head, re-initialised and trained from scratch on the same folds, so
 * negative transfer shows.
 *
 *   thaw_explore_opts o = thaw_explore_opts_default();     // 5 folds, scratch on
 *   thaw_explore_result r;
 *   if (thaw_explore(m, train, &o, &r) < 0) puts(thaw_errmsg());
 *   printf("best cut: %s\n", r.cuts[r.best].name);         // thaw_transfer's cut
 *   thaw_explore_result_free(&r);
 *
 * The explorer never sees test data: it receives the labelled set only,
 * and every accuracy it reports is measured on a fold the head (or the
 * scratch model) did not train on. The model is borrowed and left as it
 * was (inference only); the result owns its arrays. */
#ifndef THAW_EXPLORE_H
#define THAW_EXPLORE_H

#include <stdint.h>

#include "thaw/data.h"
#include "thaw/model.h"

#define THAW_EXPLORE_MAX_FOLDS 20

typedef struct thaw_explore_opts {
	int folds;        /* k of the k-fold (2..20; default 5); at most the smallest class's count */
	int head_steps;   /* quick head: optimizer steps per fold (default 300) */
	int batch;        /* quick head and scratch batch (default 32) */
	float head_lr;    /* quick head: Adam rate (default 3e-3) */
	int max_features; /* a cut's output larger than this (floats per image) is average-pooled
			   * to the largest s x s grid that fits (default 8192) */
	int max_cuts;     /* 0: every candidate; else the last max_cuts of them */
	int scratch;      /* 1: run the scratch baseline (default 1) */
	int scratch_steps;   /* scratch: optimizer steps per fold (default 400) */
	float scratch_lr;    /* scratch: Adam rate, cosine schedule (default 1e-3) */
	int scratch_shift, scratch_flip; /* scratch augmentation (default 2 and 1) */
	uint64_t seed;    /* folds, heads, scratch weights */
	/* One line per step ("cut pool2: 3136 features, 84.0 +- 3.1 %, 0.4 s");
	 * nonzero stops the exploration (thaw_explore returns THAW_ESTOP). */
	int (*on_line)(const char *line, void *user);
	/* Asked between two training steps of the scratch baseline (may be
	 * NULL): nonzero stops it at once (THAW_ESTOP). */
	int (*should_stop)(void *user);
	void *user;
} thaw_explore_opts;

thaw_explore_opts thaw_explore_opts_default(void);

typedef struct thaw_explore_cut {
	char name[THAW_NAME_MAX]; /* the node (thaw_transfer_opts.cut) or "scratch" */
	int node;                 /* its index in the model; -1 for scratch */
	thaw_shape out;           /* the node's output per image */
	int features;             /* what the quick head saw, after pooling */
	int pooled;               /* 1: average-pooled down to fit max_features */
	double acc, sd;           /* held-out accuracy, mean and sd over the folds (0..1) */
	double loss;              /* held-out cross-entropy, mean over the folds (breaks accuracy ties) */
	double fold_acc[THAW_EXPLORE_MAX_FOLDS], fold_loss[THAW_EXPLORE_MAX_FOLDS];
	double seconds;           /* its share of the feature pass + its k heads (scratch: k trainings) */
} thaw_explore_cut;

typedef struct thaw_explore_result {
	int n_cuts;
	thaw_explore_cut *cuts; /* n_cuts, in model order */
	int has_scratch;
	thaw_explore_cut scratch;
	int best;        /* index into cuts of the highest mean accuracy, ties to the lower loss (-1: none) */
	int scratch_wins; /* the scratch baseline beat the best cut (negative transfer) */
	int folds, n_images, n_classes;
	double feature_seconds; /* the one inference pass over the images */
} thaw_explore_result;

/* Candidate cuts of m in model order: node i such that every edge from
 * nodes 0..i to later nodes leaves node i (one tensor carries everything),
 * of a kind that ends a block (a pooling, an add or concat, an activation
 * not followed by a pooling or activation reading it alone), before the
 * model's last dense layer (its old head). Writes at most max indices;
 * returns the number found. */
int thaw_explore_candidates(const thaw_model *m, int *nodes, int max);

/* Explores m on the labelled data d (converted to the model's input, as
 * thaw_fit needs). r is filled (free it with thaw_explore_result_free);
 * after an error it is empty (no cuts, best -1). Returns 0 or < 0 with a message (too few images
 * per class for the folds, no candidate cut, out of memory). */
int thaw_explore(thaw_model *m, const thaw_dataset *d, const thaw_explore_opts *o, thaw_explore_result *r);
void thaw_explore_result_free(thaw_explore_result *r);
/* The scratch baseline alone, on the folds thaw_explore used (the same
 * seed and folds in o): fills r->scratch, has_scratch and scratch_wins
 * (against r->best). thaw_explore calls it when o->scratch is set; the
 * workbench calls it after showing the cuts. 0 or < 0. */
int thaw_explore_scratch(const thaw_model *m, const thaw_dataset *d, const thaw_explore_opts *o,
			 thaw_explore_result *r);

/* A copy of m's graph (nodes, names, attributes, flags, input spec and
 * class names) with fresh weights from seed: the architecture without
 * what it learned. NULL on error. The caller frees it. */
thaw_model *thaw_model_copy_arch(const thaw_model *m, uint64_t seed);

/* Makes the scratch model for d from m: its architecture, the old head
 * replaced by one for d's classes as thaw_transfer does, every node
 * trainable, weights fresh from seed. NULL on error; the caller frees it. */
thaw_model *thaw_explore_scratch_model(const thaw_model *m, const thaw_dataset *d, uint64_t seed);

#endif
