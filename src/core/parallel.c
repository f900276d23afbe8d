/* The thread pool behind thaw_parallel_for.
 *
 * One job at a time. The caller publishes it in a 64-bit ticket (job
 * generation, part count, next unclaimed part) and claims parts itself;
 * workers claim the rest with a CAS on the same ticket, so a worker that
 * wakes late, or not at all on a loaded machine, leaves its part to whoever
 * is free, and a stale worker can never claim a part of a finished job.
 * Several parts per thread: on a shared machine a worker is often
 * preempted in the middle of its part, and the others then wait for one
 * small part instead of half the job (at load 6 on 2 cores one part per
 * thread was often slower than the serial code; four per thread was not).
 * Idle workers spin for ~100 us (consecutive layers follow each other
 * within microseconds) and then sleep on a condition variable: an idle
 * workbench costs no CPU. */
#include "thaw/parallel.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "thaw/blas.h"
#include "thaw/core.h"

enum { SPIN_NS = 100000, WAIT_SPIN_NS = 50000 };

typedef struct job {
	thaw_parallel_fn fn;
	void *user;
	int n;
} job;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t wake, done;
	int started;                 /* workers created (under mu) */
	atomic_uint_fast64_t ticket; /* gen << 32 | parts << 16 | next */
	atomic_int left;             /* parts of the current job not yet finished */
	atomic_int sleeping;         /* workers waiting on `wake` */
	atomic_int caller_sleeping;  /* the caller waits on `done` */
	atomic_flag busy;            /* a caller holds the pool */
	atomic_uint_fast64_t flops;  /* counted by workers for the current job */
	job j;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0,
	  0, ATOMIC_FLAG_INIT, 0, {0}};

static atomic_int nthreads; /* 0: default */
static _Thread_local int inside;

static int default_threads(void)
{
	const char *e = getenv("OPENBLAS_NUM_THREADS");
	if (!e || !*e)
		e = getenv("OMP_NUM_THREADS");
	int n = e && *e ? atoi(e) : 0;
	if (n <= 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n = c > 0 ? (int)c : 1;
	}
	return n < THAW_PARALLEL_MAX ? n : THAW_PARALLEL_MAX;
}

void thaw_parallel_set_threads(int n)
{
	atomic_store(&nthreads, n <= 0 ? 0 : n < THAW_PARALLEL_MAX ? n : THAW_PARALLEL_MAX);
}

int thaw_parallel_threads(void)
{
	int n = atomic_load(&nthreads);
	if (n > 0)
		return n;
	n = default_threads();
	int zero = 0;
	atomic_compare_exchange_strong(&nthreads, &zero, n);
	return atomic_load(&nthreads);
}

int thaw_parallel_parts(int n)
{
	int t = thaw_parallel_threads();
	t = t > 1 ? t * THAW_PARALLEL_SPLIT : 1;
	if (t > THAW_PARALLEL_MAX)
		t = THAW_PARALLEL_MAX;
	return n <= 0 ? 0 : n < t ? n : t;
}

int thaw_parallel_inside(void) { return inside; }

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void run_part(const job *j, int p, int parts)
{
	int lo = (int)((int64_t)j->n * p / parts), hi = (int)((int64_t)j->n * (p + 1) / parts);
	if (hi > lo)
		j->fn(lo, hi, j->user);
}

/* Claims and runs parts of job `gen` until none is left; returns how many
 * this thread finished. `counted`: the thread's FLOPs go to the job. */
static void claim_parts(uint32_t gen, int counted)
{
	uint64_t v = atomic_load(&pool.ticket);
	for (;;) {
		int parts = (int)(v >> 16 & 0xffff), next = (int)(v & 0xffff);
		if ((uint32_t)(v >> 32) != gen || next >= parts)
			return;
		if (!atomic_compare_exchange_weak(&pool.ticket, &v, v + 1))
			continue;
		/* part `next` of job gen is ours: the job cannot finish, and so its
		 * fields cannot change, before we do */
		double f0 = counted ? thaw_blas_flops() : 0;
		run_part(&pool.j, next, parts);
		if (counted)
			atomic_fetch_add(&pool.flops, (uint64_t)(thaw_blas_flops() - f0));
		if (atomic_fetch_sub(&pool.left, 1) == 1 && atomic_load(&pool.caller_sleeping)) {
			pthread_mutex_lock(&pool.mu);
			pthread_cond_signal(&pool.done);
			pthread_mutex_unlock(&pool.mu);
		}
		v = atomic_load(&pool.ticket);
	}
}

static void *worker(void *arg)
{
	(void)arg;
	inside = 1;
	uint32_t seen = (uint32_t)(atomic_load(&pool.ticket) >> 32);
	for (;;) {
		uint32_t gen = (uint32_t)(atomic_load(&pool.ticket) >> 32);
		if (gen == seen) {
			double t0 = thaw_now();
			for (int i = 0; gen == seen; i++) {
				cpu_relax();
				if ((i & 63) == 63 && (thaw_now() - t0) * 1e9 > SPIN_NS)
					break;
				gen = (uint32_t)(atomic_load(&pool.ticket) >> 32);
			}
		}
		if (gen == seen) {
			pthread_mutex_lock(&pool.mu);
			atomic_fetch_add(&pool.sleeping, 1);
			while ((gen = (uint32_t)(atomic_load(&pool.ticket) >> 32)) == seen)
				pthread_cond_wait(&pool.wake, &pool.mu);
			atomic_fetch_sub(&pool.sleeping, 1);
			pthread_mutex_unlock(&pool.mu);
		}
		seen = gen;
		claim_parts(gen, 1);
	}
	return NULL;
}

/* Starts workers up to want - 1; returns how many run. */
static int ensure_workers(int want)
{
	if (pool.started >= want - 1)
		return pool.started;
	pthread_mutex_lock(&pool.mu);
	while (pool.started < want - 1) {
		pthread_t th;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		int rc = pthread_create(&th, &at, worker, NULL);
		pthread_attr_destroy(&at);
		if (rc != 0)
			break; /* fewer threads: the caller runs the parts left over */
		pool.started++;
	}
	pthread_mutex_unlock(&pool.mu);
	return pool.started;
}

static void run_inline(int n, int parts, thaw_parallel_fn fn, void *user)
{
	job j = {fn, user, n};
	int was = inside;
	inside = 1;
	for (int p = 0; p < parts; p++)
		run_part(&j, p, parts);
	inside = was;
}

void thaw_parallel_for(int n, thaw_parallel_fn fn, void *user)
{
	if (n <= 0)
		return;
	int parts = thaw_parallel_parts(n);
	if (parts == 1 || inside || atomic_flag_test_and_set(&pool.busy)) {
		run_inline(n, parts, fn, user);
		return;
	}
	if (ensure_workers(thaw_parallel_threads()) == 0) {
		atomic_flag_clear(&pool.busy);
		run_inline(n, parts, fn, user);
		return;
	}
	pool.j = (job){fn, user, n};
	atomic_store(&pool.flops, 0);
	atomic_store(&pool.left, parts);
	uint32_t gen = (uint32_t)(atomic_load(&pool.ticket) >> 32) + 1;
	atomic_store(&pool.ticket, (uint64_t)gen << 32 | (uint64_t)parts << 16);
	if (atomic_load(&pool.sleeping)) {
		pthread_mutex_lock(&pool.mu);
		pthread_cond_broadcast(&pool.wake);
		pthread_mutex_unlock(&pool.mu);
	}
	inside = 1;
	claim_parts(gen, 0);
	inside = 0;
	if (atomic_load(&pool.left) > 0) {
		double t0 = thaw_now();
		for (int i = 0; atomic_load(&pool.left) > 0; i++) {
			cpu_relax();
			if ((i & 63) == 63 && (thaw_now() - t0) * 1e9 > WAIT_SPIN_NS)
				break;
		}
		if (atomic_load(&pool.left) > 0) {
			pthread_mutex_lock(&pool.mu);
			atomic_store(&pool.caller_sleeping, 1);
			while (atomic_load(&pool.left) > 0)
				pthread_cond_wait(&pool.done, &pool.mu);
			atomic_store(&pool.caller_sleeping, 0);
			pthread_mutex_unlock(&pool.mu);
		}
	}
	thaw_blas_add_flops((double)atomic_load(&pool.flops));
	atomic_flag_clear(&pool.busy);
}

typedef struct range_job {
	size_t n;
	thaw_range_fn fn;
	void *user;
} range_job;

static void range_blocks(int lo, int hi, void *user)
{
	const range_job *j = user;
	size_t a = (size_t)lo * THAW_PARALLEL_BLOCK, b = (size_t)hi * THAW_PARALLEL_BLOCK;
	j->fn(a, b < j->n ? b : j->n, j->user);
}

void thaw_parallel_range(size_t n, thaw_range_fn fn, void *user)
{
	if (n < THAW_PARALLEL_MIN) {
		if (n)
			fn(0, n, user);
		return;
	}
	range_job j = {n, fn, user};
	thaw_parallel_for((int)((n + THAW_PARALLEL_BLOCK - 1) / THAW_PARALLEL_BLOCK), range_blocks, &j);
}
