/* MPI for data-parallel training, behind thaw/dist.h; one process (rank 0
 * of 1) when thaw is built without MPI or started without a launcher. */
#include "thaw/dist.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thaw/core.h"

#ifdef THAW_MPI
#include <mpi.h>
#endif

static int rank_, size_ = 1, local_ = 1, joined, sync_bn;
static double comm_s;

/* The size an MPI launcher announced in the environment, 0 when none. */
static int launched_size(const char **var)
{
	static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
		const char *v = getenv(vars[i]);
		if (v && atoi(v) > 0) {
			*var = vars[i];
			return atoi(v);
		}
	}
	/* srun --mpi=pmix sets PMIX_RANK; Slurm says how many tasks */
	if (getenv("PMIX_RANK")) {
		const char *t = getenv("SLURM_NTASKS");
		*var = "PMIX_RANK";
		return t && atoi(t) > 0 ? atoi(t) : 1;
	}
	return 0;
}

int thaw_dist_built(const char **what)
{
#ifdef THAW_MPI
	if (what) {
		static char v[MPI_MAX_LIBRARY_VERSION_STRING];
		int len = 0;
		MPI_Get_library_version(v, &len);
		char *nl = strpbrk(v, ",\n");
		if (nl)
			*nl = 0;
		*what = v;
	}
	return 1;
#else
	if (what)
		*what = "none";
	return 0;
#endif
}

int thaw_dist_init(void)
{
	const char *var = NULL;
	int n = launched_size(&var);
	if (joined || n == 0)
		return 0;
#ifdef THAW_MPI
	if (MPI_Init(NULL, NULL) != MPI_SUCCESS)
		return thaw_error(THAW_EIO, "MPI_Init failed (started by an MPI launcher: %s is set)", var);
	joined = 1;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
	MPI_Comm_size(MPI_COMM_WORLD, &size_);
	MPI_Comm local;
	if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) == MPI_SUCCESS) {
		MPI_Comm_size(local, &local_);
		MPI_Comm_free(&local);
	}
	return 0;
#else
	if (n > 1)
		return thaw_error(THAW_EINVAL,
				  "started by an MPI launcher as one of %d processes (%s), but this thaw was built "
				  "without MPI: each would train alone and all would write the same files; install "
				  "libopenmpi-dev and rebuild (./configure finds it)",
				  n, var);
	return 0;
#endif
}

int thaw_dist_rank(void) { return rank_; }
int thaw_dist_size(void) { return size_; }
int thaw_dist_local_size(void) { return local_; }
int thaw_dist_threads(void)
{
	if (local_ <= 1)
		return 0;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	return cores > local_ ? (int)(cores / local_) : 1;
}

double thaw_dist_comm_seconds(void) { return comm_s; }
void thaw_dist_comm_reset(void) { comm_s = 0; }
void thaw_dist_set_sync_bn(int on) { sync_bn = on && size_ > 1; }
int thaw_dist_sync_bn(void) { return sync_bn; }

#ifdef THAW_MPI
#define CHUNK ((size_t)1 << 28) /* elements per call: MPI counts are int */

static int sum(void *buf, size_t n, size_t elem, MPI_Datatype type, const char *what)
{
	if (size_ <= 1)
		return 0;
	double t0 = thaw_now();
	for (size_t at = 0; at < n; at += CHUNK) {
		size_t k = n - at < CHUNK ? n - at : CHUNK;
		int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + at * elem, (int)k, type, MPI_SUM, MPI_COMM_WORLD);
		if (rc != MPI_SUCCESS)
			return thaw_error(THAW_EIO, "MPI_Allreduce of %zu %s failed (error %d)", n, what, rc);
	}
	comm_s += thaw_now() - t0;
	return 0;
}
#endif

int thaw_dist_sum_float(float *buf, size_t n)
{
#ifdef THAW_MPI
	return sum(buf, n, sizeof *buf, MPI_FLOAT, "floats");
#else
	(void)buf, (void)n;
	return 0;
#endif
}

int thaw_dist_sum_double(double *buf, size_t n)
{
#ifdef THAW_MPI
	return sum(buf, n, sizeof *buf, MPI_DOUBLE, "doubles");
#else
	(void)buf, (void)n;
	return 0;
#endif
}

int thaw_dist_sum_long(long *buf, size_t n)
{
#ifdef THAW_MPI
	return sum(buf, n, sizeof *buf, MPI_LONG, "integers");
#else
	(void)buf, (void)n;
	return 0;
#endif
}

int thaw_dist_max_int(int v)
{
#ifdef THAW_MPI
	if (size_ > 1) {
		double t0 = thaw_now();
		MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
		comm_s += thaw_now() - t0;
	}
#endif
	return v;
}

int thaw_dist_bcast(void *buf, size_t bytes, int root)
{
#ifdef THAW_MPI
	if (size_ <= 1)
		return 0;
	double t0 = thaw_now();
	for (size_t at = 0; at < bytes; at += CHUNK) {
		size_t k = bytes - at < CHUNK ? bytes - at : CHUNK;
		int rc = MPI_Bcast((char *)buf + at, (int)k, MPI_BYTE, root, MPI_COMM_WORLD);
		if (rc != MPI_SUCCESS)
			return thaw_error(THAW_EIO, "MPI_Bcast of %zu bytes from rank %d failed (error %d)", bytes, root,
					  rc);
	}
	comm_s += thaw_now() - t0;
#else
	(void)buf, (void)bytes, (void)root;
#endif
	return 0;
}

int thaw_dist_allgather(void *buf, const size_t *bytes)
{
#ifdef THAW_MPI
	/* one MPI_Allgatherv when the offsets fit an int (batch norm
	 * statistics, replica hashes); a broadcast per rank beyond that */
	size_t total = 0;
	for (int r = 0; r < size_; r++)
		total += bytes[r];
	if (size_ > 1 && size_ <= 4096 && total < (size_t)1 << 30) {
		int counts[4096], displs[4096], at = 0;
		for (int r = 0; r < size_; r++)
			counts[r] = (int)bytes[r], displs[r] = at, at += (int)bytes[r];
		double t0 = thaw_now();
		int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, MPI_BYTE,
					MPI_COMM_WORLD);
		comm_s += thaw_now() - t0;
		if (rc != MPI_SUCCESS)
			return thaw_error(THAW_EIO, "MPI_Allgatherv of %zu bytes failed (error %d)", total, rc);
		return 0;
	}
#endif
	size_t off = 0;
	for (int r = 0; r < size_; r++) {
		int rc = thaw_dist_bcast((char *)buf + off, bytes[r], r);
		if (rc < 0)
			return rc;
		off += bytes[r];
	}
	return 0;
}

int thaw_dist_finish(int code)
{
#ifdef THAW_MPI
	if (!joined)
		return code;
	if (code != 0 && code != 2 && size_ > 1) {
		fflush(stdout);
		fprintf(stderr, "thaw: rank %d of %d %s (exit %d): ending every rank of the MPI job\n", rank_, size_,
			code == 130 ? "interrupted" : "failed", code);
		fflush(stderr);
		MPI_Abort(MPI_COMM_WORLD, code);
	}
	MPI_Finalize();
	joined = 0;
#endif
	return code;
}
