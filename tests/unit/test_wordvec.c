/* Word vectors: fastText .vec (header), GloVe .txt (none) and word2vec
 * binary files written here; only vocabulary words kept; coverage; the
 * missing-word options; and every corrupt file an error naming the file
 * and the line (or word and byte for binary files). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tmpdir.h"
#include "thaw/core.h"
#include "thaw/wordvec.h"

static thaw_vocab *vocab(void)
{
	thaw_vocab *v = thaw_vocab_new(1);
	const char *w[] = {"the", "cat", "sat", "mat", "zebra"};
	for (int i = 0; i < 5; i++)
		thaw_vocab_add(v, w[i], strlen(w[i]), 1);
	return v; /* ids: the 2, cat 3, sat 4, mat 5, zebra 6 */
}

static void put(const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(s, 1, n, f);
	fclose(f);
}

static thaw_wordvec *load_str(const char *s, const thaw_vocab *v, const thaw_wordvec_opts *o)
{
	put(tpath("v.txt"), s, strlen(s));
	return thaw_wordvec_load(tpath("v.txt"), v, o);
}

static void test_text_formats(void)
{
	thaw_vocab *v = vocab();
	/* fastText .vec: header, trailing spaces, words the vocabulary lacks */
	thaw_wordvec *wv = load_str("5 3\n"
				    "the 0.1 0.2 0.3 \n"
				    "dog 9 9 9 \n"
				    "Cat 1 2 3 \n"
				    "cat -1 -2 -3e-1 \n"
				    "Sat 4 5 6 \n",
				    v, NULL);
	CHECKF(wv != NULL, "%s", thaw_errmsg());
	if (!wv)
		return;
	CHECK(wv->dim == 3 && wv->n == 7 && wv->file_words == 5 && wv->format == THAW_WORDVEC_TEXT);
	CHECK(wv->found == 3 && wv->words == 5 && wv->case_folded == 1);
	CHECK_NEAR(wv->w[2 * 3 + 1], 0.2, 1e-7);   /* the */
	CHECK_NEAR(wv->w[3 * 3 + 2], -0.3, 1e-7);  /* cat: the exact form wins over "Cat" */
	CHECK_NEAR(wv->w[4 * 3 + 0], 4, 0);        /* sat from "Sat" */
	CHECK(wv->w[5 * 3] == 0 && wv->w[6 * 3 + 2] == 0 && wv->w[0] == 0 && wv->w[1 * 3] == 0);
	char buf[128];
	thaw_wordvec_coverage(wv, buf, sizeof buf);
	CHECK(!strcmp(buf, "3 of 5 words found (1 by lower-casing)"));
	thaw_wordvec_free(wv);
	/* GloVe: no header, the first line fixes the dimension; random missing rows */
	thaw_wordvec_opts o = thaw_wordvec_opts_default();
	o.random_missing = 1;
	o.scale = 0.1f;
	wv = load_str("the 1 2\nmat 3 4\n", v, &o);
	CHECKF(wv && wv->dim == 2 && wv->found == 2, "%s", thaw_errmsg());
	if (wv) {
		CHECK(wv->w[5 * 2] == 3 && wv->w[0] == 0 && wv->w[1] == 0);
		float z = wv->w[6 * 2];
		CHECK(z != 0 && z >= -0.1f && z <= 0.1f);
		CHECK(wv->w[1 * 2] != 0); /* <unk> is a missing word too */
	}
	thaw_wordvec_free(wv);
	/* the caller's expected dimension */
	o = thaw_wordvec_opts_default();
	o.dim = 3;
	CHECK(!load_str("the 1 2\n", v, &o) && strstr(thaw_errmsg(), "2 values, expected 3"));
	/* big coverage numbers read with commas */
	thaw_wordvec big = {.found = 9412, .words = 10000};
	thaw_wordvec_coverage(&big, buf, sizeof buf);
	CHECK(!strcmp(buf, "9,412 of 10,000 words found"));
	thaw_vocab_free(v);
}

static void test_text_errors(void)
{
	thaw_vocab *v = vocab();
	CHECK(!load_str("3 2\nthe 1 2\ncat 1 2 3\nsat 1 2\n", v, NULL) && strstr(thaw_errmsg(), "v.txt:3:") &&
	      strstr(thaw_errmsg(), "'cat' has 3 values, the header says 2"));
	CHECK(!load_str("the 1 2\ncat 1\n", v, NULL) && strstr(thaw_errmsg(), "v.txt:2:") &&
	      strstr(thaw_errmsg(), "first line says 2"));
	CHECK(!load_str("3 2\nthe 1 2\ncat 1 2\n", v, NULL) && strstr(thaw_errmsg(), "v.txt:4: truncated") &&
	      strstr(thaw_errmsg(), "declares 3 words"));
	CHECK(!load_str("1 2\nthe 1 2\ncat 1 2\n", v, NULL) && strstr(thaw_errmsg(), "v.txt:3: more words"));
	CHECK(!load_str("2 2\nthe 1 2\ncat 1 x2\n", v, NULL) && strstr(thaw_errmsg(), "v.txt:3: 'x2' is not a number"));
	CHECK(!load_str("2 2\nthe 1 2\ncat 1 nan\n", v, NULL) && strstr(thaw_errmsg(), "v.txt:3: value 2 is not finite"));
	CHECK(!load_str("2 2\nthe 1 2\ncat 1", v, NULL) && strstr(thaw_errmsg(), "v.txt:3:") &&
	      strstr(thaw_errmsg(), "truncated"));
	CHECK(!load_str("the 1 2\n\ncat 1 2\n", v, NULL) && strstr(thaw_errmsg(), "v.txt:2: empty line"));
	CHECK(!load_str("the\n", v, NULL) && strstr(thaw_errmsg(), "v.txt:1: a word without values"));
	CHECK(!load_str("", v, NULL) && strstr(thaw_errmsg(), "empty file"));
	CHECK(!load_str("2 200000\n", v, NULL) && strstr(thaw_errmsg(), "dimension 200000"));
	CHECK(!thaw_wordvec_load(tpath("none.vec"), v, NULL) && strstr(thaw_errmsg(), "none.vec"));
	thaw_vocab_free(v);
}

/* A word2vec binary file of n records (word, dim floats) after the header. */
static size_t w2v(char *out, const char *header, const char *const *words, int n, int dim, int newline)
{
	size_t k = (size_t)sprintf(out, "%s", header);
	for (int i = 0; i < n; i++) {
		k += (size_t)sprintf(out + k, "%s ", words[i]);
		for (int d = 0; d < dim; d++) {
			float x = (float)(i * 10 + d) + 0.5f;
			memcpy(out + k, &x, 4);
			k += 4;
		}
		if (newline)
			out[k++] = '\n';
	}
	return k;
}

static void test_binary(void)
{
	thaw_vocab *v = vocab();
	const char *words[] = {"cat", "horse", "The"};
	char buf[4096];
	size_t n = w2v(buf, "3 4\n", words, 3, 4, 1);
	thaw_wordvec *wv = thaw_wordvec_load_mem(buf, n, "w.bin", v, NULL);
	CHECKF(wv != NULL, "%s", thaw_errmsg());
	if (wv) {
		CHECK(wv->format == THAW_WORDVEC_BINARY && wv->dim == 4 && wv->found == 2 && wv->file_words == 3);
		CHECK(wv->w[3 * 4 + 1] == 1.5f && wv->w[2 * 4 + 3] == 23.5f);
	}
	thaw_wordvec_free(wv);
	n = w2v(buf, "3 4\n", words, 3, 4, 0); /* writers that omit the newline */
	wv = thaw_wordvec_load_mem(buf, n, "w.bin", v, NULL);
	CHECK(wv && wv->found == 2);
	thaw_wordvec_free(wv);
	/* the header lies: more words than there are */
	n = w2v(buf, "5 4\n", words, 3, 4, 1);
	CHECK(!thaw_wordvec_load_mem(buf, n, "w.bin", v, NULL) && strstr(thaw_errmsg(), "w.bin: truncated") &&
	      strstr(thaw_errmsg(), "declares 5 words"));
	/* fewer words than there are */
	n = w2v(buf, "2 4\n", words, 3, 4, 1);
	CHECK(!thaw_wordvec_load_mem(buf, n, "w.bin", v, NULL) && strstr(thaw_errmsg(), "header lies"));
	/* cut inside a vector */
	n = w2v(buf, "3 4\n", words, 3, 4, 1);
	CHECK(!thaw_wordvec_load_mem(buf, n - 7, "w.bin", v, NULL) && strstr(thaw_errmsg(), "word 3 ('The'") &&
	      strstr(thaw_errmsg(), "lacks its 4 floats"));
	/* a dimension that lies: records misread until something breaks */
	n = w2v(buf, "3 3\n", words, 3, 4, 1);
	thaw_wordvec_opts o = thaw_wordvec_opts_default();
	o.format = THAW_WORDVEC_BINARY;
	CHECK(!thaw_wordvec_load_mem(buf, n, "w.bin", v, &o) && strstr(thaw_errmsg(), "w.bin"));
	/* a NaN in the floats */
	n = w2v(buf, "1 2\n", words, 1, 2, 1);
	float nan = NAN;
	memcpy(buf + 4 + 4, &nan, 4);
	CHECK(!thaw_wordvec_load_mem(buf, n, "w.bin", v, NULL) && strstr(thaw_errmsg(), "not finite"));
	/* binary asked for, text header missing */
	CHECK(!thaw_wordvec_load_mem("the 1 2\n", 8, "w.bin", v, &o) && strstr(thaw_errmsg(), "w.bin:1: expected"));
	thaw_vocab_free(v);
}

int main(void)
{
	if (tmpdir_make("thaw-wordvec") < 0)
		return 1;
	RUN(test_text_formats);
	RUN(test_text_errors);
	RUN(test_binary);
	tmpdir_remove();
	return check_done();
}
