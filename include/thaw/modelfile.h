/* .thaw model files: the graph, input spec, class names, freezing flags,
 * parameters and (optionally) optimizer state and training progress, so a
 * run resumes exactly. The byte layout is in docs/thaw-format.md.
 *
 *   thaw_train_state st = {0};
 *   if (thaw_model_save(m, "run/model.thaw", &st) < 0) puts(thaw_errmsg());
 *   thaw_model *m2 = thaw_model_load("run/model.thaw", &st);   // NULL on error
 *
 * Saving is atomic: the file is written beside the target under a temporary
 * name, fsynced and renamed, so a crash or a full disk leaves either the old
 * file or the new one, never half of one. Loading checks every count and
 * size against the file's length before it allocates; every error names the
 * file and the place ("model.thaw: section 'tensors', node 'conv1' weight:
 * CRC mismatch"). The caller owns the loaded model. */
#ifndef THAW_MODELFILE_H
#define THAW_MODELFILE_H

#include <stddef.h>
#include <stdint.h>

#include "thaw/model.h"

#define THAW_FORMAT_VERSION 1
#define THAW_TRAIN_MAX_ARGS 32
#define THAW_TRAIN_ARG_LEN 256

/* Where training stands, saved beside the weights so it resumes exactly.
 * The optimizer's moments live in the nodes (p[].m, p[].v) and are saved
 * whenever a node has them. */
typedef struct thaw_train_state {
	char phase[64];      /* phase name, "" when none */
	int epoch;           /* epochs finished in this phase */
	int64_t step;        /* optimizer steps taken */
	thaw_rng rng;        /* the trainer's RNG (shuffling, augmentation) */
	char optimizer[512]; /* "name=adam lr=0.001 beta1=0.9 ..." (key=value, spaces) */
	int present;         /* load: 1 when the file held a training record */
	/* the position in a run of several phases (thaw/run.h) */
	int phase_index;     /* which phase (1-based); 0: none */
	int batch;           /* batches done of the epoch after `epoch` */
	uint64_t seed;       /* the run's seed */
	int argc;            /* the run's arguments, so a resume needs none */
	char argv[THAW_TRAIN_MAX_ARGS][THAW_TRAIN_ARG_LEN];
} thaw_train_state;

/* Writes m (and st when not NULL) to path atomically. 0 or < 0. */
int thaw_model_save(const thaw_model *m, const char *path, const thaw_train_state *st);

/* Reads a model; fills *st when not NULL (st->present = 0 when the file has
 * no training record). Optimizer state is restored into p[].m/v when the
 * file holds it. NULL on error (thaw_errmsg() says why). */
thaw_model *thaw_model_load(const char *path, thaw_train_state *st);
/* The same from len bytes in memory (borrowed, read only during the call);
 * name stands for the file in messages, NULL: "(memory)". */
thaw_model *thaw_model_load_mem(const void *data, size_t len, const char *name, thaw_train_state *st);

/* Testing aid: the next save fails with an I/O error once `bytes` bytes have
 * been written (as a full disk would); a negative value turns it off. */
void thaw_modelfile_fail_after(long bytes);

#endif
