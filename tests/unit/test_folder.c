/* Image folders as users have them: PNG and JPEG under any-case extensions,
 * stray files reported (never dropped silently), corrupt images failing
 * with their name or skipped and listed, the three resize policies, the
 * same bytes on any thread count, and the policy carried by a model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "tmpdir.h"
#include "thaw/data.h"
#include "thaw/image.h"
#include "thaw/model.h"
#include "thaw/modelfile.h"
#include "thaw/png.h"

static void write_text(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	fputs(s, f);
	fclose(f);
}

static void flat(uint8_t *px, int c, int h, int w, const uint8_t *rgb)
{
	for (int ch = 0; ch < c; ch++)
		memset(px + (size_t)ch * h * w, rgb[ch], (size_t)h * w);
}

static int near(int a, int b, int tol) { return abs(a - b) <= tol; }

static void test_mixed_formats(void)
{
	mkdir(tpath("mix"), 0755);
	mkdir(tpath("mix/cat"), 0755);
	mkdir(tpath("mix/dog"), 0755);
	uint8_t px[3 * 16 * 16];
	flat(px, 1, 16, 16, (const uint8_t[]){40});
	CHECK_OK(thaw_png_write(tpath("mix/cat/a.PNG"), px, 1, 16, 16));
	flat(px, 3, 16, 16, (const uint8_t[]){200, 100, 50});
	CHECK_OK(thaw_jpeg_write(tpath("mix/cat/b.JPG"), px, 3, 16, 16, 95, 0));
	CHECK_OK(thaw_jpeg_write(tpath("mix/cat/c.Jpeg"), px, 3, 16, 16, 95, 1));
	flat(px, 1, 16, 16, (const uint8_t[]){220});
	CHECK_OK(thaw_jpeg_write(tpath("mix/dog/d.jpg"), px, 1, 16, 16, 95, 0));
	CHECK_OK(thaw_png_write(tpath("mix/dog/e.png"), px, 1, 16, 16));
	write_text(tpath("mix/cat/notes.txt"), "bought in May\n");
	write_text(tpath("mix/README"), "my photos\n");
	write_text(tpath("mix/dog/.hidden"), "x"); /* hidden entries are not files a user meant */
	thaw_dataset *d = thaw_folder_load(tpath("mix"), 0, 0, 0);
	CHECKF(d, "%s", thaw_errmsg());
	if (!d)
		return;
	CHECK(d->n == 5 && d->c == 3 && d->h == 16 && d->w == 16 && d->n_classes == 2);
	CHECK(d->y[0] == 0 && d->y[2] == 0 && d->y[3] == 1 && d->y[4] == 1);
	const uint8_t *a = thaw_dataset_image(d, 0), *b = thaw_dataset_image(d, 1),
		      *c = thaw_dataset_image(d, 2);
	CHECK(a[0] == 40 && a[256] == 40 && a[512 + 255] == 40); /* gray -> RGB */
	CHECK(near(b[0], 200, 4) && near(b[256], 100, 4) && near(b[512], 50, 4));
	CHECK(near(c[100], 200, 4) && near(c[256 + 100], 100, 4));
	CHECK(near(thaw_dataset_image(d, 3)[7], 220, 3));
	CHECKF(d->notes && !strcmp(d->notes, "skipped 1 file outside the class folders (README)\n"
					     "skipped 1 file that is not PNG or JPEG (cat/notes.txt)\n"
					     "converted 3 gray images to RGB"),
	       "notes: %s", d->notes ? d->notes : "(none)");
	/* notes travel with a clone */
	thaw_dataset *e = thaw_dataset_clone(d);
	CHECK(e && e->notes && !strcmp(e->notes, d->notes));
	thaw_dataset_free(e);
	thaw_dataset_free(d);
	/* through a SPEC too, and as gray */
	thaw_image_opts o = thaw_image_opts_default();
	o.c = 1, o.h = 8, o.w = 8;
	d = thaw_dataset_open_opts(tpath("mix"), &o);
	CHECK(d && d->c == 1 && d->h == 8 && d->n == 5 && d->notes);
	thaw_dataset_free(d);
	/* an empty class folder */
	mkdir(tpath("mix/empty"), 0755);
	write_text(tpath("mix/empty/list.csv"), "a,b\n");
	d = thaw_folder_load(tpath("mix"), 0, 0, 0);
	CHECKF(!d && strstr(thaw_errmsg(), "mix/empty: class folder holds no PNG or JPEG images"), "%s",
	       thaw_errmsg());
}

/* A 30x90 RGB image: left third red, middle green, right third blue. */
static void thirds(uint8_t *px)
{
	memset(px, 0, 3 * 30 * 90);
	for (int y = 0; y < 30; y++)
		for (int x = 0; x < 90; x++)
			px[(size_t)(x / 30) * 30 * 90 + (size_t)y * 90 + x] = 255;
}

static void test_resize_policies(void)
{
	mkdir(tpath("wide"), 0755);
	mkdir(tpath("wide/w"), 0755);
	uint8_t px[3 * 30 * 90];
	thirds(px);
	CHECK_OK(thaw_png_write(tpath("wide/w/1.png"), px, 3, 30, 90));
	/* a tall one in the same folder: 60x20, all white */
	uint8_t tall[3 * 60 * 20];
	memset(tall, 255, sizeof tall);
	CHECK_OK(thaw_png_write(tpath("wide/w/2.png"), tall, 3, 60, 20));
	thaw_image_opts o = thaw_image_opts_default();
	o.h = 30, o.w = 30;
	for (int m = 0; m < 3; m++) {
		o.resize = (thaw_resize_mode)m;
		thaw_dataset *d = thaw_folder_load_opts(tpath("wide"), &o);
		CHECKF(d, "%s: %s", thaw_resize_mode_name(o.resize), thaw_errmsg());
		if (!d)
			continue;
		CHECK(d->n == 2 && d->c == 3 && d->h == 30 && d->w == 30);
		/* the notes say what was done to the images, and how */
		char want[128];
		snprintf(want, sizeof want, "fitted 2 of 2 images (60x20 ... 30x90) to 30x30 (%s)",
			 thaw_resize_mode_name(o.resize));
		CHECKF(d->notes && !strcmp(d->notes, want), "notes: %s", d->notes ? d->notes : "(none)");
		const uint8_t *r = thaw_dataset_image(d, 0), *g = r + 900, *b = r + 1800;
		const uint8_t *t = thaw_dataset_image(d, 1);
#define AT(p, y, x) (p)[(y) * 30 + (x)]
		if (m == THAW_RESIZE_STRETCH) {
			/* squeezed: a third each, full height */
			CHECK(AT(r, 15, 2) == 255 && AT(g, 15, 2) == 0);
			CHECK(AT(g, 15, 15) == 255 && AT(b, 15, 27) == 255 && AT(r, 0, 2) == 255);
			CHECK(AT(t, 0, 0) == 255 && AT(t, 29, 29) == 255);
		} else if (m == THAW_RESIZE_CROP) {
			/* the centre 30x30 is all green: the red third is gone */
			int green = 1;
			for (int y = 0; y < 30; y++)
				for (int x = 0; x < 30; x++)
					green &= AT(r, y, x) == 0 && AT(g, y, x) == 255 && AT(b, y, x) == 0;
			CHECK(green);
			CHECK(AT(t, 0, 0) == 255 && AT(t, 29, 29) == 255); /* white stays white */
		} else {
			/* fitted into 10x30 rows 10..19, black bars above and below */
			CHECK(AT(r, 0, 2) == 0 && AT(g, 0, 15) == 0 && AT(b, 9, 27) == 0);
			CHECK(AT(r, 29, 2) == 0 && AT(b, 20, 27) == 0);
			CHECK(AT(r, 15, 2) == 255 && AT(g, 15, 15) == 255 && AT(b, 15, 27) == 255);
			CHECK(AT(r, 10, 0) == 255 && AT(b, 19, 29) == 255);
			/* the tall one: 30x10 in columns 10..19, bars left and right */
			CHECK(AT(t, 15, 9) == 0 && AT(t, 15, 20) == 0 && AT(t, 0, 10) == 255 && AT(t, 29, 19) == 255);
		}
#undef AT
		thaw_dataset_free(d);
	}
	/* a JPEG photo of the same under crop: DCT-scaled or not, the left
	 * column is green */
	thirds(px);
	CHECK_OK(thaw_jpeg_write(tpath("wide/w/1.png"), px, 3, 30, 90, 95, 0)); /* named .png: bytes decide */
	o.resize = THAW_RESIZE_CROP, o.h = 15, o.w = 15;
	thaw_dataset *d = thaw_folder_load_opts(tpath("wide"), &o);
	CHECKF(d && d->h == 15, "%s", thaw_errmsg());
	if (d) {
		const uint8_t *r = thaw_dataset_image(d, 0);
		CHECK(r[7 * 15] < 40 && r[225 + 7 * 15] > 215);
	}
	thaw_dataset_free(d);

	/* the policy set on a data set already loaded */
	thaw_dataset *src = thaw_dataset_new(1, 3, 30, 90, 1);
	thirds(src->x);
	thaw_input_spec spec = {.c = 3, .h = 30, .w = 30, .resize = THAW_RESIZE_PAD};
	char desc[128];
	thaw_dataset *p = thaw_dataset_to_spec(src, &spec, desc, sizeof desc);
	CHECKF(p && !strcmp(desc, "padded 30x90 -> 30x30"), "%s", desc);
	CHECK(p && p->x[0] == 0 && p->x[15 * 30 + 2] == 255);
	thaw_dataset_free(p);
	spec.resize = THAW_RESIZE_CROP;
	p = thaw_dataset_to_spec(src, &spec, desc, sizeof desc);
	CHECKF(p && !strcmp(desc, "cropped 30x90 -> 30x30"), "%s", desc);
	CHECK(p && p->x[15 * 30 + 2] == 0 && p->x[900 + 15 * 30 + 2] == 255);
	thaw_dataset_free(p);
	thaw_dataset_free(src);

	thaw_resize_mode m;
	CHECK(thaw_resize_mode_parse("crop", &m) == 0 && m == THAW_RESIZE_CROP);
	CHECK(thaw_resize_mode_parse("pad", &m) == 0 && m == THAW_RESIZE_PAD);
	CHECK(thaw_resize_mode_parse("stretch", &m) == 0 && m == THAW_RESIZE_STRETCH);
	CHECK_ERR(thaw_resize_mode_parse("squash", &m), "expected stretch, crop or pad");
	CHECK(!strcmp(thaw_resize_mode_name(THAW_RESIZE_PAD), "pad"));
}

static void test_bad_images(void)
{
	mkdir(tpath("bad"), 0755);
	mkdir(tpath("bad/a"), 0755);
	mkdir(tpath("bad/b"), 0755);
	uint8_t px[3 * 64 * 64];
	for (size_t i = 0; i < sizeof px; i++)
		px[i] = (uint8_t)(i * 7 + i / 64);
	CHECK_OK(thaw_jpeg_write(tpath("bad/a/1.jpg"), px, 3, 64, 64, 90, 0));
	CHECK_OK(thaw_jpeg_write(tpath("bad/a/3.jpg"), px, 3, 64, 64, 90, 0));
	CHECK_OK(thaw_png_write(tpath("bad/b/4.png"), px, 3, 64, 64));
	/* a/2.jpg: cut short (its header reads fine; decoding fails) */
	FILE *f = fopen(tpath("bad/a/1.jpg"), "rb");
	unsigned char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	f = fopen(tpath("bad/a/2.jpg"), "wb");
	fwrite(buf, 1, n / 2, f);
	fclose(f);
	thaw_dataset *d = thaw_folder_load(tpath("bad"), 0, 0, 0);
	CHECKF(!d && strstr(thaw_errmsg(), "bad/a/2.jpg: Premature end of JPEG file"), "%s", thaw_errmsg());
	/* b/5.jpeg: not an image at all; headers are all read before any
	 * pixels, so its failure is the one reported */
	write_text(tpath("bad/b/5.jpeg"), "<html>404</html>");
	d = thaw_folder_load(tpath("bad"), 0, 0, 0);
	CHECKF(!d && strstr(thaw_errmsg(), "bad/b/5.jpeg: not a PNG or JPEG file"), "%s", thaw_errmsg());
	thaw_image_opts o = thaw_image_opts_default();
	o.skip_bad = 1;
	for (int threads = 1; threads <= 3; threads += 2) {
		o.threads = threads;
		d = thaw_folder_load_opts(tpath("bad"), &o);
		CHECKF(d, "%s", thaw_errmsg());
		if (!d)
			continue;
		CHECK(d->n == 3 && d->y[0] == 0 && d->y[1] == 0 && d->y[2] == 1);
		CHECKF(d->notes && strstr(d->notes, "skipped unreadable image a/2.jpg: Premature end of JPEG file") &&
			       strstr(d->notes, "skipped unreadable image b/5.jpeg: not a PNG or JPEG file"),
		       "notes: %s", d->notes ? d->notes : "(none)");
		/* the images kept are the good ones, in order */
		uint8_t *q;
		int c, h, w;
		CHECK_OK(thaw_image_read(tpath("bad/b/4.png"), 0, 0, &q, &c, &h, &w));
		CHECK(q && !memcmp(q, thaw_dataset_image(d, 2), sizeof px));
		free(q);
		thaw_dataset_free(d);
	}
	/* a class left with nothing readable */
	remove(tpath("bad/b/4.png"));
	d = thaw_folder_load_opts(tpath("bad"), &o);
	CHECKF(!d && strstr(thaw_errmsg(), "bad/b: no readable PNG or JPEG images"), "%s", thaw_errmsg());
}

typedef struct prog {
	int calls, last, total, backwards;
} prog;
static void on_progress(int done, int total, void *user)
{
	prog *p = user;
	p->calls++;
	p->backwards |= done < p->last;
	p->last = done, p->total = total;
}

static void test_threads_deterministic(void)
{
	mkdir(tpath("many"), 0755);
	char path[64];
	uint64_t s = 12345;
	for (int k = 0; k < 3; k++) {
		snprintf(path, sizeof path, "many/class%d", k);
		mkdir(tpath(path), 0755);
		for (int i = 0; i < 20; i++) {
			int h = 20 + (i * 7) % 50, w = 20 + (i * 13) % 60, c = i % 4 ? 3 : 1;
			uint8_t *px = malloc((size_t)c * h * w);
			for (int j = 0; j < c * h * w; j++) {
				s = s * 6364136223846793005ull + 1442695040888963407ull;
				px[j] = (uint8_t)((j % w) * 3 + (s >> 60));
			}
			snprintf(path, sizeof path, "many/class%d/img%02d.%s", k, i, i % 3 ? "jpg" : "png");
			if (i % 3)
				CHECK_OK(thaw_jpeg_write(tpath(path), px, c, h, w, 85, i % 2));
			else
				CHECK_OK(thaw_png_write(tpath(path), px, c, h, w));
			free(px);
		}
	}
	thaw_dataset *ref = NULL;
	for (int t = 1; t <= 4; t++) {
		for (int m = 0; m < 3; m++) {
			thaw_image_opts o = thaw_image_opts_default();
			o.h = 24, o.w = 32, o.threads = t, o.resize = (thaw_resize_mode)m;
			prog p = {0};
			o.progress = on_progress, o.user = &p;
			thaw_dataset *d = thaw_folder_load_opts(tpath("many"), &o);
			CHECKF(d && d->n == 60 && d->c == 3, "%s", thaw_errmsg());
			CHECKF(p.calls > 0 && p.last == 60 && p.total == 60 && !p.backwards,
			       "threads %d: %d calls, last %d of %d", t, p.calls, p.last, p.total);
			if (m == 0 && t == 1) {
				ref = d;
				continue;
			}
			if (m == 0 && d && ref)
				CHECKF(!memcmp(d->x, ref->x, (size_t)60 * 3 * 24 * 32) &&
					       !memcmp(d->y, ref->y, 60 * sizeof *d->y),
				       "threads %d differ from 1 thread", t);
			thaw_dataset_free(d);
		}
	}
	thaw_dataset_free(ref);
}

static void test_model_carries_policy(void)
{
	thaw_model *m = thaw_model_new(3, 8, 8, 1);
	thaw_attrs fl = thaw_attrs_default(THAW_FLATTEN);
	CHECK(m && thaw_model_add(m, "flat", &fl, NULL, 0) >= 0);
	CHECK(m->input.resize == THAW_RESIZE_STRETCH);
	m->input.resize = THAW_RESIZE_CROP;
	CHECK_OK(thaw_model_save(m, tpath("m.thaw"), NULL));
	thaw_model *m2 = thaw_model_load(tpath("m.thaw"), NULL);
	CHECKF(m2 && m2->input.resize == THAW_RESIZE_CROP, "%s", thaw_errmsg());
	thaw_image_opts o = thaw_image_opts_default();
	if (m2)
		thaw_image_opts_from_spec(&o, &m2->input);
	CHECK(o.c == 3 && o.h == 8 && o.w == 8 && o.resize == THAW_RESIZE_CROP);
	thaw_model_free(m2);
	/* stretch is the default and is not written: files stay as before */
	m->input.resize = THAW_RESIZE_STRETCH;
	CHECK_OK(thaw_model_save(m, tpath("m.thaw"), NULL));
	FILE *f = fopen(tpath("m.thaw"), "rb");
	char buf[4096] = {0};
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	CHECK(n > 0 && !memmem(buf, n, "resize", 6));
	m2 = thaw_model_load(tpath("m.thaw"), NULL);
	CHECK(m2 && m2->input.resize == THAW_RESIZE_STRETCH);
	thaw_model_free(m2);
	thaw_model_free(m);
}

static void test_export_jpeg(void)
{
	thaw_synth_opts so = thaw_synth_opts_default();
	so.n = 12, so.classes = 3, so.c = 3, so.h = 16, so.w = 16;
	thaw_dataset *d = thaw_synth(&so);
	CHECK_OK(thaw_folder_save_format(d, tpath("exp"), THAW_IMAGE_JPEG));
	char first[128];
	snprintf(first, sizeof first, "exp/00-%s/000000.jpg", d->class_names[0]);
	CHECK(thaw_image_format(tpath(first)) == THAW_IMAGE_JPEG);
	thaw_dataset *e = thaw_folder_load(tpath("exp"), 0, 0, 0);
	CHECKF(e && e->n == 12 && e->c == 3 && e->h == 16 && e->n_classes == 3 && !e->notes, "%s", thaw_errmsg());
	if (e && e->n == 12) {
		/* the folder groups by class; within a class the order is kept */
		long sum = 0;
		int j = 0;
		for (int k = 0; k < 3; k++)
			for (int i = 0; i < 12; i++) {
				if (d->y[i] != k)
					continue;
				CHECK(e->y[j] == k);
				const uint8_t *a = thaw_dataset_image(d, i), *b = thaw_dataset_image(e, j++);
				for (int p = 0; p < 3 * 256; p++)
					sum += abs(a[p] - b[p]);
			}
		/* noisy 16x16 images with subsampled chroma: JPEG is lossy */
		CHECKF(sum / (12 * 3 * 256) < 16, "mean abs error %ld", sum / (12 * 3 * 256));
	}
	thaw_dataset_free(e);
	CHECK_ERR(thaw_folder_save_format(d, tpath("exp2"), 7), "neither PNG nor JPEG");
	/* a source that is not a folder converts as asked, and says so */
	thaw_image_opts o = thaw_image_opts_default();
	o.h = 14, o.w = 20, o.resize = THAW_RESIZE_PAD;
	thaw_dataset *c = thaw_dataset_open_opts("synth:20", &o);
	CHECKF(c && c->n == 20 && c->h == 14 && c->w == 20 && c->notes &&
		       !strcmp(c->notes, "converted: padded 28x28 -> 14x20"),
	       "%s", c ? (c->notes ? c->notes : "(no notes)") : thaw_errmsg());
	thaw_dataset_free(c);
	c = thaw_dataset_open_opts("synth:20", NULL);
	CHECK(c && c->h == 28 && !c->notes);
	thaw_dataset_free(c);
	thaw_dataset_free(d);
}

int main(void)
{
	if (tmpdir_make("thaw-folder") < 0)
		return 2;
	RUN(test_mixed_formats);
	RUN(test_resize_policies);
	RUN(test_bad_images);
	RUN(test_threads_deterministic);
	RUN(test_model_carries_policy);
	RUN(test_export_jpeg);
	tmpdir_remove();
	return check_done();
}
