/* .thaw files: exact round trips, atomic saves, and clear errors for
 * corrupt, truncated and hostile files. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "tmpdir.h"
#include "thaw/modelfile.h"


static int have(thaw_kind k) { return thaw_kind_built_in(k); }

/* A small net that uses every kind with parameters this build has, with
 * non-default flags so the round trip has something to keep. */
static thaw_model *make_model(void)
{
	int conv = have(THAW_CONV2D) && have(THAW_BATCHNORM) && have(THAW_ADD);
	thaw_model *m = thaw_model_new(conv ? 3 : 1, conv ? 6 : 4, conv ? 6 : 4, 7);
	if (!m)
		return NULL;
	if (conv) {
		thaw_attrs c = thaw_conv(4, 3, 1, 1);
		int c1 = thaw_model_add(m, "conv1", &c, NULL, 0);
		thaw_attrs bn = thaw_layer(THAW_BATCHNORM);
		bn.eps = 1e-3f;
		thaw_model_add(m, "bn1", &bn, NULL, 0);
		thaw_attrs r = thaw_layer(THAW_RELU);
		int r1 = thaw_model_add(m, "relu1", &r, NULL, 0);
		c.groups = 4; /* depthwise */
		thaw_model_add(m, "dw", &c, NULL, 0);
		int in[2] = {c1, m->n - 1};
		thaw_attrs add = thaw_layer(THAW_ADD);
		thaw_model_add(m, "res", &add, in, 2);
		(void)r1;
	}
	thaw_attrs d = thaw_dense(5);
	thaw_model_add(m, "fc1", &d, NULL, 0);
	thaw_attrs r = thaw_layer(THAW_RELU);
	thaw_model_add(m, "act", &r, NULL, 0);
	d = thaw_dense(3);
	d.bias = 0;
	thaw_model_add(m, "head", &d, NULL, 0);
	m->input.mean[0] = 0.485f;
	m->input.std[0] = 0.229f;
	const char *cls[3] = {"cat", "big dog", "50% bird"};
	thaw_model_set_classes(m, cls, 3);
	m->nodes[0]->trainable = 0;
	m->nodes[m->n - 1]->lr_mult = 0.1f;
	/* running statistics and optimizer moments with values worth keeping */
	thaw_rng r2;
	thaw_rng_seed(&r2, 99);
	for (int i = 0; i < m->n; i++) {
		thaw_node *n = m->nodes[i];
		for (int k = 0; k < n->np; k++)
			for (size_t j = 0; j < n->p[k].size; j++)
				n->p[k].w[j] = thaw_rng_normal(&r2) + (n->p[k].is_buffer ? 2.0f : 0.0f);
	}
	thaw_node *h = m->nodes[m->n - 1];
	thaw_node_alloc_opt_state(h);
	for (size_t j = 0; j < h->p[0].size; j++) {
		h->p[0].m[j] = thaw_rng_normal(&r2);
		h->p[0].v[j] = thaw_rng_uniform(&r2);
	}
	return m;
}

static int same_model(const thaw_model *a, const thaw_model *b)
{
	if (a->n != b->n || a->input.c != b->input.c || a->input.h != b->input.h ||
	    a->input.w != b->input.w || memcmp(a->input.mean, b->input.mean, sizeof a->input.mean) ||
	    memcmp(a->input.std, b->input.std, sizeof a->input.std) || a->n_classes != b->n_classes ||
	    memcmp(&a->rng, &b->rng, sizeof a->rng) || a->seed != b->seed)
		return 0;
	for (int i = 0; i < a->n_classes; i++)
		if (strcmp(a->class_names[i], b->class_names[i]))
			return 0;
	for (int i = 0; i < a->n; i++) {
		const thaw_node *x = a->nodes[i], *y = b->nodes[i];
		if (x->kind != y->kind || strcmp(x->name, y->name) || memcmp(&x->a, &y->a, sizeof x->a) ||
		    x->n_in != y->n_in || memcmp(x->in, y->in, sizeof x->in) || x->trainable != y->trainable ||
		    memcmp(&x->lr_mult, &y->lr_mult, sizeof(float)) || x->np != y->np || !!x->omem != !!y->omem)
			return 0;
		for (int k = 0; k < x->np; k++) {
			if (x->p[k].size != y->p[k].size ||
			    memcmp(x->p[k].w, y->p[k].w, x->p[k].size * sizeof(float)))
				return 0;
			if (x->p[k].m && (memcmp(x->p[k].m, y->p[k].m, x->p[k].size * sizeof(float)) ||
					  memcmp(x->p[k].v, y->p[k].v, x->p[k].size * sizeof(float))))
				return 0;
		}
	}
	return 1;
}

static unsigned char *slurp(const char *p, size_t *n)
{
	FILE *f = fopen(p, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc(*n ? *n : 1);
	if (fread(b, 1, *n, f) != *n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

static void spit(const char *p, const void *b, size_t n)
{
	FILE *f = fopen(p, "wb");
	fwrite(b, 1, n, f);
	fclose(f);
}

static void test_round_trip(void)
{
	thaw_model *m = make_model();
	CHECK(m != NULL);
	thaw_train_state st = {0}, st2;
	snprintf(st.phase, sizeof st.phase, "fine tune");
	st.epoch = 3;
	st.step = 1234567890123LL;
	thaw_rng_seed(&st.rng, 5);
	thaw_rng_u32(&st.rng);
	snprintf(st.optimizer, sizeof st.optimizer, "name=adam lr=0.001 beta1=0.9 beta2=0.999");
	CHECK_OK(thaw_model_save(m, tpath("a.thaw"), &st));
	thaw_model *l = thaw_model_load(tpath("a.thaw"), &st2);
	CHECKF(l != NULL, "%s", thaw_errmsg());
	if (!l)
		return;
	CHECK(same_model(m, l));
	CHECK(st2.present == 1);
	CHECK(strcmp(st2.phase, "fine tune") == 0);
	CHECK(st2.epoch == 3 && st2.step == 1234567890123LL);
	CHECK(memcmp(&st2.rng, &st.rng, sizeof st.rng) == 0);
	CHECK(strcmp(st2.optimizer, st.optimizer) == 0);

	/* same outputs, same random stream after loading */
	thaw_shape is = {2, m->input.c, m->input.h, m->input.w};
	float *x = malloc(thaw_shape_count(is) * sizeof(float));
	for (size_t i = 0; i < thaw_shape_count(is); i++)
		x[i] = (float)((int)(i * 7 % 13) - 6) / 5.0f;
	CHECK_OK(thaw_model_forward(m, x, 2, 0));
	CHECK_OK(thaw_model_forward(l, x, 2, 0));
	size_t no = 2 * thaw_shape_sample(thaw_model_output_shape(m));
	CHECK(memcmp(thaw_model_output(m), thaw_model_output(l), no * sizeof(float)) == 0);

	/* a save of the loaded model is byte-identical */
	CHECK_OK(thaw_model_save(l, tpath("b.thaw"), &st2));
	size_t na, nb;
	unsigned char *fa = slurp(tpath("a.thaw"), &na), *fb = slurp(tpath("b.thaw"), &nb);
	CHECK(fa && fb && na == nb && memcmp(fa, fb, na) == 0);
	free(fa);
	free(fb);
	CHECK(thaw_rng_u32(&m->rng) == thaw_rng_u32(&l->rng));

	/* without a training record */
	CHECK_OK(thaw_model_save(m, tpath("c.thaw"), NULL));
	thaw_model *l2 = thaw_model_load(tpath("c.thaw"), &st2);
	CHECK(l2 && st2.present == 0);
	thaw_model_free(l2);
	free(x);
	thaw_model_free(m);
	thaw_model_free(l);
}

static void test_truncated(void)
{
	thaw_model *m = make_model();
	CHECK_OK(thaw_model_save(m, tpath("t.thaw"), NULL));
	size_t n;
	unsigned char *b = slurp(tpath("t.thaw"), &n);
	int all_fail = 1, all_named = 1;
	/* every prefix fails cleanly and names the file */
	for (size_t len = 0; len < n; len += (len < 400 ? 1 : 37)) {
		spit(tpath("cut.thaw"), b, len);
		thaw_model *l = thaw_model_load(tpath("cut.thaw"), NULL);
		if (l) {
			all_fail = 0;
			thaw_model_free(l);
		}
		if (!strstr(thaw_errmsg(), "cut.thaw: "))
			all_named = 0;
	}
	CHECK(all_fail);
	CHECK(all_named);
	spit(tpath("cut.thaw"), b, n - 10);
	CHECK(thaw_model_load(tpath("cut.thaw"), NULL) == NULL);
	CHECKF(strstr(thaw_errmsg(), "truncated") != NULL, "%s", thaw_errmsg());
	free(b);
	thaw_model_free(m);
}

/* offset of the first float of the tensors section */
static size_t tensors_at(const unsigned char *b)
{
	uint64_t hl = 0;
	for (int i = 0; i < 8; i++)
		hl |= (uint64_t)b[16 + 8 + i] << (8 * i);
	return 16 + 16 + (size_t)hl + 4 + 16;
}

static void test_corrupt(void)
{
	thaw_model *m = make_model();
	CHECK_OK(thaw_model_save(m, tpath("c.thaw"), NULL));
	size_t n;
	unsigned char *b = slurp(tpath("c.thaw"), &n);
	unsigned char *c = malloc(n);

	memcpy(c, b, n);
	c[tensors_at(b) + 2] ^= 0x40;
	spit(tpath("bad.thaw"), c, n);
	CHECK(thaw_model_load(tpath("bad.thaw"), NULL) == NULL);
	char want[256];
	snprintf(want, sizeof want, "bad.thaw: section 'tensors', node '%s' weight: CRC mismatch",
		 m->nodes[0]->name);
	CHECKF(strstr(thaw_errmsg(), want) != NULL, "%s", thaw_errmsg());

	memcpy(c, b, n);
	c[40] ^= 1; /* inside the header text */
	spit(tpath("bad.thaw"), c, n);
	CHECK(thaw_model_load(tpath("bad.thaw"), NULL) == NULL);
	CHECKF(strstr(thaw_errmsg(), "section 'header': CRC mismatch") != NULL, "%s", thaw_errmsg());

	memcpy(c, b, n);
	c[8] = 2; /* a newer format */
	spit(tpath("bad.thaw"), c, n);
	CHECK(thaw_model_load(tpath("bad.thaw"), NULL) == NULL);
	CHECKF(strstr(thaw_errmsg(), "format version 2 is newer") != NULL, "%s", thaw_errmsg());

	memcpy(c, b, n);
	c[1] = 'X';
	spit(tpath("bad.thaw"), c, n);
	CHECK(thaw_model_load(tpath("bad.thaw"), NULL) == NULL);
	CHECKF(strstr(thaw_errmsg(), "not a thaw model file") != NULL, "%s", thaw_errmsg());

	CHECK(thaw_model_load(tpath("missing.thaw"), NULL) == NULL);
	CHECKF(strstr(thaw_errmsg(), "missing.thaw: cannot open") != NULL, "%s", thaw_errmsg());
	free(b);
	free(c);
	thaw_model_free(m);
}

/* Writes a file around a hand-written header and `tbytes` zero bytes of tensors. */
static void write_hostile(const char *path, const char *header, size_t tbytes)
{
	size_t hl = strlen(header);
	size_t n = 16 + 16 + hl + 4 + 16 + tbytes + 4;
	unsigned char *b = calloc(1, n);
	const unsigned char magic[8] = {0x89, 'T', 'H', 'A', 'W', '\r', '\n', 0x1a};
	memcpy(b, magic, 8);
	b[8] = 1;
	b[12] = 2;
	unsigned char *p = b + 16;
	memcpy(p, "header", 6);
	for (int i = 0; i < 8; i++)
		p[8 + i] = (unsigned char)((uint64_t)hl >> (8 * i));
	memcpy(p + 16, header, hl);
	uint32_t c = (uint32_t)crc32(0, (const Bytef *)header, (uInt)hl);
	for (int i = 0; i < 4; i++)
		p[16 + hl + i] = (unsigned char)(c >> (8 * i));
	p += 16 + hl + 4;
	memcpy(p, "tensors", 7);
	for (int i = 0; i < 8; i++)
		p[8 + i] = (unsigned char)((uint64_t)tbytes >> (8 * i));
	spit(path, b, n);
	free(b);
}

static void expect_hostile(const char *header, size_t tbytes, const char *want)
{
	write_hostile(tpath("h.thaw"), header, tbytes);
	thaw_model *m = thaw_model_load(tpath("h.thaw"), NULL);
	CHECKF(m == NULL && strstr(thaw_errmsg(), "h.thaw: ") && strstr(thaw_errmsg(), want),
	       "message '%s', wanted '%s'", thaw_errmsg(), want);
	thaw_model_free(m);
}

static void test_hostile(void)
{
	const char *pre = "thaw-model 1\ninput 1 4 4\nseed 1\nclasses 0\n";
	char h[2048];
	snprintf(h, sizeof h, "%snodes 1\nnode fc dense in=-1 units=3\nparam weight w 1000000 1000000\nparam bias w 3\nend\n", pre);
	expect_hostile(h, 100, "more than thaw allows");
	snprintf(h, sizeof h, "%snodes 1\nnode fc dense in=-1 units=3\nparam weight w 3 16\nparam bias w 3\nend\n", pre);
	expect_hostile(h, 100, "section 'tensors': 100 bytes, the header's parameters need 212");
	/* the attributes say a million units, the params say 3: caught before allocating */
	snprintf(h, sizeof h, "%snodes 1\nnode fc dense in=-1 units=1000000\nparam weight w 3 16\nparam bias w 3\nend\n", pre);
	expect_hostile(h, 212, "node 'fc' weight: the file says weight 3x16");
	snprintf(h, sizeof h, "%snodes 99999999\nend\n", pre);
	expect_hostile(h, 0, "bad node count '99999999'");
	snprintf(h, sizeof h, "thaw-model 1\ninput 1 4 4\nclasses 2000000000\nend\n");
	expect_hostile(h, 0, "bad class count");
	snprintf(h, sizeof h, "thaw-model 1\ninput -1 4 4\nend\n");
	expect_hostile(h, 0, "line 2: bad input shape");
	snprintf(h, sizeof h, "%snodes 1\nnode fc dense in=5 units=3\nend\n", pre);
	expect_hostile(h, 0, "node 'fc': input 0 refers to node 5, not an earlier node");
	snprintf(h, sizeof h, "%snodes 1\nnode fc softmax in=-1\nend\n", pre);
	expect_hostile(h, 0, "unknown layer kind 'softmax'");
	snprintf(h, sizeof h, "%snodes 1\nnode fc dense in=-1 units=3\nparam weight w 3 16\n", pre);
	expect_hostile(h, 0, "no 'end' line");
}

static int count_files(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_crash_safety(void)
{
	thaw_model *m = make_model();
	CHECK_OK(thaw_model_save(m, tpath("safe.thaw"), NULL));
	int files = count_files();
	thaw_model *m2 = make_model();
	m2->nodes[m2->n - 1]->p[0].w[0] = 42.0f;
	/* the disk fills part-way through the tensors */
	thaw_modelfile_fail_after(700);
	CHECK_ERR(thaw_model_save(m2, tpath("safe.thaw"), NULL), "safe.thaw: write failed");
	CHECK(strstr(thaw_errmsg(), "previous file is untouched") != NULL);
	CHECK(count_files() == files); /* no temporary file left behind */
	thaw_model *l = thaw_model_load(tpath("safe.thaw"), NULL);
	CHECKF(l != NULL, "%s", thaw_errmsg());
	CHECK(l && same_model(m, l));
	thaw_model_free(l);
	/* the failure was one-shot: the next save goes through */
	CHECK_OK(thaw_model_save(m2, tpath("safe.thaw"), NULL));
	l = thaw_model_load(tpath("safe.thaw"), NULL);
	CHECK(l && l->nodes[l->n - 1]->p[0].w[0] == 42.0f);
	thaw_model_free(l);
	/* a directory that does not exist */
	CHECK_ERR(thaw_model_save(m, tpath("nodir/x.thaw"), NULL), "nodir/x.thaw: cannot create a temporary file");
	thaw_model_free(m);
	thaw_model_free(m2);
}

/* A file written while a model kept stale names (5 names, 10 outputs):
 * it loads, without names, and says so through thaw_warn. */
static void test_stale_class_names(void)
{
	thaw_model *m = thaw_model_new(1, 4, 4, 3);
	thaw_attrs fl = thaw_layer(THAW_FLATTEN), d = thaw_dense(10);
	thaw_model_add(m, NULL, &fl, NULL, 0);
	thaw_model_add(m, "head", &d, NULL, 0);
	/* what a model that kept its old names looked like before the fix */
	m->class_names = calloc(5, sizeof *m->class_names);
	for (int i = 0; i < 5; i++)
		m->class_names[i] = strdup("old");
	m->n_classes = 5;
	CHECK_OK(thaw_model_save(m, tpath("stale.thaw"), NULL));
	while (thaw_warning_next())
		;
	thaw_model *b = thaw_model_load(tpath("stale.thaw"), NULL);
	CHECKF(b != NULL, "%s", thaw_errmsg());
	if (b) {
		CHECK(b->n_classes == 0 && b->class_names == NULL);
		CHECK(thaw_model_class_count(b) == 10);
		const char *w = thaw_warning_next();
		CHECKF(w && strstr(w, "stale.thaw") && strstr(w, "5 class names do not match"), "warning '%s'",
		       w ? w : "(none)");
		CHECK(thaw_warning_next() == NULL);
	}
	thaw_model_free(b);
	thaw_model_free(m);
}

/* The loader reads from memory as from a file, and names the source; an
 * empty file (a NULL map: clang's UBSan saw an offset applied to it) and
 * short buffers fail cleanly. */
static void test_load_from_memory(void)
{
	thaw_model *m = make_model();
	thaw_train_state st = {0}, st2;
	st.epoch = 7;
	CHECK_OK(thaw_model_save(m, tpath("mem.thaw"), &st));
	size_t n;
	unsigned char *b = slurp(tpath("mem.thaw"), &n);
	thaw_model *l = thaw_model_load_mem(b, n, "upload.thaw", &st2);
	CHECKF(l && same_model(m, l) && st2.present && st2.epoch == 7, "%s", thaw_errmsg());
	thaw_model_free(l);
	b[40] ^= 1; /* in the header: its CRC no longer matches */
	CHECK(thaw_model_load_mem(b, n, "upload.thaw", NULL) == NULL);
	CHECKF(strstr(thaw_errmsg(), "upload.thaw: ") == thaw_errmsg(), "%s", thaw_errmsg());
	CHECK(thaw_model_load_mem(NULL, 0, NULL, NULL) == NULL);
	CHECKF(strstr(thaw_errmsg(), "(memory): not a thaw model file (bad magic; 0 bytes)"), "%s", thaw_errmsg());
	CHECK(thaw_model_load_mem(b, 5, "short", NULL) == NULL);
	CHECKF(strstr(thaw_errmsg(), "short: not a thaw model file (bad magic; 5 bytes)"), "%s", thaw_errmsg());
	spit(tpath("empty.thaw"), b, 0);
	CHECK(thaw_model_load(tpath("empty.thaw"), NULL) == NULL);
	CHECKF(strstr(thaw_errmsg(), "empty.thaw: not a thaw model file (bad magic; 0 bytes)"), "%s", thaw_errmsg());
	spit(tpath("five.thaw"), b, 5);
	CHECK(thaw_model_load(tpath("five.thaw"), NULL) == NULL);
	CHECKF(strstr(thaw_errmsg(), "five.thaw: not a thaw model file (bad magic; 5 bytes)"), "%s", thaw_errmsg());
	free(b);
	thaw_model_free(m);
}

int main(void)
{
	if (tmpdir_make("thawfile") < 0)
		return 1;
	RUN(test_round_trip);
	RUN(test_truncated);
	RUN(test_corrupt);
	RUN(test_hostile);
	RUN(test_crash_safety);
	RUN(test_stale_class_names);
	RUN(test_load_from_memory);
	tmpdir_remove();
	return check_done();
}
