/* The uint8 store and the selections over it (class filter, k per class,
 * stratified split, join). Each selection builds a new store from a list
 * of indices, so the source is never modified. */
#include "thaw/data.h"
#include "thaw/text.h"

#include <limits.h>
#include <math.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Checks n*c*h*w fits in memory arithmetic before anything is allocated. */
static int image_bytes(int n, int c, int h, int w, size_t *out)
{
	size_t s;
	if (n < 0 || c <= 0 || h <= 0 || w <= 0 || __builtin_mul_overflow((size_t)c, (size_t)h, &s) ||
	    __builtin_mul_overflow(s, (size_t)w, &s) || __builtin_mul_overflow(s, (size_t)n, &s))
		return thaw_error(THAW_EINVAL, "bad data set shape %dx%dx%dx%d", n, c, h, w);
	*out = s;
	return 0;
}

/* A store like d (text or images) of n samples and n_classes classes. */
static thaw_dataset *new_like(const thaw_dataset *d, int n, int n_classes)
{
	if (d->ids)
		return thaw_text_dataset_new(n, d->w, n_classes, d->vocab);
	return thaw_dataset_new(n, d->c, d->h, d->w, n_classes);
}

/* Copies sample i of s to sample j of o (same kind and size). */
static void copy_sample(thaw_dataset *o, int j, const thaw_dataset *s, int i)
{
	if (s->ids) {
		memcpy(o->ids + (size_t)j * o->w, s->ids + (size_t)i * s->w, sizeof *s->ids * (size_t)s->w);
		o->len[j] = s->len[i];
		return;
	}
	size_t is = (size_t)s->c * s->h * s->w;
	memcpy(o->x + (size_t)j * is, s->x + (size_t)i * is, is);
}

thaw_dataset *thaw_text_dataset_new(int n, int w, int n_classes, thaw_vocab *v)
{
	size_t cells;
	if (n < 0 || w <= 0 || __builtin_mul_overflow((size_t)n, (size_t)w, &cells) || !v) {
		thaw_error(THAW_EINVAL, "bad text data set shape: %d texts of %d tokens", n, w);
		return NULL;
	}
	if (n_classes <= 0 || n_classes > 100000) {
		thaw_error(THAW_EINVAL, "bad class count %d", n_classes);
		return NULL;
	}
	thaw_dataset *d = thaw_dataset_new(0, 1, 1, w, n_classes);
	if (!d)
		return NULL;
	free(d->x);
	free(d->y);
	d->x = NULL;
	d->n = n;
	d->y = thaw_calloc(n ? (size_t)n : 1, sizeof *d->y);
	d->ids = thaw_calloc(cells ? cells : 1, sizeof *d->ids);
	d->len = thaw_calloc(n ? (size_t)n : 1, sizeof *d->len);
	d->vocab = thaw_vocab_ref(v);
	if (!d->y || !d->ids || !d->len) {
		thaw_dataset_free(d);
		return NULL;
	}
	return d;
}

thaw_dataset *thaw_dataset_new(int n, int c, int h, int w, int n_classes)
{
	size_t bytes = 0;
	if (image_bytes(n, c, h, w, &bytes) < 0)
		return NULL;
	if (c > THAW_MAX_CHANNELS) {
		thaw_error(THAW_EINVAL, "%d channels: at most %d are supported", c, THAW_MAX_CHANNELS);
		return NULL;
	}
	if (n_classes <= 0 || n_classes > 100000) {
		thaw_error(THAW_EINVAL, "bad class count %d", n_classes);
		return NULL;
	}
	thaw_dataset *d = thaw_calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->n = n, d->c = c, d->h = h, d->w = w, d->n_classes = n_classes;
	d->x = thaw_calloc(bytes ? bytes : 1, 1);
	d->y = thaw_calloc(n ? (size_t)n : 1, sizeof *d->y);
	d->class_names = thaw_calloc((size_t)n_classes, sizeof(char *));
	if (!d->x || !d->y || !d->class_names) {
		thaw_dataset_free(d);
		return NULL;
	}
	for (int i = 0; i < n_classes; i++) {
		char buf[16];
		snprintf(buf, sizeof buf, "%d", i);
		d->class_names[i] = strdup(buf);
		if (!d->class_names[i]) {
			thaw_dataset_free(d);
			thaw_error(THAW_ENOMEM, "out of memory");
			return NULL;
		}
	}
	return d;
}

void thaw_dataset_free(thaw_dataset *d)
{
	if (!d)
		return;
	if (d->class_names)
		for (int i = 0; i < d->n_classes; i++)
			free(d->class_names[i]);
	free(d->class_names);
	free(d->x);
	free(d->y);
	free(d->notes);
	free(d->ids);
	free(d->len);
	thaw_vocab_free(d->vocab);
	free(d);
}

const char *thaw_note_next(const char **pos, int *len)
{
	const char *s = *pos;
	if (!s || !*s)
		return NULL;
	const char *e = strchr(s, '\n');
	*len = e ? (int)(e - s) : (int)strlen(s);
	*pos = e ? e + 1 : NULL;
	return s;
}

static const char *skip_order_prefix(const char *s, size_t *len)
{
	size_t k = 0;
	while (k < *len && s[k] >= '0' && s[k] <= '9')
		k++;
	if (k == 0 || k >= *len || s[k] != '-')
		return s;
	*len -= k + 1;
	return s + k + 1;
}

static int fold_class_char(int c)
{
	return c == '/' || c == '\\' ? '-' : tolower((unsigned char)c);
}

int thaw_class_name_same(const char *a, const char *b, size_t blen)
{
	size_t alen = strlen(a);
	for (int pass = 0; pass < 4; pass++) { /* as they are, then without either prefix */
		size_t la = alen, lb = blen;
		const char *pa = pass & 1 ? skip_order_prefix(a, &la) : a;
		const char *pb = pass & 2 ? skip_order_prefix(b, &lb) : b;
		if (la != lb)
			continue;
		size_t i = 0;
		while (i < la && fold_class_char(pa[i]) == fold_class_char(pb[i]))
			i++;
		if (i == la)
			return 1;
	}
	return 0;
}

int thaw_dataset_set_class_names(thaw_dataset *d, const char *const *names, int n)
{
	if (n != d->n_classes)
		return thaw_error(THAW_EINVAL, "%d class names for %d classes", n, d->n_classes);
	for (int i = 0; i < n; i++) {
		char *s = strdup(names[i] ? names[i] : "");
		if (!s)
			return thaw_error(THAW_ENOMEM, "out of memory");
		free(d->class_names[i]);
		d->class_names[i] = s;
	}
	return 0;
}

size_t thaw_dataset_bytes(const thaw_dataset *d)
{
	size_t s = (size_t)d->n * d->c * d->h * d->w * (d->ids ? sizeof *d->ids : 1) +
		   (size_t)d->n * sizeof *d->y * (d->ids ? 2 : 1) + sizeof *d;
	for (int i = 0; i < d->n_classes; i++)
		s += sizeof(char *) + strlen(d->class_names[i]) + 1;
	return s;
}

void thaw_dataset_class_counts(const thaw_dataset *d, int *count)
{
	memset(count, 0, sizeof *count * (size_t)d->n_classes);
	for (int i = 0; i < d->n; i++)
		count[d->y[i]]++;
}

thaw_dataset *thaw_dataset_subset(const thaw_dataset *d, const int *idx, int n)
{
	for (int i = 0; i < n; i++)
		if (idx[i] < 0 || idx[i] >= d->n) {
			thaw_error(THAW_EINVAL, "subset: index %d out of range 0..%d", idx[i], d->n - 1);
			return NULL;
		}
	thaw_dataset *o = new_like(d, n, d->n_classes);
	if (!o)
		return NULL;
	if (thaw_dataset_set_class_names(o, (const char *const *)d->class_names, d->n_classes) < 0) {
		thaw_dataset_free(o);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		copy_sample(o, i, d, idx[i]);
		o->y[i] = d->y[idx[i]];
	}
	snprintf(o->source, sizeof o->source, "%s", d->source);
	return o;
}

thaw_dataset *thaw_dataset_clone(const thaw_dataset *d)
{
	int *idx = thaw_malloc(sizeof *idx * (size_t)(d->n ? d->n : 1));
	if (!idx)
		return NULL;
	for (int i = 0; i < d->n; i++)
		idx[i] = i;
	thaw_dataset *o = thaw_dataset_subset(d, idx, d->n);
	free(idx);
	if (o && d->notes && !(o->notes = strdup(d->notes))) {
		thaw_dataset_free(o);
		thaw_error(THAW_ENOMEM, "out of memory");
		return NULL;
	}
	return o;
}

thaw_dataset *thaw_dataset_select_classes(const thaw_dataset *d, const int *classes, int k)
{
	if (k <= 0) {
		thaw_error(THAW_EINVAL, "select classes: no classes given");
		return NULL;
	}
	int *map = thaw_malloc(sizeof *map * (size_t)d->n_classes);
	int *idx = thaw_malloc(sizeof *idx * (size_t)(d->n ? d->n : 1));
	const char **names = thaw_malloc(sizeof *names * (size_t)k);
	thaw_dataset *o = NULL;
	if (!map || !idx || !names)
		goto out;
	for (int i = 0; i < d->n_classes; i++)
		map[i] = -1;
	for (int i = 0; i < k; i++) {
		if (classes[i] < 0 || classes[i] >= d->n_classes) {
			thaw_error(THAW_EINVAL, "select classes: class %d out of range 0..%d", classes[i],
				   d->n_classes - 1);
			goto out;
		}
		if (map[classes[i]] >= 0) {
			thaw_error(THAW_EINVAL, "select classes: class %d given twice", classes[i]);
			goto out;
		}
		map[classes[i]] = i;
		names[i] = d->class_names[classes[i]];
	}
	int n = 0;
	for (int i = 0; i < d->n; i++)
		if (map[d->y[i]] >= 0)
			idx[n++] = i;
	o = new_like(d, n, k);
	if (!o)
		goto out;
	if (thaw_dataset_set_class_names(o, names, k) < 0) {
		thaw_dataset_free(o);
		o = NULL;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		copy_sample(o, i, d, idx[i]);
		o->y[i] = map[d->y[idx[i]]];
	}
	snprintf(o->source, sizeof o->source, "%s", d->source);
out:
	free(map);
	free(idx);
	free(names);
	return o;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Indices of d grouped by class: byclass[start[c] .. start[c+1]) in order. */
static int group_by_class(const thaw_dataset *d, int **byclass, int **start)
{
	*byclass = thaw_malloc(sizeof(int) * (size_t)(d->n ? d->n : 1));
	*start = thaw_calloc((size_t)d->n_classes + 1, sizeof(int));
	if (!*byclass || !*start) {
		free(*byclass);
		free(*start);
		return THAW_ENOMEM;
	}
	int *st = *start, *bc = *byclass;
	for (int i = 0; i < d->n; i++)
		st[d->y[i] + 1]++;
	for (int c = 0; c < d->n_classes; c++)
		st[c + 1] += st[c];
	int *fill = thaw_malloc(sizeof(int) * (size_t)d->n_classes);
	if (!fill) {
		free(*byclass);
		free(*start);
		return THAW_ENOMEM;
	}
	memcpy(fill, st, sizeof(int) * (size_t)d->n_classes);
	for (int i = 0; i < d->n; i++)
		bc[fill[d->y[i]]++] = i;
	free(fill);
	return 0;
}

static void shuffle(int *a, int n, thaw_rng *r)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)thaw_rng_below(r, (uint32_t)i + 1);
		int t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

thaw_dataset *thaw_dataset_per_class(const thaw_dataset *d, int k, uint64_t seed)
{
	if (k <= 0) {
		thaw_error(THAW_EINVAL, "per class: k must be positive, not %d", k);
		return NULL;
	}
	int *bc, *st;
	if (group_by_class(d, &bc, &st) < 0)
		return NULL;
	thaw_dataset *o = NULL;
	int *idx = thaw_malloc(sizeof(int) * (size_t)(d->n ? d->n : 1));
	if (!idx)
		goto out;
	thaw_rng r;
	thaw_rng_seed(&r, seed);
	int n = 0;
	for (int c = 0; c < d->n_classes; c++) {
		int cnt = st[c + 1] - st[c];
		if (cnt < k) {
			thaw_error(THAW_EINVAL, "per class: class %d (%s) has %d images, fewer than %d", c,
				   d->class_names[c], cnt, k);
			goto out;
		}
		shuffle(bc + st[c], cnt, &r);
		memcpy(idx + n, bc + st[c], sizeof(int) * (size_t)k);
		n += k;
	}
	qsort(idx, (size_t)n, sizeof *idx, cmp_int);
	o = thaw_dataset_subset(d, idx, n);
out:
	free(idx);
	free(bc);
	free(st);
	return o;
}

int thaw_dataset_split(const thaw_dataset *d, float val_frac, uint64_t seed, thaw_dataset **train,
		       thaw_dataset **val)
{
	*train = *val = NULL;
	if (!(val_frac >= 0.0f && val_frac <= 1.0f))
		return thaw_error(THAW_EINVAL, "split: validation fraction %g not in [0, 1]", (double)val_frac);
	int *bc, *st;
	if (group_by_class(d, &bc, &st) < 0)
		return THAW_ENOMEM;
	int rc = THAW_ENOMEM;
	int *ti = thaw_malloc(sizeof(int) * (size_t)(d->n ? d->n : 1));
	int *vi = thaw_malloc(sizeof(int) * (size_t)(d->n ? d->n : 1));
	if (!ti || !vi)
		goto out;
	thaw_rng r;
	thaw_rng_seed(&r, seed);
	int nt = 0, nv = 0;
	for (int c = 0; c < d->n_classes; c++) {
		int cnt = st[c + 1] - st[c];
		int nval = (int)(val_frac * (float)cnt + 0.5f);
		shuffle(bc + st[c], cnt, &r);
		memcpy(vi + nv, bc + st[c], sizeof(int) * (size_t)nval);
		memcpy(ti + nt, bc + st[c] + nval, sizeof(int) * (size_t)(cnt - nval));
		nv += nval;
		nt += cnt - nval;
	}
	qsort(ti, (size_t)nt, sizeof *ti, cmp_int);
	qsort(vi, (size_t)nv, sizeof *vi, cmp_int);
	*train = thaw_dataset_subset(d, ti, nt);
	*val = *train ? thaw_dataset_subset(d, vi, nv) : NULL;
	if (!*val) {
		thaw_dataset_free(*train);
		*train = NULL;
		goto out;
	}
	rc = 0;
out:
	free(ti);
	free(vi);
	free(bc);
	free(st);
	return rc;
}

thaw_dataset *thaw_dataset_join(const thaw_dataset *a, const thaw_dataset *b)
{
	if (!a->ids != !b->ids) {
		thaw_error(THAW_EINVAL, "join: %s is text and %s images", a->ids ? a->source : b->source,
			   a->ids ? b->source : a->source);
		return NULL;
	}
	if (!a->ids && (a->c != b->c || a->h != b->h || a->w != b->w)) {
		thaw_error(THAW_ESHAPE, "join: images %dx%dx%d and %dx%dx%d differ (resize one first)", a->c,
			   a->h, a->w, b->c, b->h, b->w);
		return NULL;
	}
	if (a->n > INT_MAX - b->n) {
		thaw_error(THAW_EINVAL, "join: %d + %d images is too many", a->n, b->n);
		return NULL;
	}
	/* b's classes by name into a's, new names appended */
	int *map = thaw_malloc(sizeof(int) * (size_t)b->n_classes);
	const char **names = thaw_malloc(sizeof(char *) * (size_t)(a->n_classes + b->n_classes));
	thaw_dataset *o = NULL;
	/* texts: one vocabulary (b's words appended to a's, b re-encoded) and
	 * the longer of the two lengths, so nothing is lost */
	int *bmap = NULL, w = a->w > b->w ? a->w : b->w;
	thaw_vocab *vm = NULL;
	if (!map || !names)
		goto out;
	if (a->ids) {
		if (a->vocab == b->vocab) {
			vm = thaw_vocab_ref(a->vocab);
		} else if (!(bmap = thaw_malloc(sizeof *bmap * (size_t)b->vocab->n)) ||
			   !(vm = thaw_vocab_merge(a->vocab, b->vocab, bmap))) {
			goto out;
		}
	}
	int nc = a->n_classes;
	for (int i = 0; i < a->n_classes; i++)
		names[i] = a->class_names[i];
	for (int j = 0; j < b->n_classes; j++) {
		map[j] = -1;
		for (int i = 0; i < nc; i++)
			if (!strcmp(names[i], b->class_names[j])) {
				map[j] = i;
				break;
			}
		if (map[j] < 0) {
			names[nc] = b->class_names[j];
			map[j] = nc++;
		}
	}
	o = a->ids ? thaw_text_dataset_new(a->n + b->n, w, nc, vm) : thaw_dataset_new(a->n + b->n, a->c, a->h, a->w, nc);
	if (!o)
		goto out;
	if (thaw_dataset_set_class_names(o, names, nc) < 0) {
		thaw_dataset_free(o);
		o = NULL;
		goto out;
	}
	if (a->ids) {
		for (int i = 0; i < a->n; i++) {
			memcpy(o->ids + (size_t)i * w, a->ids + (size_t)i * a->w, sizeof *o->ids * (size_t)a->w);
			o->len[i] = a->len[i];
		}
		for (int i = 0; i < b->n; i++) {
			int32_t *dst = o->ids + (size_t)(a->n + i) * w;
			const int32_t *src = b->ids + (size_t)i * b->w;
			for (int t = 0; t < b->w; t++)
				dst[t] = bmap ? bmap[src[t]] : src[t];
			o->len[a->n + i] = b->len[i];
		}
	} else {
		size_t is = (size_t)a->c * a->h * a->w;
		memcpy(o->x, a->x, is * (size_t)a->n);
		memcpy(o->x + is * (size_t)a->n, b->x, is * (size_t)b->n);
	}
	memcpy(o->y, a->y, sizeof(int32_t) * (size_t)a->n);
	for (int i = 0; i < b->n; i++)
		o->y[a->n + i] = map[b->y[i]];
	snprintf(o->source, sizeof o->source, "%.120s + %.120s", a->source, b->source);
out:
	free(map);
	free(names);
	free(bmap);
	thaw_vocab_free(vm);
	return o;
}

int thaw_dataset_stats(const thaw_dataset *d, float *mean, float *std)
{
	if (d->ids)
		return thaw_error(THAW_EINVAL, "%s: text data has no pixel statistics", d->source);
	/* a histogram per channel makes the sums exact and the pass cheap */
	size_t plane = (size_t)d->h * d->w;
	for (int c = 0; c < d->c; c++) {
		uint64_t hist[256] = {0};
		for (int i = 0; i < d->n; i++) {
			const uint8_t *p = d->x + ((size_t)i * d->c + c) * plane;
			for (size_t k = 0; k < plane; k++)
				hist[p[k]]++;
		}
		double s = 0, s2 = 0, cnt = (double)plane * d->n;
		for (int v = 0; v < 256; v++) {
			double x = v / 255.0;
			s += x * (double)hist[v];
			s2 += x * x * (double)hist[v];
		}
		double m = cnt > 0 ? s / cnt : 0, var = cnt > 0 ? s2 / cnt - m * m : 0;
		mean[c] = (float)m;
		std[c] = (float)(var > 0 ? sqrt(var) : 0);
	}
	return 0;
}

/* ---- SPEC */

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

/* A directory holding the MNIST family's file names. */
static thaw_dataset *mnist_dir(const char *dir, int test, int n_classes)
{
	const char *pre = test ? "t10k" : "train";
	char im[4096], lb[4096];
	snprintf(im, sizeof im, "%s/%s-images-idx3-ubyte.gz", dir, pre);
	snprintf(lb, sizeof lb, "%s/%s-labels-idx1-ubyte.gz", dir, pre);
	if (!exists(im))
		snprintf(im, sizeof im, "%s/%s-images-idx3-ubyte", dir, pre);
	if (!exists(lb))
		snprintf(lb, sizeof lb, "%s/%s-labels-idx1-ubyte", dir, pre);
	return thaw_idx_load(im, lb, n_classes);
}

const char *const thaw_fashion_mnist_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
						     "Coat",        "Sandal",  "Shirt",    "Sneaker",
						     "Bag",         "Ankle boot"};

thaw_dataset *thaw_fashion_mnist(const char *dir, int test)
{
	if (!dir)
		dir = THAW_FASHION_MNIST_DIR;
	if (!is_dir(dir)) {
		thaw_error(THAW_EIO, "%s: Fashion-MNIST not found (install Debian's dataset-fashion-mnist)",
			   dir);
		return NULL;
	}
	thaw_dataset *d = mnist_dir(dir, test, 10);
	if (!d)
		return NULL;
	thaw_dataset_set_class_names(d, thaw_fashion_mnist_classes, 10);
	snprintf(d->source, sizeof d->source, "fashion-mnist:%s", test ? "test" : "train");
	return d;
}

static thaw_dataset *open_spec(const char *spec, const thaw_image_opts *o);

thaw_dataset *thaw_dataset_open(const char *spec) { return thaw_dataset_open_opts(spec, NULL); }

/* A source that is not a folder, converted as o asks; the notes say how. */
static thaw_dataset *converted(thaw_dataset *d, const thaw_image_opts *o)
{
	if (!d || d->ids || !o || (!o->c && !o->h && !o->w))
		return d;
	thaw_input_spec want = {.c = o->c ? o->c : d->c, .h = o->h ? o->h : d->h, .w = o->w ? o->w : d->w,
				.resize = o->resize};
	if (want.c == d->c && want.h == d->h && want.w == d->w)
		return d;
	char desc[256];
	thaw_dataset *t = thaw_dataset_to_spec(d, &want, desc, sizeof desc);
	if (t) {
		thaw_sbuf b = {0};
		thaw_sbuf_printf(&b, "converted: %s", desc);
		t->notes = b.s; /* NULL when out of memory: the note is lost, not the data */
	}
	thaw_dataset_free(d);
	return t;
}

thaw_dataset *thaw_dataset_open_opts(const char *spec, const thaw_image_opts *o)
{
	return converted(open_spec(spec, o), o);
}

static thaw_dataset *open_spec(const char *spec, const thaw_image_opts *o)
{
	if (thaw_text_probe(spec))
		return thaw_text_load(spec, NULL);
	if (!strcmp(spec, "fashion-mnist") || !strcmp(spec, "fashion-mnist:train"))
		return thaw_fashion_mnist(NULL, 0);
	if (!strcmp(spec, "fashion-mnist:test"))
		return thaw_fashion_mnist(NULL, 1);
	if (!strncmp(spec, "synth", 5) && (spec[5] == 0 || spec[5] == ':')) {
		thaw_synth_opts o = thaw_synth_opts_default();
		if (spec[5] == ':') {
			char *end;
			long n = strtol(spec + 6, &end, 10);
			if (*end || n <= 0 || n > 10000000) {
				thaw_error(THAW_EINVAL, "%s: expected synth:N with N a positive count", spec);
				return NULL;
			}
			o.n = (int)n;
		}
		return thaw_synth(&o);
	}
	const char *comma = strchr(spec, ',');
	if (comma) {
		char im[4096];
		size_t k = (size_t)(comma - spec);
		if (k >= sizeof im) {
			thaw_error(THAW_EINVAL, "%s: path too long", spec);
			return NULL;
		}
		memcpy(im, spec, k);
		im[k] = 0;
		return thaw_idx_load(im, comma + 1, 0);
	}
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", spec);
	int test = 0;
	size_t L = strlen(dir);
	if (!is_dir(dir) && L > 5 && !strcmp(dir + L - 5, ":test")) {
		dir[L - 5] = 0;
		test = 1;
	} else if (!is_dir(dir) && L > 6 && !strcmp(dir + L - 6, ":train")) {
		dir[L - 6] = 0;
	}
	if (!is_dir(dir)) {
		thaw_error(THAW_EIO, "%s: no such data set (expected fashion-mnist[:test], synth[:N], a "
				     "folder or images.idx,labels.idx)",
			   spec);
		return NULL;
	}
	char probe[4200], probe2[4200];
	snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte.gz", dir);
	snprintf(probe2, sizeof probe2, "%s/train-images-idx3-ubyte", dir);
	if (exists(probe) || exists(probe2)) {
		thaw_dataset *d = mnist_dir(dir, test, 0);
		if (d)
			snprintf(d->source, sizeof d->source, "%.200s:%s", dir, test ? "test" : "train");
		return d;
	}
	if (test) {
		thaw_error(THAW_EINVAL, "%s: ':test' applies to IDX folders only", spec);
		return NULL;
	}
	thaw_image_opts def = thaw_image_opts_default();
	return thaw_folder_load_opts(dir, o ? o : &def);
}
