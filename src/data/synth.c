/* A seeded synthetic data set for tests and demos that need no files.
 * Class k draws a single bar (k even) or a pair of parallel bars (k odd)
 * at angle pi * (k/2) / ceil(classes/2), jittered, at a random position,
 * length, width and brightness over Gaussian noise. Position and
 * brightness vary, so a classifier must find oriented strokes anywhere:
 * easy for a small CNN, not for a template match on raw pixels. */
#include "thaw/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

thaw_synth_opts thaw_synth_opts_default(void)
{
	return (thaw_synth_opts){.n = 1000, .c = 1, .h = 28, .w = 28, .classes = 10, .seed = 1, .noise = 0.1f};
}

static float uni(thaw_rng *r, float lo, float hi) { return lo + (hi - lo) * thaw_rng_uniform(r); }

thaw_dataset *thaw_synth(const thaw_synth_opts *o)
{
	if (o->classes < 1 || o->classes > 64 || o->n <= 0 || o->h < 8 || o->w < 8) {
		thaw_error(THAW_EINVAL,
			   "synth: need n > 0, 1..64 classes and images of at least 8x8 (got n %d, %d "
			   "classes, %dx%d)",
			   o->n, o->classes, o->h, o->w);
		return NULL;
	}
	if (!(o->noise >= 0 && o->noise <= 10)) { /* NaN too */
		thaw_error(THAW_EINVAL, "synth: noise %g is outside 0..10", (double)o->noise);
		return NULL;
	}
	thaw_dataset *d = thaw_dataset_new(o->n, o->c, o->h, o->w, o->classes);
	if (!d)
		return NULL;
	int n_angles = (o->classes + 1) / 2;
	for (int k = 0; k < o->classes; k++) {
		char name[32];
		snprintf(name, sizeof name, "%s-%ddeg", k % 2 ? "pair" : "bar", 180 * (k / 2) / n_angles);
		free(d->class_names[k]);
		d->class_names[k] = strdup(name);
		if (!d->class_names[k]) {
			thaw_dataset_free(d);
			thaw_error(THAW_ENOMEM, "out of memory");
			return NULL;
		}
	}
	thaw_rng r;
	thaw_rng_seed(&r, o->seed);
	const float pi = 3.14159265358979f;
	float side = (float)(o->h < o->w ? o->h : o->w);
	size_t plane = (size_t)o->h * o->w;
	for (int i = 0; i < o->n; i++) {
		int k = i % o->classes;
		d->y[i] = k;
		float th = pi * (float)(k / 2) / (float)n_angles + uni(&r, -0.12f, 0.12f) * pi / (float)n_angles;
		float cs = cosf(th), sn = sinf(th);
		float len = uni(&r, 0.45f, 0.7f) * side;
		float hw = uni(&r, 0.7f, 1.3f) * (side / 20 > 1 ? side / 20 : 1);
		float off = k % 2 ? hw + 0.9f + uni(&r, 0.3f, 0.8f) * side / 14 : 0;
		float cx = uni(&r, 0.3f, 0.7f) * (float)o->w, cy = uni(&r, 0.3f, 0.7f) * (float)o->h;
		float bright = uni(&r, 0.6f, 1.0f);
		float tint[THAW_MAX_CHANNELS];
		for (int c = 0; c < o->c; c++)
			tint[c] = o->c > 1 ? uni(&r, 0.7f, 1.0f) : 1.0f;
		uint8_t *img = d->x + (size_t)i * o->c * plane;
		for (int y = 0; y < o->h; y++)
			for (int x = 0; x < o->w; x++) {
				float dx = (float)x + 0.5f - cx, dy = (float)y + 0.5f - cy;
				float u = dx * cs + dy * sn, v = -dx * sn + dy * cs;
				float along = fabsf(u) - len / 2;
				along = along > 0 ? along : 0;
				float cov = 0;
				for (int s = (k % 2 ? -1 : 0); s <= (k % 2 ? 1 : 0); s += 2) {
					float vv = v - (float)s * off;
					float dist = sqrtf(along * along + vv * vv);
					float cv = hw + 0.5f - dist;
					cv = cv < 0 ? 0 : cv > 1 ? 1 : cv;
					cov = cv > cov ? cv : cov;
					if (!(k % 2))
						break;
				}
				for (int c = 0; c < o->c; c++) {
					float p = bright * tint[c] * cov + o->noise * thaw_rng_normal(&r);
					p = p < 0 ? 0 : p > 1 ? 1 : p;
					img[c * plane + (size_t)y * o->w + x] = (uint8_t)(p * 255.0f + 0.5f);
				}
			}
	}
	snprintf(d->source, sizeof d->source, "synth:%d (seed %llu)", o->n, (unsigned long long)o->seed);
	return d;
}
