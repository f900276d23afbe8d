/* thaw fit: the epoch loop over a data set — batches from the prefetching
 * loader, the training step, validation, early stopping, and the events it
 * publishes (thaw/event.h) through one callback. The run layer
 * (thaw/run.h) wraps it with checkpoints and resume; the Lua binding, the
 * CLI and the workbench all train through it. */
#ifndef THAW_FIT_H
#define THAW_FIT_H

#include "thaw/data.h"
#include "thaw/event.h"
#include "thaw/train.h"

typedef struct thaw_fit_opts {
	const char *phase; /* a name for logs ("head", "fine-tune") */
	int phase_index;   /* which phase of a run this is (1-based), for logs */
	int epochs, batch;
	thaw_optim optim;
	thaw_sched sched; /* total_steps 0: filled in from epochs x batches */
	float smoothing;
	uint64_t seed;    /* order and augmentation */
	int shift, flip;  /* augmentation */
	const thaw_dataset *val; /* NULL: no validation */
	int patience;     /* > 0: stop after this many epochs without a better val loss */
	int restore_best; /* with patience: end with the weights of the best epoch */
	/* Resuming: start at epoch first_epoch (1-based; 0 = 1) after skipping
	 * skip_batches of its batches, with the schedule clock at first_step.
	 * The loader's batches depend only on the seed and the epoch, so the
	 * run continues exactly where it stopped. */
	int first_epoch, skip_batches;
	long first_step;
	/* Optimizer state (moments, step counts) starts afresh with every phase,
	 * as a recompiled Keras model does, unless resuming (above) or keep_state. */
	int keep_state;
	/* The feature cache: when nodes 0..k never change during the phase (no
	 * trainable weights, nothing random before k, no augmentation), their
	 * output is computed once per image and the phase trains from k+1.
	 * 0 = use it when it fits in cache_mb (default 1024), -1 = never. */
	int feature_cache;
	int cache_mb;
	/* Data-parallel training under mpirun / srun (thaw/dist.h): batch norm
	 * statistics per rank (1) instead of over the whole batch (0, the
	 * default: N ranks then train as one process on the same batch). */
	int bn_local;
	/* The events of the phase (thaw/event.h): PHASE_BEGIN, BATCH after
	 * every batch, EPOCH after every epoch (with validation), LOG (notes
	 * such as the cache in use), PHASE_END. Nonzero from BATCH or EPOCH
	 * stops the phase. */
	thaw_event_fn on_event;
	void *user;
} thaw_fit_opts;

/* epochs 1, batch 64, Adam 1e-3, constant rate. */
thaw_fit_opts thaw_fit_opts_default(void);

/* Trains m on d (its shape must match the model input: convert with
 * thaw_dataset_to_spec first) and its class count must equal the model's
 * output width (thaw_model_class_count: a model whose output is no vector
 * of class scores is refused). A model without class names, or with names
 * other than the data's, takes the data's names (a LOG event when they
 * change). Normalises with the model's mean and std.
 * Returns the number of epochs run, or < 0 (THAW_ESTOP is not an error:
 * a callback stopping returns the epochs done). */
int thaw_fit(thaw_model *m, const thaw_dataset *d, const thaw_fit_opts *o);

/* Loss, accuracy and confusion over a whole data set (inference mode). */
int thaw_evaluate(thaw_model *m, const thaw_dataset *d, int batch, thaw_metrics *mt);

#endif
