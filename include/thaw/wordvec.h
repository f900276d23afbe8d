/* thaw word vectors: pretrained embeddings read from fastText .vec, GloVe
 * .txt (a word then its floats, one word a line; .vec starts with a
 * "count dim" line) and word2vec binary files, keeping only the words of a
 * vocabulary: the file is streamed, so a multi-GB file costs memory for
 * the vocabulary alone. The result is a table the caller owns, row i the
 * vector of vocabulary id i, ready to fill an embedding layer.
 *
 *   thaw_wordvec_opts o = thaw_wordvec_opts_default();     // missing words: zero
 *   thaw_wordvec *wv = thaw_wordvec_load("cc.en.300.vec", vocab, &o);
 *   printf("%d of %d words found\n", wv->found, wv->words);
 *   thaw_wordvec_free(wv);
 *
 * Errors name the file and the line (or byte offset for binary files):
 * a line whose dimension differs from the first, a number that does not
 * parse, a truncated file, a header whose count or dimension lies. */
#ifndef THAW_WORDVEC_H
#define THAW_WORDVEC_H

#include <stddef.h>
#include <stdint.h>

#include "thaw/vocab.h"

typedef enum thaw_wordvec_format {
	THAW_WORDVEC_AUTO = 0, /* by the content: binary when the header line is followed by raw floats */
	THAW_WORDVEC_TEXT,     /* .vec (with header) or GloVe .txt (without) */
	THAW_WORDVEC_BINARY,   /* word2vec binary: "count dim\n", then "word " and dim float32s */
} thaw_wordvec_format;

typedef struct thaw_wordvec_opts {
	thaw_wordvec_format format;
	int random_missing; /* 0: words missing from the file get zeros; 1: uniform(-scale, scale) */
	float scale;        /* default 0.05 */
	uint64_t seed;      /* for the random rows */
	int dim;            /* 0: any; else the dimension the caller expects (an error otherwise) */
} thaw_wordvec_opts;
thaw_wordvec_opts thaw_wordvec_opts_default(void);

typedef struct thaw_wordvec {
	int n, dim;         /* n = the vocabulary's size */
	float *w;           /* (n, dim): row id is the vector of vocabulary id; <pad> is zero */
	int found, words;   /* vocabulary words found in the file, of words (pad and unk excluded) */
	long file_words;    /* words the file holds */
	int case_folded;    /* words found only after lower-casing the file's word */
	thaw_wordvec_format format; /* what the file turned out to be */
} thaw_wordvec;

/* Reads path for the words of v (borrowed). With v->lower, a file word is
 * matched lower-cased when its exact form is not in v, and the first such
 * vector wins. <unk> gets the missing-word treatment. NULL on error. */
thaw_wordvec *thaw_wordvec_load(const char *path, const thaw_vocab *v, const thaw_wordvec_opts *o);
/* The same from memory (borrowed); name stands for the file in messages. */
thaw_wordvec *thaw_wordvec_load_mem(const void *buf, size_t len, const char *name, const thaw_vocab *v,
				    const thaw_wordvec_opts *o);
void thaw_wordvec_free(thaw_wordvec *wv); /* NULL is fine */
/* "9,412 of 10,000 words found (312 by lower-casing)" into buf. */
void thaw_wordvec_coverage(const thaw_wordvec *wv, char *buf, size_t size);

#endif
