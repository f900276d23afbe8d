/* thaw dist: the one door to MPI, for data-parallel training. A process
 * started by mpirun or srun (its environment says so) joins the job in
 * thaw_dist_init; every other process is rank 0 of 1 and each call below
 * is then a no-op, so the rest of thaw calls one API with or without MPI
 * (configure defines THAW_MPI when it finds OpenMPI). Only src/core/dist.c
 * includes mpi.h.
 *
 *   thaw_dist_init();                         // in main, before any work
 *   thaw_dist_sum_float(grads, n);            // every rank: the same sums
 *   if (thaw_dist_rank() == 0) write_files();
 *   return thaw_dist_finish(code);            // finalize, or end the job
 *
 * Collectives must be called by every rank in the same order; a rank that
 * cannot go on ends the whole job (thaw_dist_finish with a failure code
 * calls MPI_Abort), so no rank ever waits for one that left. Buffers are
 * the caller's. */
#ifndef THAW_DIST_H
#define THAW_DIST_H

#include <stddef.h>

/* Joins the MPI job when the process was started by an MPI launcher
 * (OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_SIZE in the environment); else
 * nothing. 0, or < 0 with a message: MPI_Init failed, or the launcher
 * started several processes but thaw was built without MPI (each would
 * train alone and all would write the same files). */
int thaw_dist_init(void);
/* This process's rank and the number of ranks (0 and 1 without MPI). */
int thaw_dist_rank(void);
int thaw_dist_size(void);
/* Ranks on this machine (for the thread count per rank); 1 without MPI. */
int thaw_dist_local_size(void);
/* Threads each rank should use so the ranks on this machine share its
 * cores (cores / local ranks, at least 1); 0 (the default: every core)
 * with one rank here. */
int thaw_dist_threads(void);
/* 1 when thaw was built with MPI. The library's name and version in
 * *what ("Open MPI v4.1.4") when not NULL. */
int thaw_dist_built(const char **what);
/* 1 on the rank that writes files and prints (rank 0). */
static inline int thaw_dist_writer(void) { return thaw_dist_rank() == 0; }

/* In place: buf becomes the element-wise sum over the ranks, the same bits
 * on every rank (one MPI_Allreduce per 2^28 elements). 0 or < 0. */
int thaw_dist_sum_float(float *buf, size_t n);
int thaw_dist_sum_double(double *buf, size_t n);
int thaw_dist_sum_long(long *buf, size_t n);
/* The largest v over the ranks (an agreement: stop if any rank stops). */
int thaw_dist_max_int(int v);
/* Root's bytes to every rank. 0 or < 0. */
int thaw_dist_bcast(void *buf, size_t bytes, int root);
/* Every rank's block to every rank: rank r's bytes[r] bytes sit at
 * buf + sum(bytes[0..r-1]) and are filled in on the others. 0 or < 0. */
int thaw_dist_allgather(void *buf, const size_t *bytes);

/* Seconds spent in the collectives above since the last reset (the
 * allreduce share of a step, for thaw bench and make bench). */
double thaw_dist_comm_seconds(void);
void thaw_dist_comm_reset(void);

/* Synchronised batch norm: while on (the trainer sets it around a step of
 * a distributed run), a training batch norm computes its statistics over
 * the global batch. */
void thaw_dist_set_sync_bn(int on);
int thaw_dist_sync_bn(void);

/* The end of the process: with code 0 (success) or 2 (a failed check:
 * every rank ran to the end) MPI_Finalize and return code; any other code
 * on a job of several ranks prints which rank failed on stderr and calls
 * MPI_Abort, which ends every rank (the launcher then exits non-zero), so
 * none waits forever for this one. Without MPI: returns code. */
int thaw_dist_finish(int code);

#endif
