/* TSV and CSV text tables from memory. The first byte picks the separator
 * (tab or comma, by the name "t.tsv" or "t.csv"), the header rule, case
 * folding and a given length or the percentile; the rest is the file. A
 * load gives a text set whose every label is a class and every id a word
 * of its vocabulary, or NULL with a message naming the file. */
#include "fuzz.h"
#include "thaw/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *name = data[0] & 1 ? "t.csv" : "t.tsv";
	thaw_text_opts o = thaw_text_opts_default();
	o.header = (data[0] >> 1) % 3 - 1;
	o.lower = (data[0] >> 3) & 1;
	o.length = (data[0] >> 4) & 7; /* 0: the percentile */
	o.max_words = data[0] >> 7 ? 5 : 0;
	thaw_dataset *d = thaw_text_table_load_mem((const char *)data + 1, size - 1, name, &o);
	if (!d) {
		fuzz_expect_named(name);
		return 0;
	}
	for (int i = 0; i < d->n; i++) {
		if (d->y[i] < 0 || d->y[i] >= d->n_classes || d->len[i] < 0)
			abort();
		for (int t = 0; t < d->w; t++)
			if (d->ids[(size_t)i * d->w + t] < 0 || d->ids[(size_t)i * d->w + t] >= d->vocab->n)
				abort();
	}
	thaw_text_stats st;
	if (thaw_text_stats_of(d, &st) < 0 || st.unknown > st.tokens)
		abort();
	free(thaw_text_sample(d, 0));
	thaw_vocab *v = thaw_text_fit_vocab(d, 2, 0);
	thaw_dataset *e = v ? thaw_text_with_vocab(d, v) : NULL;
	if (v && (!e || e->vocab->n > d->vocab->n))
		abort();
	thaw_dataset_free(e);
	thaw_vocab_free(v);
	thaw_dataset_free(d);
	return 0;
}
