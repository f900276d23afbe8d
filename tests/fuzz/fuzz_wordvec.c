/* Word-vector files from memory (text .vec/GloVe and word2vec binary). The
 * first byte picks the format asked for (auto, text, binary) and whether
 * missing words get random rows; the rest is the file. A load gives a
 * table of the vocabulary's size with a zero padding row, or NULL with a
 * message naming the file. */
#include "fuzz.h"
#include "thaw/wordvec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static thaw_vocab *v;
	if (!v) {
		v = thaw_vocab_new(1);
		const char *w[] = {"the", "cat", "sat", "on", "mat", "été"};
		for (int i = 0; i < 6; i++)
			thaw_vocab_add(v, w[i], strlen(w[i]), 1);
	}
	thaw_wordvec_opts o = thaw_wordvec_opts_default();
	o.format = (thaw_wordvec_format)(data[0] % 3);
	o.random_missing = data[0] >> 7;
	thaw_wordvec *wv = thaw_wordvec_load_mem(data + 1, size - 1, "vectors", v, &o);
	if (!wv) {
		fuzz_expect_named("vectors");
		return 0;
	}
	if (wv->n != v->n || wv->dim <= 0 || wv->found > wv->words || wv->words != v->n - 2)
		abort();
	for (int d = 0; d < wv->dim; d++)
		if (wv->w[d] != 0.0f)
			abort();
	char buf[128];
	thaw_wordvec_coverage(wv, buf, sizeof buf);
	thaw_wordvec_free(wv);
	return 0;
}
