/* The batch loader: deterministic seeded order, every image once per
 * epoch, epoch ends, normalisation, augmentation that only shifts and
 * mirrors, and the loader's speed (printed as loader_img_s, not asserted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "thaw/data.h"

/* n images of 1x4x4; image i carries i in pixel 0 and i>>8 in pixel 1. */
static thaw_dataset *indexed(int n, int k)
{
	thaw_dataset *d = thaw_dataset_new(n, 1, 4, 4, k);
	for (int i = 0; i < n; i++) {
		d->x[i * 16] = (uint8_t)(i & 255);
		d->x[i * 16 + 1] = (uint8_t)(i >> 8);
		d->y[i] = i % k;
	}
	return d;
}

static int id_of(const float *x) { return (int)(x[0] * 255 + 0.5f) | (int)(x[1] * 255 + 0.5f) << 8; }

static void test_every_image_once_and_epoch_ends(void)
{
	thaw_dataset *d = indexed(10, 3);
	thaw_loader_opts o = thaw_loader_opts_default();
	o.batch = 4, o.seed = 3;
	thaw_loader *l = thaw_loader_new(d, &o);
	CHECK(l && thaw_loader_batches(l) == 3);
	thaw_batch b;
	int first_order[10], k = 0;
	for (int epoch = 0; epoch < 3; epoch++) {
		int seen[10] = {0}, sizes[4] = {0}, nb = 0, rc, labels_ok = 1;
		while ((rc = thaw_loader_next(l, &b)) == 1) {
			if (nb < 4)
				sizes[nb] = b.B;
			CHECK(b.epoch == epoch && b.index == nb);
			nb++;
			for (int i = 0; i < b.B; i++) {
				int id = id_of(b.x + i * 16);
				if (id >= 0 && id < 10)
					seen[id]++;
				labels_ok &= b.y[i] == id % 3;
				if (epoch == 0)
					first_order[k++] = id;
			}
		}
		CHECK(rc == 0 && nb == 3 && sizes[0] == 4 && sizes[1] == 4 && sizes[2] == 2);
		CHECK(labels_ok);
		int once = 1;
		for (int i = 0; i < 10; i++)
			once &= seen[i] == 1;
		CHECKF(once, "epoch %d", epoch);
	}
	int sorted = 1;
	for (int i = 0; i < 10; i++)
		sorted &= first_order[i] == i;
	CHECK(!sorted); /* shuffled */
	thaw_loader_free(l);

	o.drop_last = 1;
	l = thaw_loader_new(d, &o);
	int nb = 0, rc;
	while ((rc = thaw_loader_next(l, &b)) == 1) {
		CHECK(b.B == 4);
		nb++;
	}
	CHECK(rc == 0 && nb == 2);
	thaw_loader_free(l);

	o.shuffle = 0, o.drop_last = 0;
	l = thaw_loader_new(d, &o);
	int inorder = 1;
	for (int j = 0; j < 3; j++) {
		CHECK(thaw_loader_next(l, &b) == 1);
		for (int i = 0; i < b.B; i++)
			inorder &= id_of(b.x + i * 16) == j * 4 + i;
	}
	CHECK(inorder);
	thaw_loader_free(l); /* mid-epoch: the worker must stop cleanly */

	o.batch = 11, o.drop_last = 1;
	CHECK(!thaw_loader_new(d, &o) && strstr(thaw_errmsg(), "10 images give no batch of 11"));
	o.batch = 0;
	CHECK(!thaw_loader_new(d, &o) && strstr(thaw_errmsg(), "batch size 0"));
	thaw_loader_free(NULL);
	thaw_dataset_free(d);
}

/* Runs `epochs` epochs and returns a hash of every batch (x bits and y). */
static uint64_t run_hash(const thaw_dataset *d, const thaw_loader_opts *o, int epochs, uint64_t *per_epoch)
{
	thaw_loader *l = thaw_loader_new(d, o);
	uint64_t h = 1469598103934665603ull;
	thaw_batch b;
	for (int e = 0; e < epochs; e++) {
		uint64_t he = 1469598103934665603ull;
		while (thaw_loader_next(l, &b) == 1) {
			const unsigned char *p = (const unsigned char *)b.x;
			size_t n = (size_t)b.B * d->c * d->h * d->w * sizeof(float);
			for (size_t i = 0; i < n; i++)
				he = (he ^ p[i]) * 1099511628211ull;
			for (int i = 0; i < b.B; i++)
				he = (he ^ (uint64_t)b.y[i]) * 1099511628211ull;
		}
		per_epoch[e] = he;
		h = (h ^ he) * 1099511628211ull;
	}
	thaw_loader_free(l);
	return h;
}

static void test_determinism(void)
{
	thaw_synth_opts so = thaw_synth_opts_default();
	so.n = 500;
	thaw_dataset *d = thaw_synth(&so);
	thaw_loader_opts o = thaw_loader_opts_default();
	o.batch = 32, o.seed = 77, o.shift = 3, o.flip = 1, o.mean[0] = 0.3f, o.std[0] = 0.4f;
	uint64_t e1[3], e2[3], e3[3];
	uint64_t h1 = run_hash(d, &o, 3, e1), h2 = run_hash(d, &o, 3, e2);
	CHECK(h1 == h2 && e1[0] == e2[0] && e1[2] == e2[2]);
	CHECK(e1[0] != e1[1] && e1[1] != e1[2]); /* epochs differ */
	o.seed = 78;
	run_hash(d, &o, 1, e3);
	CHECK(e3[0] != e1[0]);
	thaw_dataset_free(d);
}

static void test_normalise(void)
{
	thaw_dataset *d = thaw_dataset_new(1, 2, 1, 2, 1);
	uint8_t v[4] = {0, 255, 51, 102};
	memcpy(d->x, v, 4);
	thaw_loader_opts o = thaw_loader_opts_default();
	o.mean[0] = 0.5f, o.std[0] = 0.25f, o.mean[1] = 0.2f, o.std[1] = 0.0f; /* 0: means 1 */
	float x[4];
	int32_t y;
	int idx = 0;
	thaw_batch_fill(x, &y, d, &idx, 1, &o, 0);
	CHECK_NEAR(x[0], -2.0, 1e-5);
	CHECK_NEAR(x[1], 2.0, 1e-5);
	CHECK_NEAR(x[2], 0.0, 1e-5);
	CHECK_NEAR(x[3], 0.2, 1e-5);
	thaw_dataset_free(d);
}

/* Is out (H,W) the source shifted by some |dy|,|dx| <= s (zero padding),
 * possibly mirrored? Records which transform matched. */
static int matches_some_shift(const float *out, const uint8_t *src, int H, int W, int s, int *flipped,
			      int *moved)
{
	for (int f = 0; f <= 1; f++)
		for (int dy = -s; dy <= s; dy++)
			for (int dx = -s; dx <= s; dx++) {
				int ok = 1;
				for (int y = 0; ok && y < H; y++)
					for (int x = 0; ok && x < W; x++) {
						int sy = y - dy, m = x - dx, v = 0;
						if (sy >= 0 && sy < H && m >= 0 && m < W)
							v = src[sy * W + (f ? W - 1 - m : m)];
						ok = out[y * W + x] == (float)v / 255.0f;
					}
				if (ok) {
					*flipped = f;
					*moved = dy || dx;
					return 1;
				}
			}
	return 0;
}

static void test_augmentation(void)
{
	thaw_synth_opts so = thaw_synth_opts_default();
	so.n = 64, so.h = 12, so.w = 10, so.noise = 0.3f;
	thaw_dataset *d = thaw_synth(&so);
	thaw_loader_opts o = thaw_loader_opts_default();
	o.shift = 2, o.flip = 1;
	int idx[64];
	for (int i = 0; i < 64; i++)
		idx[i] = 63 - i;
	float *x = malloc(sizeof(float) * 64 * 120), *x2 = malloc(sizeof(float) * 64 * 120);
	int32_t y[64];
	thaw_batch_fill(x, y, d, idx, 64, &o, 12345);
	int all = 1, nflip = 0, nmoved = 0;
	for (int i = 0; i < 64; i++) {
		int f = 0, m = 0;
		all &= matches_some_shift(x + i * 120, thaw_dataset_image(d, idx[i]), 12, 10, 2, &f, &m);
		nflip += f, nmoved += m;
		all &= y[i] == d->y[idx[i]];
	}
	CHECK(all);
	CHECKF(nflip > 10 && nflip < 54 && nmoved > 40, "flipped %d, moved %d of 64", nflip, nmoved);
	thaw_batch_fill(x2, y, d, idx, 64, &o, 12345);
	CHECK(!memcmp(x, x2, sizeof(float) * 64 * 120));
	thaw_batch_fill(x2, y, d, idx, 64, &o, 0); /* seed 0: no augmentation */
	int plain = 1;
	for (int i = 0; i < 64 * 120; i++)
		plain &= x2[i] == (float)thaw_dataset_image(d, idx[i / 120])[i % 120] / 255.0f;
	CHECK(plain);
	free(x);
	free(x2);
	thaw_dataset_free(d);
}

static void test_speed(void)
{
	thaw_synth_opts so = thaw_synth_opts_default();
	so.n = 20000;
	thaw_dataset *d = thaw_synth(&so);
	thaw_loader_opts o = thaw_loader_opts_default();
	o.batch = 64, o.shift = 2, o.flip = 1, o.mean[0] = 0.286f, o.std[0] = 0.353f;
	thaw_loader *l = thaw_loader_new(d, &o);
	thaw_batch b;
	long imgs = 0;
	float sink = 0;
	double t0 = thaw_now();
	for (int e = 0; e < 3; e++)
		while (thaw_loader_next(l, &b) == 1) {
			imgs += b.B;
			sink += b.x[b.B * 784 - 1];
		}
	double dt = thaw_now() - t0;
	thaw_loader_free(l);
	CHECK(imgs == 60000);
	printf("loader_img_s %.0f (28x28, batch 64, shift 2 + flip, consumer idle; %.3f s for %ld)%s\n",
	       (double)imgs / dt, dt, imgs, sink == 12345.f ? " " : "");
	thaw_dataset_free(d);
}

int main(void)
{
	RUN(test_every_image_once_and_epoch_ends);
	RUN(test_determinism);
	RUN(test_normalise);
	RUN(test_augmentation);
	RUN(test_speed);
	return check_done();
}
