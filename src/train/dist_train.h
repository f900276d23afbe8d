/* Data-parallel training over MPI (thaw/dist.h), for the trainer and the
 * fit loop only: the gradient exchange of a step, the feature cache built
 * in shares, sharded evaluation and the check that every rank still holds
 * the same weights. Each is a no-op or plain local work on one rank. */
#ifndef THAW_DIST_TRAIN_H
#define THAW_DIST_TRAIN_H

#include "thaw/data.h"
#include "thaw/dist.h"
#include "thaw/train.h"

/* Floats the exchange buffer of a step can need for m (every learnable
 * value, the batch norm statistics and 3 counters). */
size_t dist_pack_cap(const thaw_model *m);

/* After a backward pass on this rank's shard: packs, in node order, the
 * gradients the backward wrote (already scaled to the whole batch: they
 * are summed, not averaged), the running statistics of training batch
 * norms when bn_local (averaged), and the step's loss sum, hits and image
 * count; sums them over the ranks with one MPI_Allreduce and unpacks.
 * *loss_sum, *correct, *count: this rank's on entry, the whole batch's on
 * return. */
int dist_reduce_step(thaw_model *m, float *pack, int bn_local, double *loss_sum, int *correct, int *count);

/* The feature cache built in shares: rank r runs nodes 0..cut for images
 * [n r / N, n (r+1) / N) of d, then every rank gets every row. (n, F). */
float *dist_cache_build(thaw_model *m, const thaw_dataset *d, int cut, int batch, size_t F);

/* This rank's share of d for evaluation: a view (no copy) of images
 * [n r / N, n (r+1) / N), in *view; n may be 0. */
void dist_shard_view(const thaw_dataset *d, thaw_dataset *view);
/* Sums the counters of part (this rank's share) over the ranks and adds
 * them to into. */
int dist_metrics_reduce(thaw_metrics *part, thaw_metrics *into);

/* 0 when every rank holds the same parameters and statistics (a hash of
 * their bits compared), else THAW_EINVAL naming the first rank that
 * differs: the ranks would train apart from each other. */
int dist_check_replicas(const thaw_model *m, const char *when);

#endif
