/* Data sets: IDX and Fashion-MNIST loading, image folders, every kind of
 * bad input (made here: truncated, flipped, bad headers), resizing on known
 * images, channel conversion, statistics, selection and splitting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "tmpdir.h"
#include "thaw/data.h"
#include "thaw/png.h"


static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* An IDX file: magic type/ndim, dims, then `bytes` of payload (or a pattern). */
static void write_idx(const char *path, int gz, int type, int ndim, const uint32_t *dims,
		      const unsigned char *data, size_t n)
{
	unsigned char hdr[4 + 16] = {0, 0, (unsigned char)type, (unsigned char)ndim};
	for (int i = 0; i < ndim; i++)
		put_be32(hdr + 4 + 4 * i, dims[i]);
	if (gz) {
		gzFile f = gzopen(path, "wb");
		gzwrite(f, hdr, 4 + 4 * (unsigned)ndim);
		if (n)
			gzwrite(f, data, (unsigned)n);
		gzclose(f);
	} else {
		FILE *f = fopen(path, "wb");
		fwrite(hdr, 1, 4 + 4 * (size_t)ndim, f);
		fwrite(data, 1, n, f);
		fclose(f);
	}
}

static long file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) ? -1 : (long)st.st_size;
}

static void truncate_to(const char *p, long n) { CHECK(truncate(p, n) == 0); }

static void flip_byte(const char *p, long at)
{
	FILE *f = fopen(p, "r+b");
	fseek(f, at, SEEK_SET);
	int b = fgetc(f);
	fseek(f, at, SEEK_SET);
	fputc(b ^ 0xff, f);
	fclose(f);
}

enum { NI = 12, IH = 4, IW = 3 };

static unsigned char *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	unsigned char *b = malloc(1 << 20);
	*n = fread(b, 1, 1 << 20, f);
	fclose(f);
	return b;
}

/* Loading the same bytes from memory gives the same data set, or fails
 * with the same message (the names given are the paths). */
static int mem_agrees(const char *im, const char *lb, int ncls)
{
	size_t ni = 0, nl = 0;
	unsigned char *bi = read_all(im, &ni), *bl = read_all(lb, &nl);
	if (!bi || !bl) {
		free(bi);
		free(bl);
		return 1; /* a missing file has no bytes to compare */
	}
	thaw_dataset *a = thaw_idx_load(im, lb, ncls);
	char msg[1024];
	snprintf(msg, sizeof msg, "%s", thaw_errmsg());
	thaw_dataset *b = thaw_idx_load_mem(bi, ni, im, bl, nl, lb, ncls);
	/* gzread reads ahead, so it may meet corrupt data while "reading the
	 * header" where memory meets it reading the images */
	const char *cut = strstr(msg, " while reading");
	size_t k = cut ? (size_t)(cut - msg) : strlen(msg) + 1;
	int same = a && b ? a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w &&
				    !memcmp(a->x, b->x, (size_t)a->n * a->c * a->h * a->w) &&
				    !memcmp(a->y, b->y, (size_t)a->n * sizeof *a->y)
			  : !a && !b && !strncmp(msg, thaw_errmsg(), k);
	if (!same)
		printf("file: %s\nmemory: %s\n", msg, thaw_errmsg());
	thaw_dataset_free(a);
	thaw_dataset_free(b);
	free(bi);
	free(bl);
	return same;
}

/* A small, valid image/label pair: image i has pixels i*10 + k. */
static void make_pair(const char *im, const char *lb, int gz)
{
	unsigned char px[NI * IH * IW], lab[NI];
	for (int i = 0; i < NI; i++) {
		lab[i] = (unsigned char)(i % 3);
		for (int k = 0; k < IH * IW; k++)
			px[i * IH * IW + k] = (unsigned char)(i * 10 + k);
	}
	uint32_t d3[3] = {NI, IH, IW}, d1[1] = {NI};
	write_idx(im, gz, 8, 3, d3, px, sizeof px);
	write_idx(lb, gz, 8, 1, d1, lab, sizeof lab);
}

static void test_idx_good(void)
{
	for (int gz = 0; gz <= 1; gz++) {
		const char *im = tpath(gz ? "im.gz" : "im.idx"), *lb = tpath(gz ? "lb.gz" : "lb.idx");
		make_pair(im, lb, gz);
		thaw_dataset *d = thaw_idx_load(im, lb, 0);
		CHECKF(d, "%s", thaw_errmsg());
		CHECK(mem_agrees(im, lb, 0));
		if (!d)
			continue;
		CHECK(d->n == NI && d->c == 1 && d->h == IH && d->w == IW && d->n_classes == 3);
		CHECK(d->x[5 * IH * IW + 7] == 57 && d->y[5] == 2);
		CHECK(!strcmp(d->class_names[2], "2"));
		thaw_dataset_free(d);
	}
	/* ndim 4 (N,H,W,C) becomes planar */
	unsigned char px[2 * 2 * 2 * 3], lab[2] = {0, 1};
	for (int i = 0; i < (int)sizeof px; i++)
		px[i] = (unsigned char)i;
	uint32_t d4[4] = {2, 2, 2, 3}, d1[1] = {2};
	write_idx(tpath("rgb.idx"), 0, 8, 4, d4, px, sizeof px);
	write_idx(tpath("rgbl.idx"), 0, 8, 1, d1, lab, 2);
	thaw_dataset *d = thaw_idx_load(tpath("rgb.idx"), tpath("rgbl.idx"), 0);
	CHECKF(d && d->c == 3, "%s", thaw_errmsg());
	if (d) /* image 1, channel 2, pixel (0,1): hwc index 12 + 1*3 + 2 */
		CHECK(thaw_dataset_image(d, 1)[2 * 4 + 1] == 17);
	thaw_dataset_free(d);
	thaw_dataset_free(NULL);
}

static void test_idx_bad(void)
{
	const char *im = tpath("b_im.idx"), *lb = tpath("b_lb.idx");
	const char *img = tpath("b_im.gz"), *lbg = tpath("b_lb.gz");
	unsigned char px[NI * IH * IW] = {0}, lab[NI] = {0};
	uint32_t d3[3] = {NI, IH, IW}, d1[1] = {NI};

#define EXPECT_FAIL(images, labels, ncls, text)                                                    \
	do {                                                                                       \
		const char *i_ = images, *l_ = labels;                                             \
		thaw_dataset *d_ = thaw_idx_load(i_, l_, ncls);                                    \
		CHECKF(!d_ && strstr(thaw_errmsg(), text), "message '%s', wanted '%s'", thaw_errmsg(), \
		       text);                                                                      \
		thaw_dataset_free(d_);                                                             \
		CHECK(mem_agrees(i_, l_, ncls));                                                   \
	} while (0)

	make_pair(im, lb, 0);
	EXPECT_FAIL(tpath("none.idx"), lb, 0, "none.idx: cannot open: No such file or directory");
	EXPECT_FAIL(im, tpath("none.idx"), 0, "none.idx: cannot open");

	/* wrong magic: the labels file given as images */
	EXPECT_FAIL(lb, lb, 0, "b_lb.idx: IDX file has 1 dimensions; image files have 3");
	unsigned char junk[64];
	memset(junk, 'x', sizeof junk);
	FILE *f = fopen(tpath("junk.idx"), "wb");
	fwrite(junk, 1, sizeof junk, f);
	fclose(f);
	EXPECT_FAIL(tpath("junk.idx"), lb, 0, "junk.idx: bad magic number 0x78787878: not an IDX image file");
	write_idx(im, 0, 0x0d, 3, d3, px, sizeof px); /* float elements */
	EXPECT_FAIL(im, lb, 0, "b_im.idx: IDX element type 0x0d is not supported");

	/* dimensions whose product overflows: refused before any allocation */
	uint32_t huge[3] = {0x7fffffff, 0x7fffffff, 0x7fffffff};
	write_idx(im, 0, 8, 3, huge, px, sizeof px);
	EXPECT_FAIL(im, lb, 0, "b_im.idx: dimensions 2147483647x2147483647x2147483647 are too large");
	uint32_t big[3] = {0xffffffff, 1, 1};
	write_idx(im, 0, 8, 3, big, px, sizeof px);
	EXPECT_FAIL(im, lb, 0, "too large");
	uint32_t zero[3] = {NI, 0, IW};
	write_idx(im, 0, 8, 3, zero, px, 0);
	EXPECT_FAIL(im, lb, 0, "a dimension is zero");
	/* a large plausible count the file does not hold */
	uint32_t lie[3] = {60000, 28, 28};
	write_idx(im, 0, 8, 3, lie, px, sizeof px);
	EXPECT_FAIL(im, lb, 0, "b_im.idx: truncated: dimensions 60000x28x28 need 47040016 bytes, the file has 160");
	write_idx(img, 1, 8, 3, lie, px, sizeof px);
	EXPECT_FAIL(img, lb, 0, "b_im.gz: truncated or corrupt: dimensions 60000x28x28");

	/* truncated plain files: header, dims, data */
	make_pair(im, lb, 0);
	long n = file_size(im);
	truncate_to(im, n - 1);
	EXPECT_FAIL(im, lb, 0, "b_im.idx: truncated");
	truncate_to(im, 6);
	EXPECT_FAIL(im, lb, 0, "b_im.idx: truncated file while reading the dimensions");
	truncate_to(im, 0);
	EXPECT_FAIL(im, lb, 0, "b_im.idx: truncated file while reading the header");
	make_pair(im, lb, 0);
	f = fopen(im, "ab");
	fputc(1, f);
	fclose(f);
	EXPECT_FAIL(im, lb, 0, "b_im.idx: dimensions 12x4x3 need 160 bytes, the file has 161 (trailing data)");

	/* gzip'd: truncated, flipped in the deflate stream, flipped in the CRC */
	make_pair(img, lbg, 1);
	n = file_size(img);
	truncate_to(img, n - 6);
	EXPECT_FAIL(img, lbg, 0, "b_im.gz: truncated or corrupt");
	truncate_to(img, 10);
	EXPECT_FAIL(img, lbg, 0, "b_im.gz: truncated gzip file");
	make_pair(img, lbg, 1);
	flip_byte(img, n / 2);
	EXPECT_FAIL(img, lbg, 0, "b_im.gz: corrupt gzip data");
	make_pair(img, lbg, 1);
	flip_byte(img, n - 6); /* CRC-32 of the data */
	EXPECT_FAIL(img, lbg, 0, "b_im.gz: corrupt gzip data");

	/* labels: count mismatch, out of range */
	make_pair(im, lb, 0);
	uint32_t d11[1] = {NI - 1};
	write_idx(lb, 0, 8, 1, d11, lab, NI - 1);
	EXPECT_FAIL(im, lb, 0, "b_lb.idx: 11 labels, but");
	EXPECT_FAIL(im, lb, 0, "b_im.idx has 12 images");
	lab[7] = 10;
	write_idx(lb, 0, 8, 1, d1, lab, NI);
	EXPECT_FAIL(im, lb, 10, "b_lb.idx: label 10 of image 7 is out of range 0..9");
#undef EXPECT_FAIL
}

static void test_fashion_mnist(void)
{
	thaw_dataset *d = thaw_dataset_open("fashion-mnist");
	CHECKF(d, "%s", thaw_errmsg());
	if (!d)
		return;
	int cnt[10];
	CHECK(d->n == 60000 && d->c == 1 && d->h == 28 && d->w == 28 && d->n_classes == 10);
	thaw_dataset_class_counts(d, cnt);
	int all = 1;
	for (int k = 0; k < 10; k++)
		all &= cnt[k] == 6000;
	CHECK(all);
	CHECK(!strcmp(d->class_names[0], "T-shirt/top") && !strcmp(d->class_names[9], "Ankle boot"));
	CHECK(d->y[0] == 9); /* the first training image is an ankle boot */
	size_t bytes = thaw_dataset_bytes(d);
	CHECKF(bytes <= 50u * 1000 * 1000, "%zu bytes", bytes);
	printf("fashion_mnist_train_bytes %zu (%.1f MB)\n", bytes, (double)bytes / 1e6);
	float mean, sd;
	thaw_dataset_stats(d, &mean, &sd);
	CHECK_NEAR(mean, 0.2860, 1e-3);
	CHECK_NEAR(sd, 0.3530, 1e-3);
	thaw_dataset_free(d);

	d = thaw_dataset_open("fashion-mnist:test");
	CHECKF(d && d->n == 10000, "%s", thaw_errmsg());
	if (d) {
		thaw_dataset_class_counts(d, cnt);
		all = 1;
		for (int k = 0; k < 10; k++)
			all &= cnt[k] == 1000;
		CHECK(all);
		CHECK(!strcmp(d->source, "fashion-mnist:test"));
	}
	thaw_dataset_free(d);
	thaw_dataset *e = thaw_fashion_mnist(tpath("nowhere"), 0);
	CHECK(!e && strstr(thaw_errmsg(), "nowhere: Fashion-MNIST not found"));
	e = thaw_dataset_open("no-such-thing");
	CHECK(!e && strstr(thaw_errmsg(), "no-such-thing: no such data set"));
}

static void test_resize_known(void)
{
	float tmp[1024];
	/* 4x4 -> 2x2 area: block means */
	uint8_t a[16] = {0, 10, 100, 110, 20, 30, 120, 130, 200, 200, 0, 4, 200, 200, 8, 12}, o[64];
	thaw_resize_plane(o, 2, 2, a, 4, 4, tmp);
	CHECK(o[0] == 15 && o[1] == 115 && o[2] == 200 && o[3] == 6);
	/* 1x2 -> 1x4 bilinear, centres aligned: 0, 25, 75, 100 */
	uint8_t b[2] = {0, 100};
	thaw_resize_plane(o, 1, 4, b, 1, 2, tmp);
	CHECK(o[0] == 0 && o[1] == 25 && o[2] == 75 && o[3] == 100);
	/* 1x3 -> 1x2 area with fractional cover: (0 + 90/2)/1.5, (90/2 + 180)/1.5 */
	uint8_t c[3] = {0, 90, 180};
	thaw_resize_plane(o, 1, 2, c, 1, 3, tmp);
	CHECK(o[0] == 30 && o[1] == 150);
	/* a constant image stays constant through mixed shrink/grow */
	uint8_t k[35];
	memset(k, 77, sizeof k);
	thaw_resize_plane(o, 3, 11, k, 7, 5, tmp);
	int same = 1;
	for (int i = 0; i < 33; i++)
		same &= o[i] == 77;
	CHECK(same);
	/* same size: identity */
	thaw_resize_plane(o, 4, 4, a, 4, 4, tmp);
	CHECK(!memcmp(o, a, 16));
}

static void test_channels_and_spec(void)
{
	thaw_dataset *d = thaw_dataset_new(2, 1, 28, 28, 2);
	for (size_t i = 0; i < 2 * 28 * 28; i++)
		d->x[i] = (uint8_t)(i % 251);
	d->y[1] = 1;
	thaw_input_spec spec = {.c = 3, .h = 32, .w = 32};
	char desc[128];
	thaw_dataset *s = thaw_dataset_to_spec(d, &spec, desc, sizeof desc);
	CHECKF(s && !strcmp(desc, "resized 28x28 -> 32x32, gray -> RGB"), "'%s'", desc);
	if (s) {
		CHECK(s->c == 3 && s->h == 32 && s->w == 32 && s->n == 2 && s->y[1] == 1);
		size_t p = 32 * 32;
		CHECK(!memcmp(s->x, s->x + p, p) && !memcmp(s->x, s->x + 2 * p, p));
	}
	thaw_input_spec same = {.c = 1, .h = 28, .w = 28};
	thaw_dataset *u = thaw_dataset_to_spec(d, &same, desc, sizeof desc);
	CHECKF(u && !strcmp(desc, "unchanged (1x28x28)") && !memcmp(u->x, d->x, 2 * 28 * 28), "'%s'", desc);
	thaw_input_spec back = {.c = 1, .h = 14, .w = 14};
	thaw_dataset *g = s ? thaw_dataset_to_spec(s, &back, desc, sizeof desc) : NULL;
	CHECKF(g && !strcmp(desc, "resized 32x32 -> 14x14, RGB -> gray") && g->c == 1, "'%s'", desc);
	thaw_dataset_free(s);
	thaw_dataset_free(u);
	thaw_dataset_free(g);
	thaw_dataset_free(d);

	/* luma of pure red, green, blue */
	thaw_dataset *rgb = thaw_dataset_new(3, 3, 1, 1, 1);
	for (int i = 0; i < 3; i++)
		rgb->x[i * 3 + i] = 255;
	thaw_dataset *gr = thaw_dataset_channels(rgb, 1);
	CHECK(gr && gr->x[0] == 76 && gr->x[1] == 150 && gr->x[2] == 29);
	thaw_dataset *bad = thaw_dataset_channels(rgb, 2);
	CHECK(!bad && strstr(thaw_errmsg(), "cannot convert 3 channels to 2"));
	thaw_dataset_free(gr);
	thaw_dataset_free(rgb);
}

static void test_stats(void)
{
	thaw_dataset *d = thaw_dataset_new(2, 2, 1, 2, 1);
	uint8_t v[8] = {0, 255, 51, 51, 255, 0, 51, 51};
	memcpy(d->x, v, 8);
	float m[2], s[2];
	thaw_dataset_stats(d, m, s);
	CHECK_NEAR(m[0], 0.5, 1e-6);
	CHECK_NEAR(s[0], 0.5, 1e-6);
	CHECK_NEAR(m[1], 0.2, 1e-6);
	CHECK_NEAR(s[1], 0.0, 1e-6);
	thaw_dataset_free(d);
}

/* n images, image i carries i in its first two pixels, class i % k. */
static thaw_dataset *indexed(int n, int k)
{
	thaw_dataset *d = thaw_dataset_new(n, 1, 2, 2, k);
	for (int i = 0; i < n; i++) {
		d->x[i * 4] = (uint8_t)(i & 255);
		d->x[i * 4 + 1] = (uint8_t)(i >> 8);
		d->y[i] = i % k;
	}
	return d;
}
static int id_of(const thaw_dataset *d, int i) { return d->x[i * 4] | d->x[i * 4 + 1] << 8; }

static void test_selection(void)
{
	thaw_dataset *d = indexed(1000, 10);
	char nm[10][16];
	const char *names[10];
	for (int k = 0; k < 10; k++)
		snprintf(nm[k], sizeof nm[k], "c%d", k), names[k] = nm[k];
	thaw_dataset_set_class_names(d, names, 10);

	int keep[3] = {7, 5, 6};
	thaw_dataset *s = thaw_dataset_select_classes(d, keep, 3);
	CHECK(s && s->n == 300 && s->n_classes == 3);
	if (s) {
		CHECK(!strcmp(s->class_names[0], "c7") && !strcmp(s->class_names[2], "c6"));
		int ok = 1;
		for (int i = 0; i < s->n; i++)
			ok &= keep[s->y[i]] == id_of(s, i) % 10;
		CHECK(ok);
	}
	int dup[2] = {5, 5}, out[1] = {10};
	thaw_dataset *e = thaw_dataset_select_classes(d, dup, 2);
	CHECK(!e && strstr(thaw_errmsg(), "class 5 given twice"));
	e = thaw_dataset_select_classes(d, out, 1);
	CHECK(!e && strstr(thaw_errmsg(), "class 10 out of range 0..9"));

	thaw_dataset *p1 = thaw_dataset_per_class(d, 7, 42), *p2 = thaw_dataset_per_class(d, 7, 42);
	thaw_dataset *p3 = thaw_dataset_per_class(d, 7, 43);
	CHECK(p1 && p2 && p3 && p1->n == 70);
	if (p1 && p2 && p3) {
		int cnt[10];
		thaw_dataset_class_counts(p1, cnt);
		int ok = 1;
		for (int k = 0; k < 10; k++)
			ok &= cnt[k] == 7;
		CHECK(ok);
		CHECK(!memcmp(p1->x, p2->x, 70 * 4));
		CHECK(memcmp(p1->x, p3->x, 70 * 4) != 0);
	}
	e = thaw_dataset_per_class(d, 101, 1);
	CHECK(!e && strstr(thaw_errmsg(), "class 0 (c0) has 100 images, fewer than 101"));

	thaw_dataset *tr, *va;
	CHECK_OK(thaw_dataset_split(d, 0.2f, 9, &tr, &va));
	if (tr && va) {
		int ct[10], cv[10], seen[1000] = {0}, ok = 1;
		thaw_dataset_class_counts(tr, ct);
		thaw_dataset_class_counts(va, cv);
		for (int k = 0; k < 10; k++)
			ok &= ct[k] == 80 && cv[k] == 20;
		CHECK(ok);
		for (int i = 0; i < tr->n; i++)
			seen[id_of(tr, i)]++;
		for (int i = 0; i < va->n; i++)
			seen[id_of(va, i)]++;
		ok = 1;
		for (int i = 0; i < 1000; i++)
			ok &= seen[i] == 1;
		CHECK(ok); /* disjoint, and together everything */
	}
	thaw_dataset_free(tr);
	thaw_dataset_free(va);
	CHECK_ERR(thaw_dataset_split(d, 1.5f, 9, &tr, &va), "not in [0, 1]");
	CHECK(!tr && !va);

	/* join matches classes by name */
	thaw_dataset *a = indexed(4, 2), *b = indexed(6, 3);
	const char *na[2] = {"cat", "dog"}, *nb[3] = {"dog", "eel", "cat"};
	thaw_dataset_set_class_names(a, na, 2);
	thaw_dataset_set_class_names(b, nb, 3);
	thaw_dataset *j = thaw_dataset_join(a, b);
	CHECK(j && j->n == 10 && j->n_classes == 3 && !strcmp(j->class_names[2], "eel"));
	if (j) /* b's image 1 was "eel", image 2 "cat" */
		CHECK(j->y[4 + 0] == 1 && j->y[4 + 1] == 2 && j->y[4 + 2] == 0 && id_of(j, 5) == 1);
	thaw_dataset *big = thaw_dataset_new(1, 1, 3, 3, 1);
	e = thaw_dataset_join(a, big);
	CHECK(!e && strstr(thaw_errmsg(), "join: images 1x2x2 and 1x3x3 differ"));
	thaw_dataset_free(big);
	thaw_dataset_free(a);
	thaw_dataset_free(b);
	thaw_dataset_free(j);
	thaw_dataset_free(p1);
	thaw_dataset_free(p2);
	thaw_dataset_free(p3);
	thaw_dataset_free(s);
	thaw_dataset_free(d);
}

static void test_synth(void)
{
	thaw_synth_opts o = thaw_synth_opts_default();
	o.n = 200, o.c = 3, o.h = 16, o.w = 20, o.classes = 4, o.seed = 5;
	thaw_dataset *a = thaw_synth(&o), *b = thaw_synth(&o);
	o.seed = 6;
	thaw_dataset *c = thaw_synth(&o);
	CHECK(a && b && c && a->n == 200 && a->c == 3 && a->h == 16 && a->w == 20 && a->n_classes == 4);
	if (a && b && c) {
		size_t bytes = (size_t)200 * 3 * 16 * 20;
		CHECK(!memcmp(a->x, b->x, bytes) && !memcmp(a->y, b->y, 200 * sizeof(int32_t)));
		CHECK(memcmp(a->x, c->x, bytes) != 0);
		int cnt[4];
		thaw_dataset_class_counts(a, cnt);
		CHECK(cnt[0] == 50 && cnt[3] == 50);
		CHECK(!strcmp(a->class_names[1], "pair-0deg") && !strcmp(a->class_names[2], "bar-90deg"));
	}
	o.h = 4;
	thaw_dataset *e = thaw_synth(&o);
	CHECK(!e && strstr(thaw_errmsg(), "synth: "));
	thaw_dataset_free(a);
	thaw_dataset_free(b);
	thaw_dataset_free(c);
}

static void write_gray(const char *path, int h, int w, uint8_t v)
{
	uint8_t *p = malloc((size_t)h * w);
	memset(p, v, (size_t)h * w);
	CHECK_OK(thaw_png_write(path, p, 1, h, w));
	free(p);
}

static void test_folder(void)
{
	char root[512], sub[600];
	snprintf(root, sizeof root, "%s/imgs", dir);
	mkdir(root, 0755);
	thaw_dataset *d = thaw_folder_load(root, 0, 0, 0);
	CHECKF(!d && strstr(thaw_errmsg(), "imgs: no class folders"), "%s", thaw_errmsg());
	snprintf(sub, sizeof sub, "%s/zebra", root);
	mkdir(sub, 0755);
	snprintf(sub, sizeof sub, "%s/apple", root);
	mkdir(sub, 0755);
	d = thaw_folder_load(root, 0, 0, 0);
	CHECKF(!d && strstr(thaw_errmsg(), "imgs/apple: class folder holds no PNG or JPEG images"), "%s",
	       thaw_errmsg());
	/* apple: one 8x8 gray and one 4x4 RGB; zebra: a 16x16 gray, a note */
	write_gray(tpath("imgs/apple/a1.png"), 8, 8, 200);
	uint8_t rgb[3 * 16];
	memset(rgb, 0, sizeof rgb);
	memset(rgb, 255, 16); /* pure red */
	CHECK_OK(thaw_png_write(tpath("imgs/apple/a2.PNG"), rgb, 3, 4, 4));
	write_gray(tpath("imgs/zebra/z1.png"), 16, 16, 10);
	FILE *f = fopen(tpath("imgs/zebra/readme.txt"), "w");
	fputs("not an image", f);
	fclose(f);
	d = thaw_folder_load(root, 0, 0, 0);
	CHECKF(d, "%s", thaw_errmsg());
	if (d) {
		CHECK(d->n == 3 && d->n_classes == 2 && d->c == 3 && d->h == 8 && d->w == 8);
		CHECK(!strcmp(d->class_names[0], "apple") && !strcmp(d->class_names[1], "zebra"));
		CHECK(d->y[0] == 0 && d->y[1] == 0 && d->y[2] == 1);
		const uint8_t *r = thaw_dataset_image(d, 1); /* the red one, grown to 8x8 */
		CHECK(r[0] == 255 && r[64 + 5] == 0 && r[128 + 63] == 0);
		CHECK(thaw_dataset_image(d, 2)[100] == 10 && thaw_dataset_image(d, 0)[191] == 200);
	}
	thaw_dataset_free(d);
	d = thaw_folder_load(root, 1, 5, 6);
	CHECK(d && d->c == 1 && d->h == 5 && d->w == 6 && thaw_dataset_image(d, 1)[0] == 76);
	thaw_dataset_free(d);
	d = thaw_dataset_open(root);
	CHECK(d && d->n == 3);
	thaw_dataset_free(d);

	/* one corrupt image spoils the load, and the message names it */
	FILE *g = fopen(tpath("imgs/zebra/z2.png"), "wb");
	fputs("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", g);
	fclose(g);
	d = thaw_folder_load(root, 0, 0, 0);
	CHECKF(!d && strstr(thaw_errmsg(), "imgs/zebra/z2.png: truncated file"), "%s", thaw_errmsg());
	if (geteuid() != 0) { /* root reads anything */
		remove(tpath("imgs/zebra/z2.png"));
		chmod(tpath("imgs/zebra/z1.png"), 0);
		d = thaw_folder_load(root, 0, 0, 0);
		CHECKF(!d && strstr(thaw_errmsg(), "z1.png: cannot open: Permission denied"), "%s",
		       thaw_errmsg());
		chmod(tpath("imgs/zebra/z1.png"), 0644);
	}
}

static void test_grid(void)
{
	thaw_synth_opts o = thaw_synth_opts_default();
	o.n = 100, o.classes = 5;
	thaw_dataset *d = thaw_synth(&o);
	const char *p = tpath("grid.png");
	CHECK_OK(thaw_dataset_grid_png(d, p, 6, 1));
	uint8_t *px;
	int c, h, w;
	CHECK_OK(thaw_png_read(p, &px, &c, &h, &w));
	/* five rows of 28+2 pixels, label column then six cells */
	CHECK(c == 1 && h == 5 * 30 + 2 && w == 14 * 6 + 4 + 6 * 30 + 2);
	{
		/* the label area of row 0 holds white text pixels */
		int white = 0;
		for (int y = 2; y < 30; y++)
			for (int x = 0; x < 88; x++)
				white += px[y * w + x] == 255;
		CHECK(white > 20);
	}
	free(px);
	CHECK_ERR(thaw_dataset_grid_png(d, tpath("nodir/grid.png"), 6, 1), "nodir/grid.png: cannot create");
	thaw_dataset_free(d);
}

/* The exported folder "00-T-shirt-top" is the model's "T-shirt/top". */
static void test_class_names_same(void)
{
	CHECK(thaw_class_name_same("Sandal", "Sandal", 6));
	CHECK(thaw_class_name_same("05-Sandal", "Sandal", 6));
	CHECK(thaw_class_name_same("sandal", "05-Sandal", 9));
	CHECK(thaw_class_name_same("00-T-shirt-top", "T-shirt/top", 11));
	CHECK(thaw_class_name_same("Sandal", "Sandal,Shirt", 6)); /* a slice of a list */
	CHECK(!thaw_class_name_same("Sandal", "Sandals", 7));
	CHECK(!thaw_class_name_same("05-Sandal", "06-Shirt", 8));
	CHECK(!thaw_class_name_same("5", "05", 2));
	CHECK(!thaw_class_name_same("-Sandal", "Sandal", 6)); /* no digits: no prefix */
}

int main(void)
{
	if (tmpdir_make("thaw_data") < 0)
		return 2;
	RUN(test_idx_good);
	RUN(test_idx_bad);
	RUN(test_fashion_mnist);
	RUN(test_resize_known);
	RUN(test_channels_and_spec);
	RUN(test_stats);
	RUN(test_selection);
	RUN(test_synth);
	RUN(test_folder);
	RUN(test_grid);
	RUN(test_class_names_same);
	tmpdir_remove();
	return check_done();
}
