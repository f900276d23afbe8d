/* Data-parallel pieces that run in one process: the loader's shards are
 * exactly the slices of the whole batch (images, labels, indices and the
 * augmentation), a batch of one image per rank still splits, and the dist
 * API without a launcher is rank 0 of 1 whose collectives leave buffers
 * as they are. tests/mpi runs the real thing under mpirun. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "thaw/data.h"
#include "thaw/dist.h"

static thaw_dataset *ramp(int n)
{
	thaw_dataset *d = thaw_dataset_new(n, 1, 6, 6, 3);
	for (int i = 0; i < n; i++) {
		for (int p = 0; p < 36; p++)
			d->x[i * 36 + p] = (uint8_t)(i * 7 + p * 5);
		d->y[i] = i % 3;
	}
	return d;
}

/* Every shard of every batch of two epochs equals the slice of the whole
 * batch a single loader gives, augmentation included. */
static void check_shards(int n, int batch, int shards)
{
	thaw_dataset *d = ramp(n);
	thaw_loader_opts o = thaw_loader_opts_default();
	o.batch = batch, o.seed = 11, o.shift = 2, o.flip = 1;
	thaw_loader *whole = thaw_loader_new(d, &o);
	thaw_loader *part[4] = {0};
	for (int s = 0; s < shards; s++) {
		thaw_loader_opts so = o;
		so.shard = s, so.shards = shards;
		part[s] = thaw_loader_new(d, &so);
		CHECK(part[s] != NULL);
	}
	int same = 1, batches = 0;
	for (int step = 0; step < 2 * (thaw_loader_batches(whole) + 1); step++) {
		thaw_batch w, p;
		int rc = thaw_loader_next(whole, &w);
		int at = 0;
		for (int s = 0; s < shards; s++) {
			int prc = thaw_loader_next(part[s], &p);
			same &= prc == rc;
			if (rc != 1 || prc != 1)
				continue;
			int lo = (int)((long)w.B * s / shards), hi = (int)((long)w.B * (s + 1) / shards);
			same &= p.B == hi - lo && p.total == w.B && p.epoch == w.epoch && p.index == w.index;
			same &= lo == at;
			same &= !memcmp(p.x, w.x + (size_t)lo * 36, (size_t)(hi - lo) * 36 * sizeof(float));
			same &= !memcmp(p.y, w.y + lo, (size_t)(hi - lo) * sizeof *p.y);
			same &= !memcmp(p.idx, w.idx + lo, (size_t)(hi - lo) * sizeof *p.idx);
			at = hi;
		}
		if (rc == 1)
			same &= at == w.B, batches++;
	}
	CHECKF(same && batches > 0, "n %d batch %d shards %d: a shard is not its slice of the batch", n, batch, shards);
	for (int s = 0; s < shards; s++)
		thaw_loader_free(part[s]);
	thaw_loader_free(whole);
	thaw_dataset_free(d);
}

static void test_shards_are_slices(void)
{
	check_shards(50, 8, 2);
	check_shards(50, 7, 3); /* uneven slices, a last batch of 1 */
	check_shards(9, 3, 3);  /* one image per shard */
}

static void test_bad_shard(void)
{
	thaw_dataset *d = ramp(10);
	thaw_loader_opts o = thaw_loader_opts_default();
	o.shard = 2, o.shards = 2;
	CHECK(thaw_loader_new(d, &o) == NULL && strstr(thaw_errmsg(), "shard 2 outside 0..1"));
	thaw_dataset_free(d);
}

static void test_one_process(void)
{
	CHECK_OK(thaw_dist_init()); /* no launcher in the environment: nothing joins */
	CHECK(thaw_dist_rank() == 0 && thaw_dist_size() == 1 && thaw_dist_writer());
	CHECK(thaw_dist_threads() == 0);
	float f[3] = {1, 2, 3};
	double g[2] = {4, 5};
	long h[2] = {6, 7};
	CHECK_OK(thaw_dist_sum_float(f, 3));
	CHECK_OK(thaw_dist_sum_double(g, 2));
	CHECK_OK(thaw_dist_sum_long(h, 2));
	CHECK(f[0] == 1 && f[2] == 3 && g[1] == 5 && h[0] == 6);
	CHECK(thaw_dist_max_int(4) == 4);
	char buf[4] = "abc";
	size_t bytes[1] = {4};
	CHECK_OK(thaw_dist_bcast(buf, 4, 0));
	CHECK_OK(thaw_dist_allgather(buf, bytes));
	CHECK(!strcmp(buf, "abc"));
	thaw_dist_set_sync_bn(1); /* one rank: nothing to synchronise */
	CHECK(thaw_dist_sync_bn() == 0);
	CHECK(thaw_dist_finish(3) == 3);
}

int main(void)
{
	RUN(test_shards_are_slices);
	RUN(test_bad_shard);
	RUN(test_one_process);
	return check_done();
}
