/* Image folders: root/<class>/<image>.png. A first pass reads only the PNG
 * headers, so the store is sized once and a bad file is reported before
 * any pixels are decoded; the second pass decodes, converts channels and
 * resizes into place. */
#include "thaw/data.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "thaw/png.h"

typedef struct strlist {
	char **s;
	int n, cap;
} strlist;

static int push(strlist *l, const char *s)
{
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 64;
		char **t = realloc(l->s, sizeof *t * (size_t)cap);
		if (!t)
			return thaw_error(THAW_ENOMEM, "out of memory");
		l->s = t, l->cap = cap;
	}
	l->s[l->n] = strdup(s);
	if (!l->s[l->n])
		return thaw_error(THAW_ENOMEM, "out of memory");
	l->n++;
	return 0;
}

static void strlist_free(strlist *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->s[i]);
	free(l->s);
	memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int has_png_ext(const char *name)
{
	size_t k = strlen(name);
	return k > 4 && !strcasecmp(name + k - 4, ".png");
}

/* Entries of dir (no hidden ones): subdirectories when want_dirs, else
 * .png files; sorted. */
static int list_dir(const char *dir, int want_dirs, strlist *out)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return thaw_error(THAW_EIO, "%s: cannot open folder: %s", dir, strerror(errno));
	struct dirent *e;
	char path[4096];
	int rc = 0;
	while ((e = readdir(dp))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(path, &st))
			continue;
		if (want_dirs ? S_ISDIR(st.st_mode) : (!S_ISDIR(st.st_mode) && has_png_ext(e->d_name)))
			if ((rc = push(out, e->d_name)) < 0)
				break;
	}
	closedir(dp);
	if (rc == 0 && out->n)
		qsort(out->s, (size_t)out->n, sizeof *out->s, cmp_str);
	return rc;
}

/* (c0,h0,w0) planar pixels into (c,h,w); tmp and conv sized by the caller. */
static void fit_image(uint8_t *dst, int c, int h, int w, const uint8_t *src, int c0, int h0, int w0,
		      uint8_t *conv, float *tmp)
{
	size_t p0 = (size_t)h0 * w0;
	const uint8_t *s = src;
	if (c0 != c) {
		if (c0 == 1) {
			for (int ch = 0; ch < c; ch++)
				memcpy(conv + ch * p0, src, p0);
		} else {
			for (size_t k = 0; k < p0; k++)
				conv[k] = (uint8_t)((299u * src[k] + 587u * src[p0 + k] + 114u * src[2 * p0 + k] +
						     500) / 1000);
		}
		s = conv;
	}
	if (h0 == h && w0 == w) {
		memcpy(dst, s, (size_t)c * p0);
		return;
	}
	for (int ch = 0; ch < c; ch++)
		thaw_resize_plane(dst + (size_t)ch * h * w, h, w, s + ch * p0, h0, w0, tmp);
}

thaw_dataset *thaw_folder_load(const char *root, int c, int h, int w)
{
	strlist classes = {0}, files = {0};
	int *label = NULL, *cc = NULL, *hh = NULL, *ww = NULL;
	thaw_dataset *d = NULL;
	uint8_t *px = NULL, *conv = NULL;
	float *tmp = NULL;
	char path[8192];
	if (list_dir(root, 1, &classes) < 0)
		goto fail;
	if (!classes.n) {
		thaw_error(THAW_EFORMAT, "%s: no class folders (expected %s/<class>/<image>.png)", root, root);
		goto fail;
	}
	for (int k = 0; k < classes.n; k++) {
		snprintf(path, sizeof path, "%s/%s", root, classes.s[k]);
		strlist one = {0};
		if (list_dir(path, 0, &one) < 0)
			goto fail;
		if (!one.n) {
			thaw_error(THAW_EFORMAT, "%s: class folder holds no .png images", path);
			strlist_free(&one);
			goto fail;
		}
		int base = files.n;
		for (int i = 0; i < one.n; i++) {
			snprintf(path, sizeof path, "%s/%s/%s", root, classes.s[k], one.s[i]);
			if (push(&files, path) < 0) {
				strlist_free(&one);
				goto fail;
			}
		}
		strlist_free(&one);
		int *t = realloc(label, sizeof *t * (size_t)files.n);
		if (!t) {
			thaw_error(THAW_ENOMEM, "out of memory");
			goto fail;
		}
		label = t;
		for (int i = base; i < files.n; i++)
			label[i] = k;
	}
	int n = files.n;
	cc = thaw_malloc(sizeof(int) * (size_t)n);
	hh = thaw_malloc(sizeof(int) * (size_t)n);
	ww = thaw_malloc(sizeof(int) * (size_t)n);
	if (!cc || !hh || !ww)
		goto fail;
	int anycolour = 0, maxh = 0, maxw = 0;
	for (int i = 0; i < n; i++) {
		if (thaw_png_info(files.s[i], &cc[i], &hh[i], &ww[i]) < 0)
			goto fail;
		anycolour |= cc[i] > 1;
		maxh = hh[i] > maxh ? hh[i] : maxh;
		maxw = ww[i] > maxw ? ww[i] : maxw;
	}
	if (!c)
		c = anycolour ? 3 : 1;
	if (!h || !w)
		h = hh[0], w = ww[0];
	if (c != 1 && c != 3) {
		thaw_error(THAW_EINVAL, "%s: can load images as 1 or 3 channels, not %d", root, c);
		goto fail;
	}
	d = thaw_dataset_new(n, c, h, w, classes.n);
	if (!d) {
		thaw_error_prefix("%s", root);
		goto fail;
	}
	if (thaw_dataset_set_class_names(d, (const char *const *)classes.s, classes.n) < 0)
		goto fail;
	int big = maxh > h ? maxh : h, bigw = maxw > w ? maxw : w;
	conv = thaw_malloc((size_t)3 * maxh * maxw);
	tmp = thaw_malloc(sizeof(float) * ((size_t)big * bigw + 2 * (size_t)(big > bigw ? big : bigw)));
	if (!conv || !tmp)
		goto fail;
	size_t is = (size_t)c * h * w;
	for (int i = 0; i < n; i++) {
		int c0, h0, w0;
		if (thaw_png_read(files.s[i], &px, &c0, &h0, &w0) < 0)
			goto fail;
		if (c0 != cc[i] || h0 != hh[i] || w0 != ww[i]) { /* changed under us */
			thaw_error(THAW_EFORMAT, "%s: changed while loading", files.s[i]);
			goto fail;
		}
		fit_image(d->x + (size_t)i * is, c, h, w, px, c0, h0, w0, conv, tmp);
		free(px);
		px = NULL;
		d->y[i] = label[i];
	}
	snprintf(d->source, sizeof d->source, "%.250s", root);
	goto done;
fail:
	thaw_dataset_free(d);
	d = NULL;
done:
	strlist_free(&classes);
	strlist_free(&files);
	free(label);
	free(cc);
	free(hh);
	free(ww);
	free(px);
	free(conv);
	free(tmp);
	return d;
}

int thaw_folder_save(const thaw_dataset *d, const char *root)
{
	if (!d || !root || d->n_classes <= 0)
		return thaw_error(THAW_EINVAL, "folder save: no data set or no directory");
	if (d->c != 1 && d->c != 3)
		return thaw_error(THAW_EINVAL, "%s: PNG folders hold gray or RGB images, not %d channels", root,
				  d->c);
	if (mkdir(root, 0777) < 0 && errno != EEXIST)
		return thaw_error(THAW_EIO, "%s: cannot create directory: %s", root, strerror(errno));
	char path[PATH_MAX], name[256];
	/* class folders in label order: "00-Sandal" keeps the order on reload
	 * (folders load sorted); '/' in a name would make a subfolder */
	for (int k = 0; k < d->n_classes; k++) {
		snprintf(name, sizeof name, "%02d-%s", k, d->class_names ? d->class_names[k] : "");
		for (char *p = name; *p; p++)
			if (*p == '/' || *p == '\\')
				*p = '-';
		snprintf(path, sizeof path, "%s/%s", root, name);
		if (mkdir(path, 0777) < 0 && errno != EEXIST)
			return thaw_error(THAW_EIO, "%s: cannot create directory: %s", path, strerror(errno));
	}
	size_t is = (size_t)d->c * d->h * d->w;
	for (int i = 0; i < d->n; i++) {
		int k = d->y[i];
		snprintf(name, sizeof name, "%02d-%s", k, d->class_names ? d->class_names[k] : "");
		for (char *p = name; *p; p++)
			if (*p == '/' || *p == '\\')
				*p = '-';
		snprintf(path, sizeof path, "%s/%s/%06d.png", root, name, i);
		int rc = thaw_png_write(path, d->x + (size_t)i * is, d->c, d->h, d->w);
		if (rc < 0)
			return rc;
	}
	return 0;
}
