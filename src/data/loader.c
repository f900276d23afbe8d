/* The batch loader. One worker thread walks the endless sequence of
 * batches (epoch 0 batch 0, 1, ..., epoch 1 batch 0, ...) and fills two
 * slots allocated up front; the caller holds one slot while the worker
 * fills the other. The order of epoch e comes from a generator seeded
 * with (seed, e) and the augmentation of batch b from (seed, e, b), so
 * the batches never depend on which thread ran when. */
#include "thaw/data.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

thaw_loader_opts thaw_loader_opts_default(void)
{
	thaw_loader_opts o;
	memset(&o, 0, sizeof o);
	o.batch = 64;
	o.shuffle = 1;
	for (int c = 0; c < THAW_MAX_CHANNELS; c++)
		o.std[c] = 1.0f;
	return o;
}

void thaw_loader_opts_from_spec(thaw_loader_opts *o, const thaw_input_spec *spec)
{
	for (int c = 0; c < THAW_MAX_CHANNELS; c++) {
		o->mean[c] = spec->mean[c];
		o->std[c] = spec->std[c];
	}
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t z = a ^ (b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2));
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* One image through the lookup table, shifted by (dy, dx) with the zero
 * pixel's value as padding, mirrored when flip. */
static void fill_image(float *out, const uint8_t *img, int C, int H, int W, const float (*lut)[256],
		       int dy, int dx, int flip)
{
	size_t plane = (size_t)H * W;
	for (int c = 0; c < C; c++) {
		const float *t = lut[c];
		const uint8_t *src = img + c * plane;
		float *dst = out + c * plane;
		if (!dy && !dx && !flip) {
			for (size_t k = 0; k < plane; k++)
				dst[k] = t[src[k]];
			continue;
		}
		float pad = t[0];
		/* output x reads mirrored column m = x - dx, then source column
		 * flip ? W-1-m : m; valid while 0 <= m < W */
		int x0 = dx > 0 ? dx : 0, x1 = dx < 0 ? W + dx : W;
		for (int y = 0; y < H; y++) {
			float *o = dst + (size_t)y * W;
			int sy = y - dy;
			if (sy < 0 || sy >= H) {
				for (int x = 0; x < W; x++)
					o[x] = pad;
				continue;
			}
			const uint8_t *s = src + (size_t)sy * W;
			for (int x = 0; x < x0; x++)
				o[x] = pad;
			if (flip)
				for (int x = x0; x < x1; x++)
					o[x] = t[s[W - 1 - (x - dx)]];
			else
				for (int x = x0; x < x1; x++)
					o[x] = t[s[x - dx]];
			for (int x = x1 > x0 ? x1 : x0; x < W; x++)
				o[x] = pad;
		}
	}
}

/* Images lo..hi-1 of the batch idx[0..B-1] into x and y from their start:
 * the augmentation draws of the images before lo are made and dropped, so
 * a shard (MPI) sees what a single process sees for the same images. */
static void fill_range(float *x, int32_t *y, const thaw_dataset *d, const int *idx, int lo, int hi,
		       const thaw_loader_opts *o, uint64_t aug_seed)
{
	if (d->ids) { /* token ids as floats (exact below 2^24): no normalisation, no augmentation */
		for (int i = lo; i < hi; i++) {
			const int32_t *t = d->ids + (size_t)idx[i] * d->w;
			for (int k = 0; k < d->w; k++)
				x[(size_t)(i - lo) * d->w + k] = (float)t[k];
			y[i - lo] = d->y[idx[i]];
		}
		return;
	}
	float lut[THAW_MAX_CHANNELS][256];
	for (int c = 0; c < d->c; c++) {
		float sd = o->std[c] > 0 ? o->std[c] : 1.0f;
		for (int v = 0; v < 256; v++)
			lut[c][v] = ((float)v / 255.0f - o->mean[c]) / sd;
	}
	int aug = aug_seed && (o->shift > 0 || o->flip);
	thaw_rng r;
	thaw_rng_seed(&r, aug_seed);
	size_t is = (size_t)d->c * d->h * d->w;
	int s = o->shift;
	for (int i = 0; i < hi; i++) {
		int dy = 0, dx = 0, flip = 0;
		if (aug) {
			if (s > 0) {
				dy = (int)thaw_rng_below(&r, 2u * (uint32_t)s + 1) - s;
				dx = (int)thaw_rng_below(&r, 2u * (uint32_t)s + 1) - s;
				if (dy >= d->h || -dy >= d->h)
					dy = 0;
				if (dx >= d->w || -dx >= d->w)
					dx = 0;
			}
			if (o->flip)
				flip = (int)(thaw_rng_u32(&r) >> 31);
		}
		if (i < lo)
			continue;
		fill_image(x + (size_t)(i - lo) * is, d->x + (size_t)idx[i] * is, d->c, d->h, d->w,
			   (const float(*)[256])lut, dy, dx, flip);
		y[i - lo] = d->y[idx[i]];
	}
}

void thaw_batch_fill(float *x, int32_t *y, const thaw_dataset *d, const int *idx, int B,
		     const thaw_loader_opts *o, uint64_t aug_seed)
{
	fill_range(x, y, d, idx, 0, B, o, aug_seed);
}

typedef struct slot {
	float *x;   /* (batch, C, H, W) */
	int32_t *y; /* (batch) */
	int *idx;   /* (batch) which images */
	int B, total, epoch, index;
	int ready; /* filled and not yet given back by the caller */
} slot;

struct thaw_loader {
	const thaw_dataset *d; /* borrowed */
	thaw_loader_opts o;
	int nb;    /* batches per epoch */
	int *perm; /* (n) the worker's order for its current epoch */
	slot s[2];
	pthread_t th;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	/* the caller's side */
	int held;      /* slot the caller holds, or -1 */
	int want;      /* slot the next batch arrives in */
	int cur_epoch; /* epoch the caller is in */
};

static void make_perm(thaw_loader *l, int epoch)
{
	int n = l->d->n;
	for (int i = 0; i < n; i++)
		l->perm[i] = i;
	if (!l->o.shuffle)
		return;
	thaw_rng r;
	thaw_rng_seed(&r, mix(l->o.seed, (uint64_t)epoch));
	for (int i = n - 1; i > 0; i--) {
		int j = (int)thaw_rng_below(&r, (uint32_t)i + 1);
		int t = l->perm[i];
		l->perm[i] = l->perm[j];
		l->perm[j] = t;
	}
}

static void *worker(void *arg)
{
	thaw_loader *l = arg;
	int k = 0; /* slot to fill next */
	for (int epoch = 0;; epoch++) {
		make_perm(l, epoch);
		for (int b = 0; b < l->nb; b++) {
			slot *s = &l->s[k];
			pthread_mutex_lock(&l->mu);
			while (!l->stop && s->ready)
				pthread_cond_wait(&l->cv, &l->mu);
			int stop = l->stop;
			pthread_mutex_unlock(&l->mu);
			if (stop)
				return NULL;
			int start = b * l->o.batch;
			int B = l->d->n - start < l->o.batch ? l->d->n - start : l->o.batch;
			uint64_t aug = mix(mix(l->o.seed ^ 0x5eedull, (uint64_t)epoch), (uint64_t)b) | 1;
			int lo = 0, hi = B; /* this shard's slice of the batch */
			if (l->o.shards > 1) {
				lo = (int)((long)B * l->o.shard / l->o.shards);
				hi = (int)((long)B * (l->o.shard + 1) / l->o.shards);
			}
			fill_range(s->x, s->y, l->d, l->perm + start, lo, hi, &l->o, aug);
			memcpy(s->idx, l->perm + start + lo, sizeof(int) * (size_t)(hi - lo));
			pthread_mutex_lock(&l->mu);
			s->B = hi - lo, s->total = B, s->epoch = epoch, s->index = b, s->ready = 1;
			pthread_cond_broadcast(&l->cv);
			pthread_mutex_unlock(&l->mu);
			k ^= 1;
		}
	}
}

thaw_loader *thaw_loader_new(const thaw_dataset *d, const thaw_loader_opts *o)
{
	if (o->batch <= 0 || o->shift < 0) {
		thaw_error(THAW_EINVAL, "loader: batch size %d and shift %d must be positive", o->batch,
			   o->shift);
		return NULL;
	}
	if (o->shards > 1 && (o->shard < 0 || o->shard >= o->shards)) {
		thaw_error(THAW_EINVAL, "loader: shard %d outside 0..%d", o->shard, o->shards - 1);
		return NULL;
	}
	if (d->n <= 0 || (o->drop_last && d->n < o->batch)) {
		thaw_error(THAW_EINVAL, "loader: %d images give no batch of %d%s", d->n, o->batch,
			   o->drop_last ? " with drop_last" : "");
		return NULL;
	}
	for (int c = 0; c < d->c; c++)
		if (!(o->std[c] == o->std[c]) || !(o->mean[c] == o->mean[c])) {
			thaw_error(THAW_EINVAL, "loader: mean or std of channel %d is NaN", c);
			return NULL;
		}
	thaw_loader *l = thaw_calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->d = d;
	l->o = *o;
	l->nb = o->drop_last ? d->n / o->batch : (d->n + o->batch - 1) / o->batch;
	l->held = -1;
	size_t is = (size_t)d->c * d->h * d->w;
	l->perm = thaw_malloc(sizeof(int) * (size_t)d->n);
	for (int k = 0; k < 2; k++) {
		l->s[k].x = thaw_aligned(sizeof(float) * is * (size_t)o->batch);
		l->s[k].y = thaw_malloc(sizeof(int32_t) * (size_t)o->batch);
		l->s[k].idx = thaw_malloc(sizeof(int) * (size_t)o->batch);
	}
	if (!l->perm || !l->s[0].x || !l->s[1].x || !l->s[0].y || !l->s[1].y || !l->s[0].idx ||
	    !l->s[1].idx)
		goto fail;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (pthread_create(&l->th, NULL, worker, l)) {
		thaw_error(THAW_ENOMEM, "loader: cannot start the worker thread");
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
		goto fail;
	}
	l->started = 1;
	return l;
fail:
	free(l->perm);
	for (int k = 0; k < 2; k++) {
		free(l->s[k].x);
		free(l->s[k].y);
		free(l->s[k].idx);
	}
	free(l);
	return NULL;
}

int thaw_loader_next(thaw_loader *l, thaw_batch *b)
{
	pthread_mutex_lock(&l->mu);
	if (l->held >= 0) {
		l->s[l->held].ready = 0;
		l->held = -1;
		pthread_cond_broadcast(&l->cv);
	}
	slot *s = &l->s[l->want];
	while (!s->ready)
		pthread_cond_wait(&l->cv, &l->mu);
	if (s->epoch != l->cur_epoch) {
		/* the worker is ahead: report the end, hand this batch out next call */
		l->cur_epoch = s->epoch;
		pthread_mutex_unlock(&l->mu);
		return 0;
	}
	l->held = l->want;
	l->want ^= 1;
	b->x = s->x;
	b->y = s->y;
	b->idx = s->idx;
	b->B = s->B;
	b->total = s->total;
	b->epoch = s->epoch;
	b->index = s->index;
	pthread_mutex_unlock(&l->mu);
	return 1;
}

int thaw_loader_batches(const thaw_loader *l) { return l->nb; }

void thaw_loader_free(thaw_loader *l)
{
	if (!l)
		return;
	if (l->started) {
		pthread_mutex_lock(&l->mu);
		l->stop = 1;
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->th, NULL);
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
	}
	free(l->perm);
	for (int k = 0; k < 2; k++) {
		free(l->s[k].x);
		free(l->s[k].y);
		free(l->s[k].idx);
	}
	free(l);
}
