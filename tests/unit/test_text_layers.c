/* The text layers: gradient checks of pool_time (mean, max, with and
 * without the token ids), finite differences through embedding -> pool ->
 * dense networks (and a 1-D convolution), padding left out of the pools,
 * the row-sparse gradient and its optimizer step, lr_mult, freezing and
 * the static prefix the feature cache uses. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "gradcheck.h"
#include "tmpdir.h"
#include "thaw/modelfile.h"
#include "thaw/onnx.h"
#include "thaw/train.h"
#include "thaw/vocab.h"

#define S(c, h, w) ((thaw_shape){1, (c), (h), (w)})

static void test_kind_names(void)
{
	CHECK(thaw_kind_from_name("embedding") == THAW_EMBEDDING && thaw_kind_from_name("pool_time") == THAW_POOL_TIME);
	CHECK(!strcmp(thaw_kind_name(THAW_EMBEDDING), "embedding") && thaw_kind_built_in(THAW_POOL_TIME));
	thaw_attrs c = thaw_conv1d(8, 5); /* a 1 x 5 kernel, "same" padding */
	CHECK(c.kind == THAW_CONV2D && c.kh == 1 && c.kw == 5 && c.pad[1] == 2 && c.pad[3] == 2 && c.pad[0] == 0);
	c = thaw_conv1d(8, 4);
	CHECK(c.pad[1] + c.pad[3] == 3);
}

static void test_gradcheck_pool_time(void)
{
	thaw_shape one[1] = {S(3, 1, 5)};
	thaw_shape two[2] = {S(3, 1, 5), S(1, 1, 5)};
	gradcheck("pool_time mean", thaw_pool_time(THAW_POOL_MEAN), one, 1, (gc_opts){.B = 2});
	gradcheck("pool_time max", thaw_pool_time(THAW_POOL_MAX), one, 1, (gc_opts){.B = 2, .fill = GC_SPACED});
	gradcheck("pool_time mean ids", thaw_pool_time(THAW_POOL_MEAN), two, 2, (gc_opts){.B = 2});
	gradcheck("pool_time max ids", thaw_pool_time(THAW_POOL_MAX), two, 2,
		  (gc_opts){.B = 2, .fill = GC_SPACED, .training = 1});
}

/* A text model: ids (1x1xT) -> embedding -> [conv1d -> relu] -> pool_time(ids) -> dense. */
static thaw_model *text_net(int T, int V, int D, int pool, int conv, int K)
{
	thaw_model *m = thaw_model_new(1, 1, T, 5);
	thaw_attrs e = thaw_embedding(V, D);
	int at = thaw_model_add(m, "emb", &e, NULL, 0);
	if (conv) {
		thaw_attrs c = thaw_conv1d(conv, 3);
		thaw_model_add(m, "conv", &c, NULL, 0);
		thaw_attrs r = thaw_layer(THAW_RELU);
		at = thaw_model_add(m, "relu", &r, NULL, 0);
	}
	thaw_attrs p = thaw_pool_time(pool);
	int in[2] = {at, -1};
	thaw_model_add(m, "pool", &p, in, 2);
	thaw_attrs d = thaw_dense(K);
	CHECK(thaw_model_add(m, "head", &d, NULL, 0) >= 0);
	return m;
}

static double net_loss(thaw_model *m, const float *x, int B, const float *r, int K)
{
	thaw_model_forward(m, x, B, 1);
	const float *y = thaw_model_output(m);
	double L = 0;
	for (int i = 0; i < B * K; i++)
		L += (double)r[i] * y[i];
	return L;
}

/* Central differences for every parameter of every trainable node. */
static void net_check(thaw_model *m, const float *x, int B, int K, const char *label)
{
	float r[64];
	thaw_rng rng;
	thaw_rng_seed(&rng, 9);
	for (int i = 0; i < B * K; i++)
		r[i] = 2.0f * thaw_rng_uniform(&rng) - 1.0f;
	net_loss(m, x, B, r, K);
	CHECK_OK(thaw_model_backward(m, r));
	double worst = 0;
	int checked = 0;
	const float eps = 1e-2f;
	for (int i = 0; i < m->n; i++) {
		thaw_node *n = m->nodes[i];
		if (!n->trainable)
			continue;
		for (int p = 0; p < n->np; p++) {
			thaw_param *P = &n->p[p];
			float *g = malloc(P->size * sizeof *g);
			memcpy(g, P->g, P->size * sizeof *g);
			for (size_t k = 0; k < P->size; k++) {
				float keep = P->w[k];
				P->w[k] = keep + eps;
				double lp = net_loss(m, x, B, r, K);
				P->w[k] = keep - eps;
				double lm = net_loss(m, x, B, r, K);
				P->w[k] = keep;
				double num = (lp - lm) / (2.0 * eps);
				double e = fabs(num - g[k]) / fmax(fabs(num) + fabs(g[k]), 1e-1);
				if (e > 2e-2)
					printf("  %s: %s.%s[%zu] analytic %.6g numeric %.6g\n", label, n->name, P->name, k,
					       g[k], num);
				worst = fmax(worst, e);
				checked++;
			}
			free(g);
		}
	}
	printf("  network %-28s %d parameters checked, max rel error %.2e\n", label, checked, worst);
	CHECKF(worst < 2e-2, "%s: %.3g", label, worst);
}

/* Two texts of 6 slots: repeated words, padding, an out-of-range id. */
static const float ids[12] = {3, 5, 3, 7, 0, 0, 2, 9, 4, 11, 6, 0};

static void test_network_gradients(void)
{
	thaw_model *m = text_net(6, 12, 4, THAW_POOL_MEAN, 0, 3);
	net_check(m, ids, 2, 3, "embedding mean");
	thaw_model_free(m);
	m = text_net(6, 12, 4, THAW_POOL_MAX, 0, 3);
	net_check(m, ids, 2, 3, "embedding max");
	thaw_model_free(m);
	m = text_net(6, 12, 4, THAW_POOL_MAX, 5, 3);
	net_check(m, ids, 2, 3, "embedding conv1d max");
	thaw_model_free(m);
	float bad[12];
	memcpy(bad, ids, sizeof bad);
	bad[1] = 40;   /* beyond the table: <unk> */
	bad[2] = 2.5f; /* not whole: <unk> */
	m = text_net(6, 12, 4, THAW_POOL_MEAN, 0, 3);
	net_check(m, bad, 2, 3, "embedding unknown ids");
	thaw_model_free(m);
}

static void test_masking(void)
{
	thaw_model *m = text_net(6, 12, 2, THAW_POOL_MEAN, 0, 2);
	thaw_node *e = m->nodes[0];
	for (int v = 0; v < 12; v++) {
		e->p[0].w[v * 2] = (float)v;
		e->p[0].w[v * 2 + 1] = -(float)v;
	}
	CHECK_OK(thaw_model_forward_range(m, 0, 1, ids, 2, 0));
	const float *y = m->nodes[1]->y;
	/* text 1: 3 5 3 7 (then padding): mean 4.5; text 2: 2 9 4 11 6: mean 6.4 */
	CHECK_NEAR(y[0], 4.5, 1e-6);
	CHECK_NEAR(y[1], -4.5, 1e-6);
	CHECK_NEAR(y[2], 6.4, 1e-5);
	/* padding rows give zeros even when the table's row 0 is not zero */
	e->p[0].w[0] = 100;
	CHECK_OK(thaw_model_forward_range(m, 0, 0, ids, 2, 0));
	CHECK(m->nodes[0]->y[4] == 0.0f);
	thaw_model_free(m);
	/* max over a sequence that is all padding: zeros, no -inf */
	m = text_net(3, 12, 2, THAW_POOL_MAX, 0, 2);
	float pad[3] = {0, 0, 0};
	CHECK_OK(thaw_model_forward_range(m, 0, 1, pad, 1, 0));
	CHECK(m->nodes[1]->y[0] == 0.0f && m->nodes[1]->y[1] == 0.0f);
	thaw_model_free(m);
	/* a pool whose ids do not line up with the sequence is refused */
	m = thaw_model_new(1, 1, 6, 1);
	thaw_attrs ea = thaw_embedding(12, 2);
	thaw_model_add(m, "emb", &ea, NULL, 0);
	thaw_attrs c = thaw_conv(3, 1, 1, 0);
	c.kw = 3; /* valid padding: T shrinks to 4 */
	thaw_model_add(m, "conv", &c, NULL, 0);
	thaw_attrs p = thaw_pool_time(THAW_POOL_MAX);
	int in[2] = {1, -1};
	CHECK(thaw_model_add(m, "pool", &p, in, 2) < 0 && strstr(thaw_errmsg(), "same"));
	thaw_attrs bade = thaw_embedding(1, 2);
	CHECK(thaw_model_add(m, "e2", &bade, NULL, 0) < 0 && strstr(thaw_errmsg(), "at least 2"));
	thaw_model_free(m);
	m = thaw_model_new(3, 8, 8, 1);
	CHECK(thaw_model_add(m, "emb", &ea, NULL, 0) < 0 && strstr(thaw_errmsg(), "token ids"));
	thaw_model_free(m);
}

static void test_sparse_rows(void)
{
	thaw_model *m = text_net(6, 12, 4, THAW_POOL_MEAN, 0, 3);
	thaw_node *e = m->nodes[0];
	CHECK(e->rows && e->row_mark);
	float r[6] = {1, -1, 0.5f, 0.2f, 0.3f, -0.7f};
	net_loss(m, ids, 2, r, 3);
	CHECK_OK(thaw_model_backward(m, r));
	/* distinct words 3 5 7 2 9 4 11 6: eight rows, padding not among them */
	CHECK(e->n_rows == 8);
	int nonzero_rows = 0;
	for (int v = 0; v < 12; v++) {
		int nz = 0;
		for (int d = 0; d < 4; d++)
			nz |= e->p[0].g[v * 4 + d] != 0;
		nonzero_rows += nz;
		if (v == 0 || v == 1 || v == 8 || v == 10)
			CHECKF(!nz, "row %d", v);
	}
	CHECK(nonzero_rows == 8);
	/* an SGD step moves those rows only, at lr * lr_mult */
	float *before = malloc(sizeof(float) * 48);
	memcpy(before, e->p[0].w, sizeof(float) * 48);
	thaw_optim o = thaw_optim_default(THAW_SGD);
	o.momentum = 0;
	CHECK_OK(thaw_model_set_lr_mult(m, 0, 0.5f));
	CHECK_OK(thaw_optim_step(&o, m, 0.1f, NULL));
	int moved_ok = 1;
	for (int v = 0; v < 12; v++)
		for (int d = 0; d < 4; d++) {
			float want = before[v * 4 + d] - 0.05f * e->p[0].g[v * 4 + d];
			moved_ok &= fabsf(e->p[0].w[v * 4 + d] - want) < 1e-6f;
		}
	CHECK(moved_ok);
	CHECK(e->p[0].w[0] == before[0] && e->p[0].w[8 * 4] == before[8 * 4]);
	/* the next batch clears the old rows: a batch of one word leaves one row */
	float one[12] = {8, 0, 0, 0, 0, 0, 8, 8, 0, 0, 0, 0};
	net_loss(m, one, 2, r, 3);
	CHECK_OK(thaw_model_backward(m, r));
	CHECK(e->n_rows == 1 && e->rows[0] == 8);
	double rest = 0;
	for (int v = 0; v < 12; v++)
		if (v != 8)
			for (int d = 0; d < 4; d++)
				rest += fabs(e->p[0].g[v * 4 + d]);
	CHECK(rest == 0);
	/* the gradient norm counts the listed rows (clipping sees it) */
	float norm = 0;
	o.clip_norm = 1e-3f;
	CHECK_OK(thaw_optim_step(&o, m, 0.1f, &norm));
	CHECK(norm > 0);
	free(before);
	thaw_model_free(m);

	/* Adam on the sparse table matches dense Adam on the touched rows */
	thaw_model *a = text_net(6, 12, 4, THAW_POOL_MEAN, 0, 3);
	thaw_model *b = text_net(6, 12, 4, THAW_POOL_MEAN, 0, 3);
	free(b->nodes[0]->rows); /* b: the dense path */
	b->nodes[0]->rows = NULL;
	thaw_optim ad = thaw_optim_default(THAW_ADAM);
	for (int step = 0; step < 2; step++) {
		net_loss(a, ids, 2, r, 3);
		net_loss(b, ids, 2, r, 3);
		thaw_model_backward(a, r);
		thaw_model_backward(b, r);
		thaw_optim_step(&ad, a, 0.01f, NULL);
		thaw_optim_step(&ad, b, 0.01f, NULL);
	}
	double diff = 0;
	for (size_t k = 0; k < a->nodes[0]->p[0].size; k++)
		diff = fmax(diff, fabs(a->nodes[0]->p[0].w[k] - b->nodes[0]->p[0].w[k]));
	CHECKF(diff < 1e-6, "sparse and dense Adam differ by %g", diff);
	thaw_model_free(a);
	thaw_model_free(b);
}

static void test_freezing(void)
{
	thaw_model *m = text_net(6, 12, 4, THAW_POOL_MEAN, 0, 3);
	CHECK(thaw_model_static_prefix(m) == -1);
	CHECK(thaw_model_freeze_upto(m, "emb") == 1 || m->nodes[0]->trainable == 0);
	/* frozen table: embedding and masked pool are a static prefix (the
	 * pool reads the model input, which is inside the prefix) */
	CHECK(thaw_model_static_prefix(m) == 1);
	float r[6] = {1, 1, 1, 1, 1, 1};
	net_loss(m, ids, 2, r, 3);
	CHECK_OK(thaw_model_backward(m, r));
	CHECK(m->nodes[0]->n_backward == 0 && m->nodes[0]->n_rows == 0);
	char buf[64];
	thaw_node_describe(m->nodes[0], buf, sizeof buf);
	CHECK(strstr(buf, "12 words x 4"));
	thaw_node_describe(m->nodes[1], buf, sizeof buf);
	CHECK(strstr(buf, "mean masked"));
	thaw_param_counts pc = thaw_model_count(m);
	CHECK(pc.frozen == 48 && pc.trainable == 15);
	thaw_model_free(m);
}

/* The file's bytes with the payload of section tag passed to edit, the
 * CRC fixed after, written back (a well-formed file that lies). */
static void edit_section(const char *path, const char *tag, void (*edit)(unsigned char *p, uint64_t len))
{
	FILE *f = fopen(path, "rb");
	unsigned char *b = malloc(1 << 20);
	size_t n = fread(b, 1, 1 << 20, f);
	fclose(f);
	size_t at = 16;
	while (at + 16 <= n) {
		uint64_t len = 0;
		for (int i = 0; i < 8; i++)
			len |= (uint64_t)b[at + 8 + i] << (8 * i);
		if (!strncmp((char *)b + at, tag, 8)) {
			edit(b + at + 16, len);
			uLong c = crc32(0, b + at + 16, (uInt)len);
			for (int i = 0; i < 4; i++)
				b[at + 16 + len + i] = (unsigned char)(c >> (8 * i));
		}
		at += 16 + len + 4;
	}
	f = fopen(path, "wb");
	fwrite(b, 1, n, f);
	fclose(f);
	free(b);
}

static void dup_word(unsigned char *p, uint64_t len)
{
	char *w = memmem(p, len, "\nbeta\n", 6);
	if (w)
		memcpy(w + 1, "alfa", 4);
}

static void fewer_words(unsigned char *p, uint64_t len)
{
	char *w = memmem(p, len, "words 5", 7);
	if (w)
		w[6] = '9';
}

static void test_save_load(void)
{
	thaw_model *m = text_net(6, 5, 3, THAW_POOL_MAX, 4, 2);
	thaw_vocab *v = thaw_vocab_new(1);
	thaw_vocab_add(v, "alfa", 4, 3);
	thaw_vocab_add(v, "beta", 4, 2);
	thaw_vocab_add(v, "\xc3\xa9t\xc3\xa9", 5, 1); /* UTF-8 kept as it is */
	thaw_model_set_vocab(m, v);
	thaw_vocab_free(v);
	m->nodes[0]->trainable = 0;
	m->nodes[0]->lr_mult = 0.25f;
	const float x[6] = {2, 4, 3, 1, 0, 0};
	CHECK_OK(thaw_model_forward(m, x, 1, 0));
	float y0[2];
	memcpy(y0, thaw_model_output(m), sizeof y0);
	CHECK_OK(thaw_model_save(m, tpath("t.thaw"), NULL));
	thaw_model *l = thaw_model_load(tpath("t.thaw"), NULL);
	CHECKF(l != NULL, "%s", thaw_errmsg());
	if (!l)
		return;
	CHECK(l->n == m->n && l->nodes[0]->kind == THAW_EMBEDDING && l->nodes[0]->a.words == 5 &&
	      l->nodes[0]->a.dim == 3 && !l->nodes[0]->trainable && l->nodes[0]->lr_mult == 0.25f);
	thaw_node *pl = l->nodes[thaw_model_find(l, "pool")];
	CHECK(pl->kind == THAW_POOL_TIME && pl->a.pool == THAW_POOL_MAX && pl->n_in == 2 && pl->in[1] == -1);
	CHECK(l->vocab && l->vocab->n == 5 && l->vocab->lower == 1 &&
	      thaw_vocab_find(l->vocab, "\xc3\xa9t\xc3\xa9", 5) == 4);
	CHECK(l->nodes[0]->rows != NULL);
	CHECK_OK(thaw_model_forward(l, x, 1, 0));
	CHECK(!memcmp(y0, thaw_model_output(l), sizeof y0));
	thaw_model_free(l);
	/* a vocabulary section that lies is an error naming the line */
	edit_section(tpath("t.thaw"), "vocab", dup_word);
	CHECK(!thaw_model_load(tpath("t.thaw"), NULL) && strstr(thaw_errmsg(), "section 'vocab', line 7") &&
	      strstr(thaw_errmsg(), "twice"));
	CHECK_OK(thaw_model_save(m, tpath("t.thaw"), NULL));
	edit_section(tpath("t.thaw"), "vocab", fewer_words);
	l = thaw_model_load(tpath("t.thaw"), NULL);
	CHECKF(!l && strstr(thaw_errmsg(), "5 words, 9 declared"), "%s", thaw_errmsg());
	/* a model without a vocabulary writes no section */
	thaw_model_set_vocab(m, NULL);
	CHECK_OK(thaw_model_save(m, tpath("n.thaw"), NULL));
	l = thaw_model_load(tpath("n.thaw"), NULL);
	CHECK(l && !l->vocab);
	thaw_model_free(l);
	thaw_model_free(m);
}

/* Export to ONNX and import back: the same graph, outputs, vocabulary. */
static void onnx_round_trip(thaw_model *m, const char *label)
{
	thaw_vocab *v = thaw_vocab_new(1);
	char w[16];
	for (int i = THAW_TOKEN_FIRST; i < m->nodes[0]->a.words; i++) {
		snprintf(w, sizeof w, "w%d", i);
		thaw_vocab_add(v, w, strlen(w), 1);
	}
	thaw_model_set_vocab(m, v);
	thaw_vocab_free(v);
	m->nodes[0]->trainable = 0;
	m->nodes[0]->p[0].w[1] = 5; /* the padding row is not zero: export must still give zeros */
	float x[12];
	memcpy(x, ids, sizeof x);
	x[1] = 0; /* padding inside a text too */
	CHECK_OK(thaw_model_forward(m, x, 2, 0));
	int K = (int)thaw_shape_sample(thaw_model_output_shape(m));
	float y0[16];
	memcpy(y0, thaw_model_output(m), sizeof(float) * 2 * K);
	CHECK_OK(thaw_onnx_export(m, tpath("t.onnx")));
	thaw_onnx_info info;
	thaw_model *b = thaw_onnx_import(tpath("t.onnx"), &info);
	CHECKF(b != NULL, "%s: %s", label, thaw_errmsg());
	if (!b)
		return;
	CHECKF(b->n == m->n, "%s: %d nodes, want %d", label, b->n, m->n);
	for (int i = 0; i < b->n && i < m->n; i++)
		CHECKF(b->nodes[i]->kind == m->nodes[i]->kind && b->nodes[i]->n_in == m->nodes[i]->n_in &&
			       b->nodes[i]->a.pool == m->nodes[i]->a.pool,
		       "%s: node %d differs", label, i);
	CHECKF(b->vocab && thaw_vocab_same(b->vocab, m->vocab), "%s: vocabulary lost", label);
	CHECKF(!b->nodes[0]->trainable, "%s: the frozen table thawed", label);
	CHECK_OK(thaw_model_forward(b, x, 2, 0));
	double diff = 0;
	for (int i = 0; i < 2 * K; i++)
		diff = fmax(diff, fabs(thaw_model_output(b)[i] - y0[i]));
	CHECKF(diff < 1e-6, "%s: outputs differ by %g", label, diff);
	printf("  onnx %-26s re-imported, outputs differ by %.1e\n", label, diff);
	/* a copy for the Python checker (scripts/check-onnx-text, not in make check) */
	const char *keep = getenv("THAW_KEEP_ONNX");
	if (keep) {
		char cmd[1024];
		snprintf(cmd, sizeof cmd, "cp %s %s/%s.onnx", tpath("t.onnx"), keep, label);
		if (system(cmd) != 0)
			printf("  could not keep %s\n", label);
		printf("  %s thaw:", label);
		for (int i = 0; i < 2 * K; i++)
			printf(" %.7g", y0[i]);
		printf("\n");
	}
	thaw_model_free(b);
}

static void test_onnx(void)
{
	thaw_model *m = text_net(6, 12, 4, THAW_POOL_MEAN, 0, 3);
	onnx_round_trip(m, "mean-masked");
	thaw_model_free(m);
	m = text_net(6, 12, 4, THAW_POOL_MAX, 0, 3);
	onnx_round_trip(m, "max-masked");
	thaw_model_free(m);
	m = text_net(6, 12, 4, THAW_POOL_MAX, 5, 3);
	onnx_round_trip(m, "conv1d-max");
	thaw_model_free(m);
	/* without the ids: plain ReduceMean over time */
	m = thaw_model_new(1, 1, 6, 2);
	thaw_attrs e = thaw_embedding(12, 3), p = thaw_pool_time(THAW_POOL_MEAN), d = thaw_dense(2);
	thaw_model_add(m, "emb", &e, NULL, 0);
	thaw_model_add(m, "pool", &p, NULL, 0);
	thaw_model_add(m, "head", &d, NULL, 0);
	onnx_round_trip(m, "mean-unmasked");
	thaw_model_free(m);
}

int main(void)
{
	if (tmpdir_make("thaw-textnn") < 0)
		return 1;
	RUN(test_kind_names);
	RUN(test_gradcheck_pool_time);
	RUN(test_network_gradients);
	RUN(test_masking);
	RUN(test_sparse_rows);
	RUN(test_freezing);
	RUN(test_save_load);
	RUN(test_onnx);
	tmpdir_remove();
	return check_done();
}
