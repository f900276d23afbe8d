/* Writes the seed corpora under tests/fuzz/corpus/<target>/ with thaw's own
 * writers: small valid files of each format, a few hundred bytes each, in
 * the framing each harness reads (fuzz_idx.c, fuzz_jpeg.c, fuzz_folder.c).
 * `make fuzz-seeds` rebuilds them; they are committed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "thaw/image.h"
#include "thaw/modelfile.h"
#include "thaw/onnx.h"
#include "thaw/png.h"

#define DIR "tests/fuzz/corpus/"

static unsigned char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b = malloc(1 << 20);
	*n = f ? fread(b, 1, 1 << 20, f) : 0;
	if (f)
		fclose(f);
	return b;
}

static void spit(const char *path, const void *prefix, size_t np, const void *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fwrite(prefix, 1, np, f);
	fwrite(b, 1, n, f);
	fclose(f);
}

static void must(int rc)
{
	if (rc < 0) {
		fprintf(stderr, "seeds: %s\n", thaw_errmsg());
		exit(1);
	}
}

static thaw_model *small_cnn(int bn)
{
	thaw_model *m = thaw_model_new(1, 6, 6, 1);
	thaw_attrs c = thaw_conv(2, 3, 1, 1), r = thaw_layer(THAW_RELU), p = thaw_pool(THAW_MAXPOOL, 2, 2),
		   f = thaw_layer(THAW_FLATTEN), d = thaw_dense(3), b = thaw_layer(THAW_BATCHNORM);
	must(thaw_model_add(m, NULL, &c, NULL, 0));
	if (bn)
		must(thaw_model_add(m, NULL, &b, NULL, 0));
	must(thaw_model_add(m, NULL, &r, NULL, 0));
	must(thaw_model_add(m, NULL, &p, NULL, 0));
	must(thaw_model_add(m, NULL, &f, NULL, 0));
	must(thaw_model_add(m, NULL, &d, NULL, 0));
	return m;
}

/* input -> conv a, conv b (both on the input) -> add -> global pool: a graph */
static thaw_model *branchy(void)
{
	thaw_model *m = thaw_model_new(2, 4, 4, 2);
	thaw_attrs c = thaw_conv(2, 1, 1, 0), add = thaw_layer(THAW_ADD), cat = thaw_layer(THAW_CONCAT),
		   g = thaw_layer(THAW_GLOBALAVGPOOL);
	int in = -1;
	int a = thaw_model_add(m, "a", &c, &in, 1), b = thaw_model_add(m, "b", &c, &in, 1);
	int ab[2] = {a, b};
	must(thaw_model_add(m, "sum", &add, ab, 2));
	must(thaw_model_add(m, "cat", &cat, ab, 2));
	must(thaw_model_add(m, "gap", &g, NULL, 0));
	return m;
}

int main(void)
{
	size_t n;
	unsigned char *b;
	/* .thaw */
	thaw_model *m = small_cnn(0), *mb = small_cnn(1), *g = branchy();
	thaw_train_state st = {0};
	snprintf(st.phase, sizeof st.phase, "head");
	st.epoch = 2;
	/* one byte first: odd asks fuzz_thaw.c to repair the CRCs */
	const char *tn[3] = {DIR "thaw/cnn.thaw", DIR "thaw/bn-train.thaw", DIR "thaw/graph.thaw"};
	must(thaw_node_alloc_opt_state(mb->nodes[0]));
	must(thaw_model_save(m, "/tmp/thaw-seed0.thaw", NULL));
	must(thaw_model_save(mb, "/tmp/thaw-seed1.thaw", &st));
	must(thaw_model_save(g, "/tmp/thaw-seed2.thaw", NULL));
	for (int i = 0; i < 3; i++) {
		char t[64];
		snprintf(t, sizeof t, "/tmp/thaw-seed%d.thaw", i);
		b = slurp(t, &n);
		spit(tn[i], "\1", 1, b, n);
		free(b);
		remove(t);
	}
	/* ONNX */
	must(thaw_onnx_export(m, DIR "onnx/cnn.onnx"));
	must(thaw_onnx_export(mb, DIR "onnx/bn.onnx"));
	must(thaw_onnx_export(g, DIR "onnx/graph.onnx"));
	/* PNG: gray and RGB */
	uint8_t px[3 * 8 * 8];
	for (int i = 0; i < (int)sizeof px; i++)
		px[i] = (uint8_t)(i * 37);
	must(thaw_png_write(DIR "png/gray.png", px, 1, 5, 4));
	must(thaw_png_write(DIR "png/rgb.png", px, 3, 8, 8));
	/* JPEG: one byte for the scaled-decode size, then the file */
	must(thaw_jpeg_write("/tmp/thaw-seed.jpg", px, 3, 8, 8, 80, 0));
	b = slurp("/tmp/thaw-seed.jpg", &n);
	spit(DIR "jpeg/base.jpg", "\0", 1, b, n);
	free(b);
	must(thaw_jpeg_write("/tmp/thaw-seed.jpg", px, 1, 16, 16, 50, 1));
	b = slurp("/tmp/thaw-seed.jpg", &n);
	spit(DIR "jpeg/prog-gray.jpg", "\x04", 1, b, n);
	/* folder: a/0.png (gray), b/1.jpg, b/2.png (rgb) */
	size_t np1, np2;
	unsigned char *p1 = slurp(DIR "png/gray.png", &np1), *p2 = slurp(DIR "png/rgb.png", &np2);
	unsigned char rec[3 * 4 + 4096], *q = rec;
	size_t parts[3] = {np1, n, np2};
	const unsigned char *data[3] = {p1, b, p2};
	const unsigned char head[3] = {0, 1 | 4, 1};
	for (int i = 0; i < 3; i++) {
		*q++ = head[i];
		*q++ = (unsigned char)(parts[i] >> 8);
		*q++ = (unsigned char)parts[i];
		memcpy(q, data[i], parts[i]);
		q += parts[i];
	}
	spit(DIR "folder/three.bin", "", 0, rec, (size_t)(q - rec));
	free(b);
	free(p1);
	free(p2);
	/* IDX: two bytes of label-file length, the labels, the images */
	unsigned char lab[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 0, 1, 2};
	unsigned char img[16 + 3 * 2 * 2] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2};
	for (int i = 0; i < 12; i++)
		img[16 + i] = (unsigned char)(i * 20);
	unsigned char pre[2] = {0, sizeof lab}, all[2 + sizeof lab + sizeof img];
	memcpy(all, pre, 2);
	memcpy(all + 2, lab, sizeof lab);
	memcpy(all + 2 + sizeof lab, img, sizeof img);
	spit(DIR "idx/plain.bin", "", 0, all, sizeof all);
	/* gzip'd, both */
	unsigned char gl[256], gi[256];
	size_t ngl = 0, ngi = 0;
	for (int k = 0; k < 2; k++) {
		gzFile z = gzopen("/tmp/thaw-seed.gz", "wb9");
		gzwrite(z, k ? img : lab, k ? sizeof img : sizeof lab);
		gzclose(z);
		unsigned char *t = slurp("/tmp/thaw-seed.gz", &n);
		memcpy(k ? gi : gl, t, n);
		*(k ? &ngi : &ngl) = n;
		free(t);
	}
	pre[1] = (unsigned char)ngl;
	unsigned char gall[2 + 512];
	memcpy(gall, pre, 2);
	memcpy(gall + 2, gl, ngl);
	memcpy(gall + 2 + ngl, gi, ngi);
	spit(DIR "idx/gzip.bin", "", 0, gall, 2 + ngl + ngi);
	remove("/tmp/thaw-seed.jpg");
	remove("/tmp/thaw-seed.gz");
	thaw_model_free(m);
	thaw_model_free(mb);
	thaw_model_free(g);
	return 0;
}
