/* thaw text data sets: labelled texts stored as token ids in the dataset
 * store (thaw_dataset with ids set and x NULL: c = h = 1, w = tokens per
 * sample), so selection (classes, per class, split, join, subset), the
 * loader and training work as they do for images. The loader hands a model
 * the ids as floats (B, 1, 1, w); an embedding layer looks them up.
 *
 *   thaw_text_opts o = thaw_text_opts_default();           // lower-case, 95th percentile
 *   o.header = 1;
 *   thaw_dataset *all = thaw_text_load("desc.tsv", &o);    // label<TAB>text per line
 *   thaw_dataset *train, *test;
 *   thaw_dataset_split(all, 0.2f, 1, &train, &test);
 *   thaw_vocab *v = thaw_text_fit_vocab(train, 2, 20000);  // counted on train only
 *   thaw_dataset *tr = thaw_text_with_vocab(train, v), *te = thaw_text_with_vocab(test, v);
 *
 * Sources: a folder of class folders root/<class>/<name>.txt (one text per
 * file, classes in sorted order) and TSV/CSV files (label, separator, text;
 * one text per line; CSV fields may be "quoted" with "" for a quote). The
 * vocabulary of a loaded set holds every word it contains, counted; limit
 * it with min_count/max_words (here or later with thaw_text_fit_vocab).
 * Texts longer than the length are cut at the end, shorter ones padded
 * at the end with THAW_TOKEN_PAD; the lengths before that are kept (len).
 * Errors name the file and line; nothing is skipped silently (empty texts,
 * invalid UTF-8 and files that are not .txt are listed in the notes). */
#ifndef THAW_TEXT_H
#define THAW_TEXT_H

#include "thaw/data.h"
#include "thaw/model.h"
#include "thaw/vocab.h"

typedef struct thaw_text_opts {
	int lower;         /* lower-case words (default 1) */
	int length;        /* tokens per sample; 0: the percentile below of the texts' lengths */
	float percentile;  /* 95: the length covers 95% of the texts in full */
	int header;        /* TSV/CSV first line: 1 a header (skipped), -1 a text, 0 (default) a
			    * header when its label reads label, labels, class, category,
			    * section or y (any case) */
	char delim;        /* TSV/CSV separator: 0 picks ',' for .csv files, else '\t' */
	int min_count;     /* words seen fewer times become <unk> (default 1: keep all) */
	int max_words;     /* at most this many ids, <pad> and <unk> included (0: no limit) */
	thaw_vocab *vocab; /* borrowed; set: encode with this vocabulary (a test split with the
			    * training one) instead of building one; min_count/max_words ignored */
} thaw_text_opts;
thaw_text_opts thaw_text_opts_default(void);

/* A folder of class folders or a .tsv/.csv/.txt file of label<sep>text lines. */
thaw_dataset *thaw_text_load(const char *path, const thaw_text_opts *o);
thaw_dataset *thaw_text_folder_load(const char *root, const thaw_text_opts *o);
thaw_dataset *thaw_text_table_load(const char *path, const thaw_text_opts *o);
/* n texts in memory (borrowed) with labels in [0, n_classes) and optional
 * class names (NULL: "0".."n_classes-1"); source names them in messages. */
thaw_dataset *thaw_text_from_strings(const char *const *texts, const int *labels, int n,
				     const char *const *class_names, int n_classes, const char *source,
				     const thaw_text_opts *o);
/* An empty text store: n samples of w tokens (all padding), labels 0,
 * class names "0".."; a reference to v is taken. */
thaw_dataset *thaw_text_dataset_new(int n, int w, int n_classes, thaw_vocab *v);
/* 1 when path looks like text data: a .tsv or .csv file, a "text:" prefix
 * aside, or a folder whose class folders hold .txt files and no images. */
int thaw_text_probe(const char *path);

/* A vocabulary of the words of d (a text data set) that occur at least
 * min_count times in d, the most frequent first, at most max_words ids
 * (0: no limit). Counted on d alone: pass the training split. */
thaw_vocab *thaw_text_fit_vocab(const thaw_dataset *d, int min_count, int max_words);
/* d re-encoded with vocabulary v (a new data set holding a reference to
 * v); words of d that v lacks become THAW_TOKEN_UNK. */
thaw_dataset *thaw_text_with_vocab(const thaw_dataset *d, thaw_vocab *v);
/* d padded or cut to length tokens per sample (only what d holds: texts
 * cut before stay cut). */
thaw_dataset *thaw_text_relength(const thaw_dataset *d, int length);

/* ---- text data and text models. A model trained on text carries the
 * vocabulary of its data (thaw_model.vocab; fit gives it the training
 * set's when it has none) and its input width is the length. */

/* 1 when d can go through m as it is: images of m's input shape, or texts
 * of m's length encoded with m's vocabulary (or m has none yet). */
int thaw_dataset_fits_model(const thaw_dataset *d, const thaw_model *m);
/* d made to fit m: images converted to m->input (thaw_dataset_to_spec);
 * texts re-encoded with m's vocabulary and padded or cut to its length.
 * desc gets one line saying what changed. Text data for a model without
 * a vocabulary, or images for a text model, is an error. */
thaw_dataset *thaw_dataset_for_model(const thaw_dataset *d, const thaw_model *m, char *desc,
				     size_t desc_size);
/* n strings as a text data set for m (its vocabulary and length; labels
 * 0, one class): what thaw predict --text classifies. */
thaw_dataset *thaw_text_for_model(const thaw_model *m, const char *const *texts, int n);

/* Length statistics and coverage of a text data set. */
typedef struct thaw_text_stats {
	int min, median, p95, max; /* tokens per text before padding or cutting */
	double mean;
	int cut;                   /* texts longer than the stored length */
	int padded;                /* texts shorter than it */
	int empty;                 /* texts without a single token */
	int64_t tokens, unknown;   /* stored tokens, and how many of them are <unk> */
} thaw_text_stats;
int thaw_text_stats_of(const thaw_dataset *d, thaw_text_stats *s);
/* Sample i as words joined by spaces, padding left out, <unk> shown as
 * "<unk>" (owned by the caller; NULL when out of memory). */
char *thaw_text_sample(const thaw_dataset *d, int i);
/* The tokens per sample of a text data set, or 0 for images. */
static inline int thaw_dataset_is_text(const thaw_dataset *d) { return d && d->ids ? d->w : 0; }
static inline const int32_t *thaw_text_ids(const thaw_dataset *d, int i)
{
	return d->ids + (size_t)i * d->w;
}

#endif
