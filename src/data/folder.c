/* Image folders: root/<class>/<image>.png|.jpg. A first pass reads only the
 * headers, so the store is sized once and a bad file is reported before
 * any pixels are decoded; the second pass decodes (JPEGs DCT-scaled toward
 * the target), converts channels and resizes into place. Both passes run
 * on several threads; each image writes only its own slot. */
#include "thaw/data.h"

#include "thaw/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <math.h>
#include <pthread.h>
#include <unistd.h>

#include "thaw/image.h"
#include "thaw/parallel.h"
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

static int has_image_ext(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

/* Entries of dir (hidden ones are not looked at): the subdirectories into
 * dirs, image files into images, anything else into other (prefixed with
 * `pre`, a '/' after folder names); each list sorted. NULL lists are not
 * collected. */
static int list_dir(const char *dir, strlist *dirs, strlist *images, strlist *other, const char *pre)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return thaw_error(THAW_EIO, "%s: cannot open folder: %s", dir, strerror(errno));
	struct dirent *e;
	char path[4096], name[4096];
	int rc = 0;
	while ((e = readdir(dp)) && rc == 0) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(path, &st))
			continue;
		int isdir = S_ISDIR(st.st_mode);
		if (isdir && dirs)
			rc = push(dirs, e->d_name);
		else if (!isdir && has_image_ext(e->d_name) && images)
			rc = push(images, e->d_name);
		else if (other) {
			snprintf(name, sizeof name, "%s%s%s", pre, e->d_name, isdir ? "/" : "");
			rc = push(other, name);
		}
	}
	closedir(dp);
	strlist *all[3] = {dirs, images, other};
	for (int k = 0; k < 3 && rc == 0; k++)
		if (all[k] && all[k]->n)
			qsort(all[k]->s, (size_t)all[k]->n, sizeof *all[k]->s, cmp_str);
	return rc;
}

/* dir/rel and below into images (full paths) and other (relative). */
static int walk_images(const char *dir, const char *rel_dir, int depth, strlist *images, strlist *other)
{
	if (depth > 64)
		return thaw_error(THAW_EINVAL, "%s: folders nested too deep", dir);
	strlist dirs = {0}, files = {0};
	char pre[4096], path[8192];
	snprintf(pre, sizeof pre, "%s%s", rel_dir, *rel_dir ? "/" : "");
	int rc = list_dir(dir, &dirs, &files, other, pre);
	for (int i = 0; rc == 0 && i < files.n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files.s[i]);
		rc = push(images, path);
	}
	for (int i = 0; rc == 0 && i < dirs.n; i++) {
		char sub[4096], subrel[4096];
		snprintf(sub, sizeof sub, "%s/%s", dir, dirs.s[i]);
		snprintf(subrel, sizeof subrel, "%s%s", pre, dirs.s[i]);
		rc = walk_images(sub, subrel, depth + 1, images, other);
	}
	strlist_free(&dirs);
	strlist_free(&files);
	return rc;
}

static void note_other(thaw_sbuf *b, const strlist *other, const char *why);

int thaw_image_files(const char *dir, char ***paths, int *n, char **notes)
{
	strlist images = {0}, other = {0};
	*paths = NULL, *n = 0, *notes = NULL;
	int rc = walk_images(dir, "", 0, &images, &other);
	if (rc == 0 && !images.n)
		rc = thaw_error(THAW_EINVAL, "%s: no PNG or JPEG files in the folder", dir);
	if (rc == 0) {
		qsort(images.s, (size_t)images.n, sizeof *images.s, cmp_str);
		thaw_sbuf b = {0};
		note_other(&b, &other, other.n == 1 ? "that is not PNG or JPEG" : "that are not PNG or JPEG");
		if (b.oom)
			rc = thaw_error(THAW_ENOMEM, "out of memory");
		*notes = b.s;
	}
	strlist_free(&other);
	if (rc < 0) {
		strlist_free(&images);
		return rc;
	}
	*paths = images.s, *n = images.n;
	return 0;
}

void thaw_image_files_free(char **paths, int n)
{
	for (int i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

thaw_image_opts thaw_image_opts_default(void)
{
	thaw_image_opts o;
	memset(&o, 0, sizeof o);
	o.resize = THAW_RESIZE_STRETCH;
	return o;
}

void thaw_image_opts_from_spec(thaw_image_opts *o, const thaw_input_spec *spec)
{
	o->c = spec->c, o->h = spec->h, o->w = spec->w;
	o->resize = (unsigned)spec->resize < 3 ? (thaw_resize_mode)spec->resize : THAW_RESIZE_STRETCH;
}

/* ---- the work shared by the threads: one image per call, each writing
 * only its own slots, so the result is the same for any thread count */

typedef struct load {
	char **files;
	int n;
	int *cc, *hh, *ww; /* from the headers */
	char **err;        /* (n) the message of a failed image, else NULL */
	int *code;         /* (n) its THAW_E* code */
	/* decoding pass */
	thaw_dataset *d;
	int c, h, w;
	thaw_resize_mode mode;
	int decoding;
	/* scheduling */
	int skip_bad, stop, next, done, running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
} load;

/* The smallest decode an image of h0 x w0 may come as: enough for the
 * policy to sample it at the target's resolution. */
static void min_decode(const load *L, int h0, int w0, int *mh, int *mw)
{
	if (L->mode == THAW_RESIZE_PAD) {
		double r = fmin((double)L->h / h0, (double)L->w / w0);
		*mh = (int)ceil(h0 * r - 1e-9), *mw = (int)ceil(w0 * r - 1e-9);
	} else {
		*mh = L->h, *mw = L->w;
	}
}

static int decode_one(load *L, int i)
{
	uint8_t *px = NULL, *conv = NULL;
	float *tmp = NULL;
	int c0, h0, w0, mh, mw, rc;
	min_decode(L, L->hh[i], L->ww[i], &mh, &mw);
	if ((rc = thaw_image_read(L->files[i], mh, mw, &px, &c0, &h0, &w0)) < 0)
		return rc;
	if (c0 != L->cc[i]) { /* replaced under us */
		free(px);
		return thaw_error(THAW_EFORMAT, "%s: changed while loading", L->files[i]);
	}
	int c = L->c, h = L->h, w = L->w;
	size_t p0 = (size_t)h0 * w0, p = (size_t)h * w;
	const uint8_t *s = px;
	if (c0 == 3 && c == 1) { /* luma first: one plane to resize */
		if (!(conv = thaw_malloc(p0))) {
			free(px);
			return THAW_ENOMEM;
		}
		for (size_t k = 0; k < p0; k++)
			conv[k] = (uint8_t)((299u * px[k] + 587u * px[p0 + k] + 114u * px[2 * p0 + k] + 500) / 1000);
		s = conv, c0 = 1;
	}
	if (!(tmp = thaw_malloc(sizeof(float) * thaw_resize_tmp(h, w, h0, w0)))) {
		free(px);
		free(conv);
		return THAW_ENOMEM;
	}
	uint8_t *dst = L->d->x + (size_t)i * c * p;
	for (int ch = 0; ch < c0; ch++)
		thaw_resize_plane_mode(dst + ch * p, h, w, s + ch * p0, h0, w0, L->mode, tmp);
	for (int ch = c0; ch < c; ch++) /* gray -> RGB */
		memcpy(dst + ch * p, dst, p);
	free(px);
	free(conv);
	free(tmp);
	return 0;
}

static int info_one(load *L, int i)
{
	return thaw_image_info(L->files[i], &L->cc[i], &L->hh[i], &L->ww[i]);
}

static void run_one(load *L, int i)
{
	int rc = L->decoding ? decode_one(L, i) : info_one(L, i);
	if (rc < 0) {
		L->code[i] = rc;
		L->err[i] = strdup(thaw_errmsg()); /* NULL when out of memory: reported as such */
		if (!L->err[i])
			L->err[i] = NULL, L->code[i] = THAW_ENOMEM;
		if (!L->skip_bad)
			__atomic_store_n(&L->stop, 1, __ATOMIC_RELAXED);
	}
}

static void *worker(void *arg)
{
	load *L = arg;
	for (;;) {
		/* images are claimed in order, so when image k fails every image
		 * before it was already claimed and finishes: the first failure
		 * reported is the same whatever the timing */
		if (__atomic_load_n(&L->stop, __ATOMIC_RELAXED))
			break;
		int i = __atomic_fetch_add(&L->next, 1, __ATOMIC_RELAXED);
		if (i >= L->n)
			break;
		run_one(L, i);
		pthread_mutex_lock(&L->mu);
		L->done++;
		pthread_cond_signal(&L->cv);
		pthread_mutex_unlock(&L->mu);
	}
	pthread_mutex_lock(&L->mu);
	L->running--;
	pthread_cond_signal(&L->cv);
	pthread_mutex_unlock(&L->mu);
	return NULL;
}

/* Runs one pass over every image on `threads` threads; progress (if any)
 * is called here, on the caller's thread. */
static void run_pass(load *L, int threads, const thaw_image_opts *o, int report)
{
	L->next = 0, L->done = 0, L->stop = 0;
	void (*progress)(int, int, void *) = report ? o->progress : NULL;
	if (threads > L->n)
		threads = L->n;
	pthread_t tid[THAW_PARALLEL_MAX];
	int started = 0;
	L->running = 0;
	if (threads > 1) {
		for (; started < threads; started++) {
			pthread_mutex_lock(&L->mu);
			L->running++;
			pthread_mutex_unlock(&L->mu);
			if (pthread_create(&tid[started], NULL, worker, L) != 0) {
				pthread_mutex_lock(&L->mu);
				L->running--;
				pthread_mutex_unlock(&L->mu);
				break;
			}
		}
	}
	if (started == 0) { /* one thread: the caller does the work */
		for (int i = 0; i < L->n && !L->stop; i++) {
			run_one(L, i);
			L->done = i + 1;
			if (progress)
				progress(L->done, L->n, o->user);
		}
		return;
	}
	int shown = -1;
	pthread_mutex_lock(&L->mu);
	for (;;) {
		int done = L->done, running = L->running;
		if (progress && done != shown) {
			pthread_mutex_unlock(&L->mu);
			progress(done, L->n, o->user);
			shown = done;
			pthread_mutex_lock(&L->mu);
			continue;
		}
		if (running == 0)
			break;
		pthread_cond_wait(&L->cv, &L->mu);
	}
	pthread_mutex_unlock(&L->mu);
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
}

/* Index of the first failed image, or -1. */
static int first_error(const load *L)
{
	for (int i = 0; i < L->n; i++)
		if (L->code[i])
			return i;
	return -1;
}

/* path relative to root, for notes */
static const char *rel(const char *path, const char *root)
{
	size_t k = strlen(root);
	return !strncmp(path, root, k) && path[k] == '/' ? path + k + 1 : path;
}

/* "skipped N files <why> (a, b, c, ...)" */
static void note_other(thaw_sbuf *b, const strlist *other, const char *why)
{
	if (!other->n)
		return;
	thaw_sbuf_printf(b, "%sskipped %d file%s %s (", b->len ? "\n" : "", other->n, other->n == 1 ? "" : "s",
			 why);
	for (int i = 0; i < other->n && i < 3; i++)
		thaw_sbuf_printf(b, "%s%s", i ? ", " : "", other->s[i]);
	thaw_sbuf_printf(b, "%s)", other->n > 3 ? ", …" : "");
}

/* What the load changed, so nobody trains on squeezed photos unawares:
 * "fitted 58 of 60 images (640x480 ... 4000x3000) to 224x224 (crop)",
 * "converted 3 colour images to gray". */
static void note_fitted(thaw_sbuf *b, const load *L, thaw_resize_mode mode)
{
	int resized = 0, conv = 0, minh = 0, minw = 0, maxh = 0, maxw = 0;
	for (int i = 0; i < L->n; i++) {
		if (L->cc[i] != L->c)
			conv++;
		if (L->hh[i] == L->h && L->ww[i] == L->w)
			continue;
		if (!resized++ || (long long)L->hh[i] * L->ww[i] < (long long)minh * minw)
			minh = L->hh[i], minw = L->ww[i];
		if ((long long)L->hh[i] * L->ww[i] > (long long)maxh * maxw)
			maxh = L->hh[i], maxw = L->ww[i];
	}
	char range[64];
	if (minh == maxh && minw == maxw)
		snprintf(range, sizeof range, "%dx%d", minh, minw);
	else
		snprintf(range, sizeof range, "%dx%d ... %dx%d", minh, minw, maxh, maxw);
	if (resized)
		thaw_sbuf_printf(b, "%sfitted %d of %d images (%s) to %dx%d (%s)", b->len ? "\n" : "", resized, L->n,
				 range, L->h, L->w, thaw_resize_mode_name(mode));
	if (conv)
		thaw_sbuf_printf(b, "%sconverted %d %s images to %s", b->len ? "\n" : "", conv,
				 L->c == 1 ? "colour" : "gray", L->c == 1 ? "gray" : "RGB");
}

/* One line per unreadable image (at most 10, then a count). */
static void note_bad(thaw_sbuf *b, const load *L, const char *root, int *shown)
{
	for (int i = 0; i < L->n; i++) {
		if (!L->code[i])
			continue;
		if (*shown < 10) {
			const char *m = L->err[i] ? L->err[i] : "out of memory";
			size_t k = strlen(L->files[i]);
			if (!strncmp(m, L->files[i], k) && m[k] == ':')
				m += k + 2;
			thaw_sbuf_printf(b, "%sskipped unreadable image %s: %s", b->len ? "\n" : "",
					 rel(L->files[i], root), m);
		}
		(*shown)++;
	}
}

/* Drops the failed images from the lists (labels move with them). */
static void drop_failed(load *L, int *label)
{
	int k = 0;
	for (int i = 0; i < L->n; i++) {
		if (L->code[i]) {
			free(L->files[i]);
			free(L->err[i]);
			continue;
		}
		L->files[k] = L->files[i], label[k] = label[i];
		L->cc[k] = L->cc[i], L->hh[k] = L->hh[i], L->ww[k] = L->ww[i];
		L->err[k] = NULL, L->code[k] = 0;
		k++;
	}
	L->n = k;
}

thaw_dataset *thaw_folder_load_opts(const char *root, const thaw_image_opts *o)
{
	thaw_image_opts def = thaw_image_opts_default();
	if (!o)
		o = &def;
	strlist classes = {0}, files = {0}, other = {0}, loose = {0};
	int *label = NULL;
	load L;
	memset(&L, 0, sizeof L);
	pthread_mutex_init(&L.mu, NULL);
	pthread_cond_init(&L.cv, NULL);
	thaw_dataset *d = NULL;
	thaw_sbuf notes = {0};
	char path[8192];
	int threads = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	threads = threads < 1 ? 1 : threads > THAW_PARALLEL_MAX ? THAW_PARALLEL_MAX : threads;
	if (o->c < 0 || o->h < 0 || o->w < 0 || (unsigned)o->resize > THAW_RESIZE_PAD) {
		thaw_error(THAW_EINVAL, "%s: bad image options (c %d, size %dx%d, resize %d)", root, o->c, o->h,
			   o->w, (int)o->resize);
		goto fail;
	}
	/* every file at the top is loose: images belong in class folders */
	if (list_dir(root, &classes, NULL, &loose, "") < 0)
		goto fail;
	if (!classes.n) {
		thaw_error(THAW_EFORMAT, "%s: no class folders (expected %s/<class>/<image>.png or .jpg)", root,
			   root);
		goto fail;
	}
	for (int k = 0; k < classes.n; k++) {
		snprintf(path, sizeof path, "%s/%s", root, classes.s[k]);
		char pre[4200];
		snprintf(pre, sizeof pre, "%s/", classes.s[k]);
		strlist one = {0};
		if (list_dir(path, NULL, &one, &other, pre) < 0) {
			strlist_free(&one);
			goto fail;
		}
		if (!one.n) {
			thaw_error(THAW_EFORMAT, "%s: class folder holds no PNG or JPEG images", path);
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
	/* pass 1: the headers, so the store is sized once */
	L.files = files.s, L.n = files.n, L.skip_bad = o->skip_bad;
	L.cc = thaw_calloc((size_t)L.n, sizeof(int));
	L.hh = thaw_calloc((size_t)L.n, sizeof(int));
	L.ww = thaw_calloc((size_t)L.n, sizeof(int));
	L.code = thaw_calloc((size_t)L.n, sizeof(int));
	L.err = thaw_calloc((size_t)L.n, sizeof(char *));
	if (!L.cc || !L.hh || !L.ww || !L.code || !L.err)
		goto fail;
	run_pass(&L, threads, o, 0);
	int bad = first_error(&L), shown = 0;
	if (bad >= 0 && !o->skip_bad) {
		thaw_error(L.code[bad], "%s", L.err[bad] ? L.err[bad] : "out of memory");
		goto fail;
	}
	note_other(&notes, &loose, "outside the class folders");
	note_other(&notes, &other, other.n == 1 ? "that is not PNG or JPEG" : "that are not PNG or JPEG");
	if (bad >= 0) {
		note_bad(&notes, &L, root, &shown);
		drop_failed(&L, label);
		files.n = L.n;
	}
	int anycolour = 0;
	for (int i = 0; i < L.n; i++)
		anycolour |= L.cc[i] > 1;
	int c = o->c ? o->c : anycolour ? 3 : 1;
	if (c != 1 && c != 3) {
		thaw_error(THAW_EINVAL, "%s: can load images as 1 or 3 channels, not %d", root, c);
		goto fail;
	}
	int h = o->h, w = o->w;
	if (L.n && (!h || !w)) {
		h = h ? h : L.hh[0];
		w = w ? w : L.ww[0];
		if ((long long)h * w > THAW_IMAGE_MAX_PIXELS) {
			thaw_error(THAW_EFORMAT, "%s: %dx%d images (the size of the first) are more than thaw's "
						 "limit of %lld pixels; give a smaller size",
				   L.files[0], h, w, THAW_IMAGE_MAX_PIXELS);
			goto fail;
		}
	} else if ((long long)h * w > THAW_IMAGE_MAX_PIXELS) {
		thaw_error(THAW_EINVAL, "%s: a target of %dx%d is more than thaw's limit of %lld pixels", root, h,
			   w, THAW_IMAGE_MAX_PIXELS);
		goto fail;
	}
	/* pass 2: decode into the store; with skip_bad, failures are dropped
	 * afterwards by moving the later images down */
	for (int pass = 0; pass < 2; pass++) {
		int *count = thaw_calloc((size_t)classes.n, sizeof(int));
		if (!count)
			goto fail;
		for (int i = 0; i < L.n; i++)
			count[label[i]]++;
		for (int k = 0; k < classes.n; k++)
			if (!count[k]) {
				thaw_error(THAW_EFORMAT, "%s/%s: no readable PNG or JPEG images (every one was "
							 "skipped as unreadable)",
					   root, classes.s[k]);
				free(count);
				goto fail;
			}
		free(count);
		if (pass == 1)
			break;
		d = thaw_dataset_new(L.n, c, h, w, classes.n);
		if (!d) {
			thaw_error_prefix("%s", root);
			goto fail;
		}
		if (thaw_dataset_set_class_names(d, (const char *const *)classes.s, classes.n) < 0)
			goto fail;
		L.d = d, L.c = c, L.h = h, L.w = w, L.mode = o->resize, L.decoding = 1;
		run_pass(&L, threads, o, 1);
		bad = first_error(&L);
		if (bad >= 0 && !o->skip_bad) {
			thaw_error(L.code[bad], "%s", L.err[bad] ? L.err[bad] : "out of memory");
			goto fail;
		}
		size_t is = (size_t)c * h * w;
		int k = 0;
		for (int i = 0; i < L.n; i++)
			if (!L.code[i]) {
				if (k != i)
					memmove(d->x + (size_t)k * is, d->x + (size_t)i * is, is);
				k++;
			}
		if (bad >= 0) {
			note_bad(&notes, &L, root, &shown);
			drop_failed(&L, label);
			files.n = L.n;
			d->n = L.n;
		}
		for (int i = 0; i < L.n; i++)
			d->y[i] = label[i];
	}
	if (shown > 10)
		thaw_sbuf_printf(&notes, "\nskipped %d more unreadable images", shown - 10);
	note_fitted(&notes, &L, o->resize);
	if (notes.oom) {
		thaw_error(THAW_ENOMEM, "out of memory");
		goto fail;
	}
	d->notes = notes.s;
	notes.s = NULL;
	snprintf(d->source, sizeof d->source, "%.250s", root);
	goto done;
fail:
	thaw_dataset_free(d);
	d = NULL;
done:
	if (L.err)
		for (int i = 0; i < L.n; i++)
			free(L.err[i]);
	free(L.err);
	free(L.code);
	free(L.cc);
	free(L.hh);
	free(L.ww);
	pthread_mutex_destroy(&L.mu);
	pthread_cond_destroy(&L.cv);
	free(notes.s);
	strlist_free(&classes);
	strlist_free(&files);
	strlist_free(&other);
	strlist_free(&loose);
	free(label);
	return d;
}

thaw_dataset *thaw_folder_load(const char *root, int c, int h, int w)
{
	thaw_image_opts o = thaw_image_opts_default();
	o.c = c, o.h = h, o.w = w;
	return thaw_folder_load_opts(root, &o);
}

int thaw_folder_save(const thaw_dataset *d, const char *root)
{
	return thaw_folder_save_format(d, root, THAW_IMAGE_PNG);
}

int thaw_folder_save_format(const thaw_dataset *d, const char *root, int format)
{
	if (d->ids)
		return thaw_error(THAW_EINVAL, "%s: %s holds text, not images to save", root ? root : "", d->source);
	if (format != THAW_IMAGE_PNG && format != THAW_IMAGE_JPEG)
		return thaw_error(THAW_EINVAL, "%s: folder save: format %d is neither PNG nor JPEG", root ? root : "",
				  format);
	if (!d || !root || d->n_classes <= 0)
		return thaw_error(THAW_EINVAL, "folder save: no data set or no directory");
	if (d->c != 1 && d->c != 3)
		return thaw_error(THAW_EINVAL, "%s: image folders hold gray or RGB images, not %d channels", root,
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
	thaw_atomic_batch_begin(); /* one sync at the end, not two per image */
	for (int i = 0; i < d->n; i++) {
		int k = d->y[i];
		snprintf(name, sizeof name, "%02d-%s", k, d->class_names ? d->class_names[k] : "");
		for (char *p = name; *p; p++)
			if (*p == '/' || *p == '\\')
				*p = '-';
		const uint8_t *px = d->x + (size_t)i * is;
		int jpeg = format == THAW_IMAGE_JPEG;
		snprintf(path, sizeof path, "%s/%s/%06d.%s", root, name, i, jpeg ? "jpg" : "png");
		int rc = jpeg ? thaw_jpeg_write(path, px, d->c, d->h, d->w, THAW_JPEG_QUALITY, 0)
			      : thaw_png_write(path, px, d->c, d->h, d->w);
		if (rc < 0) {
			char msg[1024];
			snprintf(msg, sizeof msg, "%s", thaw_errmsg());
			thaw_atomic_batch_end(root);
			return thaw_error(rc, "%s", msg);
		}
	}
	return thaw_atomic_batch_end(root);
}
