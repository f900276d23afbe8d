/* Shaping a data set to a model's input: resizing and channel conversion.
 * Resizing runs one axis at a time: area averaging when an axis shrinks
 * (every source pixel counts, so thin strokes survive), bilinear with
 * aligned pixel centres when it grows. */
#include "thaw/data.h"
#include "thaw/text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One output sample along an axis of src_n samples read with stride. */
static void resample_line(float *dst, int dst_n, int dst_stride, const float *src, int src_n,
			  int src_stride)
{
	if (dst_n == src_n) {
		for (int i = 0; i < dst_n; i++)
			dst[(size_t)i * dst_stride] = src[(size_t)i * src_stride];
	} else if (dst_n < src_n) {
		double scale = (double)src_n / dst_n;
		for (int i = 0; i < dst_n; i++) {
			double a = i * scale, b = (i + 1) * scale, s = 0;
			int j0 = (int)a, j1 = (int)b;
			if (j1 >= src_n)
				j1 = src_n - 1;
			for (int j = j0; j <= j1; j++) {
				double lo = j > a ? j : a, hi = j + 1 < b ? j + 1 : b;
				if (hi > lo)
					s += (hi - lo) * src[(size_t)j * src_stride];
			}
			dst[(size_t)i * dst_stride] = (float)(s / scale);
		}
	} else {
		double scale = (double)src_n / dst_n;
		for (int i = 0; i < dst_n; i++) {
			double x = (i + 0.5) * scale - 0.5;
			if (x < 0)
				x = 0;
			if (x > src_n - 1)
				x = src_n - 1;
			int j = (int)x;
			int j1 = j + 1 < src_n ? j + 1 : j;
			double f = x - j;
			dst[(size_t)i * dst_stride] =
				(float)((1 - f) * src[(size_t)j * src_stride] + f * src[(size_t)j1 * src_stride]);
		}
	}
}

/* src (sh, sw) read with row stride ss into dst (dh, dw) written with row
 * stride ds. */
static void resize_region(uint8_t *dst, int dh, int dw, size_t ds, const uint8_t *src, int sh, int sw,
			  size_t ss, float *tmp)
{
	if (dh == sh && dw == sw) {
		for (int y = 0; y < sh; y++)
			memcpy(dst + y * ds, src + y * ss, (size_t)sw);
		return;
	}
	/* tmp: (sh, dw) after the horizontal pass, then a column buffer of dh */
	float *row = tmp + (size_t)sh * dw;  /* (sw) */
	float *col = row + (sw > dh ? sw : dh); /* (dh) */
	for (int y = 0; y < sh; y++) {
		for (int x = 0; x < sw; x++)
			row[x] = src[(size_t)y * ss + x];
		resample_line(tmp + (size_t)y * dw, dw, 1, row, sw, 1);
	}
	for (int x = 0; x < dw; x++) {
		resample_line(col, dh, 1, tmp + x, sh, dw);
		for (int y = 0; y < dh; y++) {
			float v = col[y] + 0.5f;
			dst[(size_t)y * ds + x] = v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)v;
		}
	}
}

void thaw_resize_plane(uint8_t *dst, int dh, int dw, const uint8_t *src, int sh, int sw, float *tmp)
{
	resize_region(dst, dh, dw, (size_t)dw, src, sh, sw, (size_t)sw, tmp);
}

size_t thaw_resize_tmp(int dh, int dw, int sh, int sw)
{
	return (size_t)sh * dw + (size_t)(sw > dh ? sw : dh) + (size_t)dh;
}

static int clampi(long v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : (int)v; }

void thaw_resize_plane_mode(uint8_t *dst, int dh, int dw, const uint8_t *src, int sh, int sw,
			    thaw_resize_mode mode, float *tmp)
{
	if (mode == THAW_RESIZE_CROP) {
		/* the centred source window that, scaled by r, covers dh x dw */
		double r = fmax((double)dh / sh, (double)dw / sw);
		int ch = clampi(lround(dh / r), 1, sh), cw = clampi(lround(dw / r), 1, sw);
		const uint8_t *s = src + (size_t)((sh - ch) / 2) * sw + (sw - cw) / 2;
		resize_region(dst, dh, dw, (size_t)dw, s, ch, cw, (size_t)sw, tmp);
	} else if (mode == THAW_RESIZE_PAD) {
		double r = fmin((double)dh / sh, (double)dw / sw);
		int rh = clampi(lround(sh * r), 1, dh), rw = clampi(lround(sw * r), 1, dw);
		memset(dst, 0, (size_t)dh * dw);
		uint8_t *d = dst + (size_t)((dh - rh) / 2) * dw + (dw - rw) / 2;
		resize_region(d, rh, rw, (size_t)dw, src, sh, sw, (size_t)sw, tmp);
	} else {
		resize_region(dst, dh, dw, (size_t)dw, src, sh, sw, (size_t)sw, tmp);
	}
}

static const char *const mode_names[] = {"stretch", "crop", "pad"};

int thaw_resize_mode_parse(const char *s, thaw_resize_mode *out)
{
	for (int i = 0; i < 3; i++)
		if (s && !strcmp(s, mode_names[i])) {
			*out = (thaw_resize_mode)i;
			return 0;
		}
	return thaw_error(THAW_EINVAL, "resize mode '%s': expected stretch, crop or pad", s ? s : "");
}

const char *thaw_resize_mode_name(thaw_resize_mode m)
{
	return (unsigned)m < 3 ? mode_names[m] : mode_names[0];
}

static thaw_dataset *like(const thaw_dataset *d, int c, int h, int w)
{
	thaw_dataset *o = thaw_dataset_new(d->n, c, h, w, d->n_classes);
	if (!o)
		return NULL;
	if (thaw_dataset_set_class_names(o, (const char *const *)d->class_names, d->n_classes) < 0) {
		thaw_dataset_free(o);
		return NULL;
	}
	memcpy(o->y, d->y, sizeof *d->y * (size_t)d->n);
	snprintf(o->source, sizeof o->source, "%s", d->source);
	return o;
}

thaw_dataset *thaw_dataset_resize_mode(const thaw_dataset *d, int h, int w, thaw_resize_mode mode)
{
	if (d->ids) {
		thaw_error(THAW_EINVAL, "resize: %s holds text (thaw_text_relength changes its length)", d->source);
		return NULL;
	}
	if (h <= 0 || w <= 0 || h > 16384 || w > 16384) {
		thaw_error(THAW_EINVAL, "resize: bad target size %dx%d", h, w);
		return NULL;
	}
	thaw_dataset *o = like(d, d->c, h, w);
	if (!o)
		return NULL;
	float *tmp = thaw_malloc(sizeof(float) * thaw_resize_tmp(h, w, d->h, d->w));
	if (!tmp) {
		thaw_dataset_free(o);
		return NULL;
	}
	size_t sp = (size_t)d->h * d->w, dp = (size_t)h * w;
	for (size_t p = 0; p < (size_t)d->n * d->c; p++)
		thaw_resize_plane_mode(o->x + p * dp, h, w, d->x + p * sp, d->h, d->w, mode, tmp);
	free(tmp);
	return o;
}

thaw_dataset *thaw_dataset_resize(const thaw_dataset *d, int h, int w)
{
	return thaw_dataset_resize_mode(d, h, w, THAW_RESIZE_STRETCH);
}

thaw_dataset *thaw_dataset_channels(const thaw_dataset *d, int c)
{
	if (d->ids) {
		thaw_error(THAW_EINVAL, "channels: %s holds text, not images", d->source);
		return NULL;
	}
	if (c == d->c)
		return thaw_dataset_clone(d);
	if (!(d->c == 1 || (c == 1 && d->c >= 3) || (c == 3 && d->c == 4))) {
		thaw_error(THAW_EINVAL, "cannot convert %d channels to %d", d->c, c);
		return NULL;
	}
	thaw_dataset *o = like(d, c, d->h, d->w);
	if (!o)
		return NULL;
	size_t plane = (size_t)d->h * d->w;
	for (int i = 0; i < d->n; i++) {
		const uint8_t *s = d->x + (size_t)i * d->c * plane;
		uint8_t *t = o->x + (size_t)i * c * plane;
		if (d->c == 1) {
			for (int ch = 0; ch < c; ch++)
				memcpy(t + ch * plane, s, plane);
		} else if (c == 1) {
			for (size_t k = 0; k < plane; k++) {
				/* integer luma, weights sum to 1000 */
				unsigned v = 299u * s[k] + 587u * s[plane + k] + 114u * s[2 * plane + k];
				t[k] = (uint8_t)((v + 500) / 1000);
			}
		} else {
			memcpy(t, s, 3 * plane);
		}
	}
	return o;
}

static const char *chan_name(int c)
{
	return c == 1 ? "gray" : c == 3 ? "RGB" : c == 4 ? "RGBA" : "?";
}

thaw_dataset *thaw_dataset_to_spec(const thaw_dataset *d, const thaw_input_spec *spec, char *desc,
				   size_t desc_size)
{
	if (d->ids) { /* text: only its length can change (the vocabulary: thaw_dataset_for_model) */
		if (spec->c != 1 || spec->h != 1) {
			thaw_error(THAW_EINVAL, "%s holds text; it cannot become %dx%dx%d images", d->source, spec->c,
				   spec->h, spec->w);
			return NULL;
		}
		if (desc)
			snprintf(desc, desc_size, d->w == spec->w ? "unchanged (%d tokens)" : "length %d -> %d tokens",
				 d->w, spec->w);
		return d->w == spec->w ? thaw_dataset_clone(d) : thaw_text_relength(d, spec->w);
	}
	char buf[256] = "";
	size_t off = 0;
	thaw_dataset *cur = NULL;
	/* channels first when reducing (fewer planes to resize), last when adding */
	int chan_first = spec->c < d->c;
	if (chan_first) {
		cur = thaw_dataset_channels(d, spec->c);
		if (!cur)
			return NULL;
	}
	if (d->h != spec->h || d->w != spec->w) {
		thaw_resize_mode mode = (unsigned)spec->resize < 3 ? (thaw_resize_mode)spec->resize : 0;
		thaw_dataset *r = thaw_dataset_resize_mode(cur ? cur : d, spec->h, spec->w, mode);
		thaw_dataset_free(cur);
		if (!r)
			return NULL;
		cur = r;
		static const char *const verb[] = {"resized", "cropped", "padded"};
		off += (size_t)snprintf(buf + off, sizeof buf - off, "%s %dx%d -> %dx%d", verb[mode], d->h,
					d->w, spec->h, spec->w);
	}
	if (!chan_first && spec->c != d->c) {
		thaw_dataset *r = thaw_dataset_channels(cur ? cur : d, spec->c);
		thaw_dataset_free(cur);
		if (!r)
			return NULL;
		cur = r;
	}
	if (spec->c != d->c)
		off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s -> %s", off ? ", " : "",
					chan_name(d->c), chan_name(spec->c));
	if (!cur) {
		cur = thaw_dataset_clone(d);
		if (!cur)
			return NULL;
		snprintf(buf, sizeof buf, "unchanged (%dx%dx%d)", d->c, d->h, d->w);
	}
	if (desc && desc_size)
		snprintf(desc, desc_size, "%s", buf);
	return cur;
}
