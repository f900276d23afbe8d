/* A deterministic mutation fuzzer for thaw's file loaders: .thaw models,
 * ONNX models, IDX (plain and gzip'd) data, PNG and JPEG images (alone and
 * in an image folder). It builds valid seed files with the library, then feeds
 * thousands of mutated copies through each loader. The promise checked:
 * every load either gives a usable object (a model runs one forward pass
 * on zeros) or NULL with a message naming the file; nothing crashes (the
 * sanitizer build shows that), and no forged header makes a loader ask for
 * hundreds of megabytes (checked by counting malloc requests in the plain
 * build and peak RSS in both).
 *
 * Mutant i of format f is a pure function of (seed, f, i), so a failure is
 * reproduced with THAW_FUZZ_SEED, THAW_FUZZ_ONLY=fmt:i (thaw, onnx, idx,
 * png, jpeg) and THAW_FUZZ_KEEP=1 (keeps the directory); THAW_FUZZ_VERBOSE=1
 * prints each mutant before it is loaded; THAW_FUZZ_SCALE multiplies the
 * iteration counts. */
#include <dirent.h>
#include <png.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "onnx.pb-c.h"
#include "thaw/data.h"
#include "thaw/model.h"
#include "thaw/modelfile.h"
#include "thaw/onnx.h"
#include "thaw/image.h"
#include "thaw/png.h"

/* ---- allocation watch (plain build only: ASan owns malloc there) */
#define BIG_ALLOC ((size_t)16 << 20)
static size_t big_request; /* largest request above BIG_ALLOC since the last reset */
static void note(size_t n)
{
	if (n > BIG_ALLOC && n > __atomic_load_n(&big_request, __ATOMIC_RELAXED))
		__atomic_store_n(&big_request, n, __ATOMIC_RELAXED);
}
#if defined(__SANITIZE_ADDRESS__)
/* from sanitizer/allocator_interface.h, which gcc does not install */
int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void *, size_t),
					      void (*)(const volatile void *));
/* A forged size must fail cleanly, not abort the run: failed allocations
 * return NULL (ASAN_OPTIONS from the environment still take precedence). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	/* a smaller quarantine keeps peak RSS about the loaders, not ASan */
	return "allocator_may_return_null=1:quarantine_size_mb=64";
}
static void on_malloc(const volatile void *p, size_t n)
{
	(void)p;
	note(n);
}
static void on_free(const volatile void *p) { (void)p; }
#else
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
void *malloc(size_t n)
{
	note(n);
	return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
	size_t n;
	note(__builtin_mul_overflow(a, b, &n) ? SIZE_MAX : n);
	return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
	note(n);
	return __libc_realloc(p, n);
}
void *aligned_alloc(size_t align, size_t n)
{
	note(n);
	return __libc_memalign(align, n);
}
int posix_memalign(void **out, size_t align, size_t n)
{
	note(n);
	*out = __libc_memalign(align, n);
	return *out ? 0 : 12; /* ENOMEM */
}
#endif

/* ---- deterministic randomness */
typedef struct rng {
	uint64_t s;
} rng;
static uint64_t next(rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static uint32_t below(rng *r, uint32_t n) { return n ? (uint32_t)(next(r) % n) : 0; }

/* ---- byte buffers */
typedef struct buf {
	unsigned char *p;
	size_t n;
} buf;

static void buf_set(buf *b, const void *p, size_t n)
{
	free(b->p);
	b->p = malloc(n ? n : 1);
	if (n)
		memcpy(b->p, p, n);
	b->n = n;
}
static void buf_splice(buf *b, size_t at, size_t del, const void *ins, size_t nins)
{
	unsigned char *q = malloc(b->n - del + nins + 1);
	memcpy(q, b->p, at);
	if (nins)
		memcpy(q + at, ins, nins);
	memcpy(q + at + nins, b->p + at + del, b->n - at - del);
	free(b->p);
	b->p = q;
	b->n = b->n - del + nins;
}
static int read_all(const char *path, buf *b)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	free(b->p);
	b->p = malloc(n > 0 ? (size_t)n : 1);
	b->n = fread(b->p, 1, (size_t)n, f);
	fclose(f);
	return b->n == (size_t)n ? 0 : -1;
}
static void write_all(const char *path, const buf *b)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(2);
	}
	if (b->n)
		fwrite(b->p, 1, b->n, f);
	fclose(f);
}
static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8),
	p[3] = (unsigned char)v;
}
static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- generic mutations; `why` collects a description for the log */
static const uint32_t INTERESTING32[] = {0x7fffffff, 0xffffffff, 0x80000000, 0, 1,
					 0xfffffffe, 0x10000,   0x40000000, 0x7fff, 0xffff};
static const uint8_t INTERESTING8[] = {0x00, 0xff, 0x7f, 0x80};

static void why_add(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why_add(char *why, const char *fmt, ...)
{
	size_t k = strlen(why);
	if (k > 400)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why + k, 512 - k, fmt, ap);
	va_end(ap);
}

static void mutate_once(rng *r, buf *b, char *why)
{
	if (b->n == 0) {
		unsigned char z = (unsigned char)next(r);
		buf_set(b, &z, 1);
		why_add(why, " one-byte");
		return;
	}
	size_t at = below(r, (uint32_t)b->n);
	switch (below(r, 9)) {
	case 0: {
		int k = 1 + (int)below(r, 4);
		for (int i = 0; i < k; i++) {
			size_t o = below(r, (uint32_t)b->n);
			b->p[o] ^= (unsigned char)(1u << below(r, 8));
		}
		why_add(why, " flip%d@%zu", k, at);
		break;
	}
	case 1:
		b->p[at] = INTERESTING8[below(r, 4)];
		why_add(why, " byte@%zu=%02x", at, b->p[at]);
		break;
	case 2:
	case 3: {
		uint32_t v = INTERESTING32[below(r, sizeof INTERESTING32 / sizeof *INTERESTING32)];
		if (at + 4 > b->n)
			at = b->n >= 4 ? b->n - 4 : 0;
		unsigned char le[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
				       (unsigned char)(v >> 24)},
			      be[4];
		put_be32(be, v);
		size_t k = b->n - at < 4 ? b->n - at : 4;
		memcpy(b->p + at, below(r, 2) ? le : be, k);
		why_add(why, " int32@%zu=%08x", at, v);
		break;
	}
	case 4:
		b->n = below(r, (uint32_t)b->n);
		why_add(why, " truncate@%zu", b->n);
		break;
	case 5: { /* duplicate a chunk somewhere */
		size_t len = 1 + below(r, (uint32_t)(b->n - at < 256 ? b->n - at : 256));
		size_t to = below(r, (uint32_t)b->n + 1);
		unsigned char *c = malloc(len);
		memcpy(c, b->p + at, len);
		buf_splice(b, to, 0, c, len);
		free(c);
		why_add(why, " dup[%zu+%zu]@%zu", at, len, to);
		break;
	}
	case 6: { /* delete a chunk */
		size_t len = 1 + below(r, (uint32_t)(b->n - at < 256 ? b->n - at : 256));
		buf_splice(b, at, len, NULL, 0);
		why_add(why, " del[%zu+%zu]", at, len);
		break;
	}
	case 7:
		b->p[at] = (unsigned char)next(r);
		why_add(why, " rand@%zu", at);
		break;
	default: { /* 64-bit little-endian: the .thaw section lengths */
		static const uint64_t v64[] = {0xffffffffffffffffull, 0x7fffffffffffffffull,
					       0x8000000000000000ull, 0x100000000ull, 0};
		uint64_t v = v64[below(r, 5)];
		if (at + 8 > b->n)
			at = b->n >= 8 ? b->n - 8 : 0;
		for (size_t i = 0; i < 8 && at + i < b->n; i++)
			b->p[at + i] = (unsigned char)(v >> (8 * i));
		why_add(why, " int64@%zu", at);
		break;
	}
	}
}

static void mutate(rng *r, buf *b, char *why)
{
	int k = 1 + (int)below(r, 3);
	for (int i = 0; i < k; i++)
		mutate_once(r, b, why);
}

/* ---- run bookkeeping */
typedef struct tally {
	const char *name;
	int runs, ok, rejected, ran_forward, skipped_forward;
	double seconds;
} tally;

static char dir[200];
static uint64_t seed = 20240611;
static int verbose, keep, only_index = -1;
static char only_fmt[16];
static double scale = 1.0;

static uint64_t mutant_seed(const char *fmt, int i)
{
	uint64_t h = seed;
	for (const char *s = fmt; *s; s++)
		h = h * 131 + (unsigned char)*s;
	return h * 0x9e3779b97f4a7c15ull + (uint64_t)i;
}

static int wanted(const char *fmt, int i)
{
	if (only_index < 0)
		return 1;
	return !strcmp(fmt, only_fmt) && i == only_index;
}

static int iters(int n)
{
	int k = (int)(n * scale);
	return k < 1 ? 1 : k;
}

/* A NULL result must carry a message naming one of the files. */
static void check_rejection(tally *t, int i, const char *why, const char *p1, const char *p2)
{
	const char *m = thaw_errmsg();
	if (verbose)
		printf("  -> %s\n", m);
	int named = m && m[0] && (strstr(m, p1) || (p2 && strstr(m, p2)));
	CHECKF(named, "%s mutant %d (%s): message '%s' does not name %s", t->name, i, why, m ? m : "(null)",
	       p1);
	t->rejected++;
}

static void check_alloc(tally *t, int i, const char *why)
{
	CHECKF(big_request == 0, "%s mutant %d (%s): a %zu MB allocation for a %s file", t->name, i, why,
	       big_request >> 20, "small");
	big_request = 0;
}

/* Runs one forward pass on zeros when the activations are of a sane size. */
static void check_model(tally *t, int i, const char *why, thaw_model *m)
{
	size_t in = (size_t)m->input.c * m->input.h * m->input.w, act = in;
	for (int k = 0; k < m->n; k++) {
		thaw_shape s = m->nodes[k]->out;
		act += (size_t)s.c * s.h * s.w;
	}
	if (act > ((size_t)16 << 20)) {
		t->skipped_forward++; /* a legal but enormous graph: loading it is all we ask */
		return;
	}
	float *x = calloc(in, sizeof *x);
	int rc = thaw_model_forward(m, x, 1, 0);
	CHECKF(rc >= 0, "%s mutant %d (%s): loaded, but forward fails: %s", t->name, i, why, thaw_errmsg());
	free(x);
	t->ran_forward++;
}

static void report(const tally *t)
{
	printf("  %-6s %5d mutants: %5d loaded (%d ran forward, %d too large to run), %5d rejected with a "
	       "message, %.1f s\n",
	       t->name, t->runs, t->ok, t->ran_forward, t->skipped_forward, t->rejected, t->seconds);
}

/* ======================================================================
 * .thaw: structure-aware edits rebuild the sections with correct CRCs so
 * the mutation reaches the header parser and the tensor checks. */
typedef struct tsec {
	char tag[9];
	buf data;
} tsec;

static int thaw_split(const buf *b, tsec *s, int max)
{
	if (b->n < 16)
		return -1;
	size_t o = 16;
	int n = 0;
	while (o + 16 <= b->n && n < max) {
		uint64_t len = 0;
		for (int i = 0; i < 8; i++)
			len |= (uint64_t)b->p[o + 8 + i] << (8 * i);
		if (len > b->n - o - 16 || b->n - o - 16 - len < 4)
			return -1;
		memcpy(s[n].tag, b->p + o, 8);
		s[n].tag[8] = 0;
		s[n].data.p = NULL;
		buf_set(&s[n].data, b->p + o + 16, (size_t)len);
		o += 16 + len + 4;
		n++;
	}
	return n;
}

static void thaw_join(buf *b, const unsigned char pre[16], tsec *s, int n)
{
	size_t total = 16;
	for (int i = 0; i < n; i++)
		total += 16 + s[i].data.n + 4;
	unsigned char *q = malloc(total), *o = q + 16;
	memcpy(q, pre, 16);
	for (int i = 0; i < n; i++) {
		memset(o, 0, 16);
		memcpy(o, s[i].tag, strlen(s[i].tag));
		for (int k = 0; k < 8; k++)
			o[8 + k] = (unsigned char)((uint64_t)s[i].data.n >> (8 * k));
		memcpy(o + 16, s[i].data.p, s[i].data.n);
		uint32_t c = (uint32_t)crc32(0L, s[i].data.p, (uInt)s[i].data.n);
		for (int k = 0; k < 4; k++)
			o[16 + s[i].data.n + k] = (unsigned char)(c >> (8 * k));
		o += 16 + s[i].data.n + 4;
	}
	free(b->p);
	b->p = q;
	b->n = total;
}

static const char *const NUMBERS[] = {"-1", "0", "-2147483648", "2147483647", "2147483648",
				      "4294967296", "99999999999999999999", "1e38", "-1e38", "nan",
				      "inf", "65536", "1073741824", "-0", "16385", "3"};

/* One edit of the header text: a number replaced, a line dropped,
 * duplicated or moved. */
static void edit_header(rng *r, buf *h, char *why)
{
	if (h->n == 0)
		return;
	/* lines */
	size_t starts[512];
	int nl = 0;
	for (size_t o = 0; o < h->n && nl < 512; o++)
		if (o == 0 || h->p[o - 1] == '\n')
			starts[nl++] = o;
	int li = (int)below(r, (uint32_t)nl);
	size_t a = starts[li], e = li + 1 < nl ? starts[li + 1] : h->n;
	int op = (int)below(r, 8);
	if (op < 5) { /* a number in the line */
		size_t runs[64][2];
		int nr = 0;
		for (size_t o = a; o < e && nr < 64;) {
			if ((h->p[o] >= '0' && h->p[o] <= '9') || h->p[o] == '-') {
				size_t s = o;
				while (o < e && ((h->p[o] >= '0' && h->p[o] <= '9') || h->p[o] == '-' ||
						 h->p[o] == '.' || h->p[o] == 'e'))
					o++;
				runs[nr][0] = s, runs[nr][1] = o - s;
				nr++;
			} else {
				o++;
			}
		}
		if (nr == 0)
			return;
		int k = (int)below(r, (uint32_t)nr);
		const char *v = NUMBERS[below(r, sizeof NUMBERS / sizeof *NUMBERS)];
		why_add(why, " header line %d number %d := %s", li + 1, k, v);
		buf_splice(h, runs[k][0], runs[k][1], v, strlen(v));
	} else if (op == 5) {
		why_add(why, " header line %d dropped", li + 1);
		buf_splice(h, a, e - a, NULL, 0);
	} else if (op == 6) {
		why_add(why, " header line %d duplicated", li + 1);
		unsigned char *c = malloc(e - a);
		memcpy(c, h->p + a, e - a);
		buf_splice(h, e, 0, c, e - a);
		free(c);
	} else { /* move a line to another place */
		int to = (int)below(r, (uint32_t)nl);
		why_add(why, " header line %d moved before line %d", li + 1, to + 1);
		unsigned char *c = malloc(e - a);
		size_t len = e - a, dst = starts[to];
		memcpy(c, h->p + a, len);
		buf_splice(h, a, len, NULL, 0);
		if (dst > a)
			dst = dst >= a + len ? dst - len : a;
		buf_splice(h, dst, 0, c, len);
		free(c);
	}
}

static thaw_model *seed_model(int rich)
{
	thaw_model *m = thaw_model_new(2, 8, 8, 7);
	if (!rich) {
		thaw_attrs f = thaw_layer(THAW_FLATTEN), d = thaw_dense(3);
		thaw_model_add(m, "flat", &f, NULL, 0);
		thaw_model_add(m, "fc", &d, NULL, 0);
		return m;
	}
	thaw_attrs c1 = thaw_conv(4, 3, 1, 1), bn = thaw_layer(THAW_BATCHNORM), re = thaw_layer(THAW_RELU),
		   c2 = thaw_conv(4, 1, 1, 0), add = thaw_layer(THAW_ADD), cat = thaw_layer(THAW_CONCAT),
		   mp = thaw_pool(THAW_MAXPOOL, 2, 2), fl = thaw_layer(THAW_FLATTEN), fc = thaw_dense(3);
	int in = -1;
	int a = thaw_model_add(m, "conv1", &c1, &in, 1);
	thaw_model_add(m, "bn1", &bn, NULL, 0);
	int r = thaw_model_add(m, "relu1", &re, NULL, 0);
	int b = thaw_model_add(m, "skip", &c2, &in, 1);
	int two[2] = {r, b};
	int s = thaw_model_add(m, "sum", &add, two, 2);
	int cc[2] = {s, a};
	thaw_model_add(m, "cat", &cat, cc, 2);
	thaw_model_add(m, "pool", &mp, NULL, 0);
	thaw_model_add(m, "flat", &fl, NULL, 0);
	thaw_model_add(m, "fc", &fc, NULL, 0);
	const char *names[3] = {"cat", "dog bird", "%odd"};
	thaw_model_set_classes(m, names, 3);
	thaw_node_alloc_opt_state(m->nodes[0]);
	thaw_node_alloc_opt_state(m->nodes[8]);
	m->nodes[8]->opt_t = 5;
	return m;
}

static void fuzz_thaw(tally *t, int n)
{
	char s1[300], s2[300], path[300];
	snprintf(s1, sizeof s1, "%s/seed-rich.thaw", dir);
	snprintf(s2, sizeof s2, "%s/seed-small.thaw", dir);
	snprintf(path, sizeof path, "%s/mutant.thaw", dir);
	thaw_model *a = seed_model(1), *b = seed_model(0);
	thaw_train_state st;
	memset(&st, 0, sizeof st);
	snprintf(st.phase, sizeof st.phase, "fine tune");
	snprintf(st.optimizer, sizeof st.optimizer, "adam");
	st.epoch = 3, st.step = 120;
	CHECK_OK(thaw_model_save(a, s1, &st));
	CHECK_OK(thaw_model_save(b, s2, NULL));
	thaw_model_free(a);
	thaw_model_free(b);
	buf seeds[2] = {{0}, {0}};
	CHECK(read_all(s1, &seeds[0]) == 0 && read_all(s2, &seeds[1]) == 0);
	/* the seeds themselves load */
	thaw_train_state got;
	thaw_model *m = thaw_model_load(s1, &got);
	CHECKF(m && got.present && got.epoch == 3, "%s", thaw_errmsg());
	thaw_model_free(m);

	buf mu = {0};
	for (int i = 0; i < n; i++) {
		if (!wanted("thaw", i))
			continue;
		rng r = {mutant_seed("thaw", i)};
		char why[512] = "";
		const buf *sd = &seeds[below(&r, 4) == 0];
		buf_set(&mu, sd->p, sd->n);
		int mode = (int)below(&r, 3);
		tsec sec[16];
		int ns = mode ? thaw_split(&mu, sec, 16) : -1;
		if (ns > 0) {
			unsigned char pre[16];
			memcpy(pre, mu.p, 16);
			if (mode == 1) { /* header text edits */
				int k = 1 + (int)below(&r, 2);
				for (int j = 0; j < k; j++)
					edit_header(&r, &sec[0].data, why);
			} else { /* bytes of one section, then CRCs made right again */
				int j = (int)below(&r, (uint32_t)ns);
				why_add(why, " section %s:", sec[j].tag);
				mutate(&r, &sec[j].data, why);
			}
			thaw_join(&mu, pre, sec, ns);
			for (int j = 0; j < ns; j++)
				free(sec[j].data.p);
		} else {
			mutate(&r, &mu, why);
		}
		write_all(path, &mu);
		if (verbose)
			printf("thaw %d:%s\n", i, why), fflush(stdout);
		t->runs++;
		thaw_train_state ts;
		m = thaw_model_load(path, below(&r, 2) ? &ts : NULL);
		check_alloc(t, i, why);
		if (m) {
			t->ok++;
			check_model(t, i, why, m);
			thaw_model_free(m);
		} else {
			check_rejection(t, i, why, path, NULL);
		}
	}
	free(mu.p);
	free(seeds[0].p);
	free(seeds[1].p);
}

/* ======================================================================
 * ONNX: half the mutants edit the decoded protobuf (dims, types, missing
 * initializers, dangling inputs, cycles, attributes) and re-encode it;
 * the rest are byte-level. */
static const int64_t INTERESTING64[] = {-1, 0, 0x7fffffff, 0x80000000ll, 0xffffffffll, 1ll << 40,
					INT64_MAX, INT64_MIN, 1 << 24, 3, 1 << 20, 1 << 28};

/* Applies one edit to mp, pushing an undo record; returns 0 when nothing
 * fitted. Undo restores the decoded message so protobuf-c frees it. */
typedef struct undo {
	int kind;
	void *where;
	int64_t old;
	void *oldp;
	size_t oldn;
} undo;

static int edit_onnx(rng *r, Onnx__ModelProto *mp, undo *u, char *why)
{
	Onnx__GraphProto *g = mp->graph;
	if (!g)
		return 0;
	u->kind = 0;
	switch (below(r, 11)) {
	case 10: /* dimensions drive allocations: the likeliest edit */
	case 0: { /* an initializer's dimension */
		if (!g->n_initializer)
			return 0;
		Onnx__TensorProto *t = g->initializer[below(r, (uint32_t)g->n_initializer)];
		if (!t->n_dims)
			return 0;
		int64_t *d = &t->dims[below(r, (uint32_t)t->n_dims)];
		u->kind = 1, u->where = d, u->old = *d;
		*d = INTERESTING64[below(r, sizeof INTERESTING64 / sizeof *INTERESTING64)];
		why_add(why, " init '%s' dim := %lld", t->name, (long long)*d);
		return 1;
	}
	case 1: { /* an initializer's element type */
		if (!g->n_initializer)
			return 0;
		Onnx__TensorProto *t = g->initializer[below(r, (uint32_t)g->n_initializer)];
		u->kind = 2, u->where = &t->data_type, u->old = t->data_type;
		t->data_type = (int32_t)below(r, 20);
		why_add(why, " init '%s' type := %d", t->name, t->data_type);
		return 1;
	}
	case 2: { /* a missing initializer */
		if (!g->n_initializer)
			return 0;
		size_t k = below(r, (uint32_t)g->n_initializer), last = g->n_initializer - 1;
		Onnx__TensorProto *tmp = g->initializer[k];
		g->initializer[k] = g->initializer[last];
		g->initializer[last] = tmp;
		u->kind = 3, u->where = g, u->old = (int64_t)k;
		g->n_initializer--;
		why_add(why, " init '%s' removed", tmp->name);
		return 1;
	}
	case 3:
	case 4: { /* a dangling input, or one from a later node (a cycle) */
		if (!g->n_node)
			return 0;
		size_t i = below(r, (uint32_t)g->n_node);
		Onnx__NodeProto *nd = g->node[i];
		if (!nd->n_input)
			return 0;
		char **slot = &nd->input[below(r, (uint32_t)nd->n_input)];
		u->kind = 4, u->where = slot, u->oldp = *slot;
		size_t j = i + below(r, (uint32_t)(g->n_node - i));
		if (below(r, 2) && g->node[j]->n_output) {
			*slot = g->node[j]->output[0];
			why_add(why, " node %zu input := output of node %zu", i, j);
		} else {
			*slot = (char *)"no_such_value";
			why_add(why, " node %zu input dangling", i);
		}
		return 1;
	}
	case 5: { /* another operator */
		static const char *const ops[] = {"Conv", "Gemm", "MatMul", "Add", "Relu", "Concat",
						  "Flatten", "Reshape", "BatchNormalization", "MaxPool",
						  "GlobalAveragePool", "Softmax", "Identity", "Clip",
						  "Dropout", "Constant", "Unknown"};
		if (!g->n_node)
			return 0;
		Onnx__NodeProto *nd = g->node[below(r, (uint32_t)g->n_node)];
		u->kind = 4, u->where = &nd->op_type, u->oldp = nd->op_type;
		nd->op_type = (char *)ops[below(r, sizeof ops / sizeof *ops)];
		why_add(why, " node '%s' op := %s", nd->name ? nd->name : "", nd->op_type);
		return 1;
	}
	case 6: { /* an attribute value */
		if (!g->n_node)
			return 0;
		Onnx__NodeProto *nd = g->node[below(r, (uint32_t)g->n_node)];
		if (!nd->n_attribute)
			return 0;
		Onnx__AttributeProto *a = nd->attribute[below(r, (uint32_t)nd->n_attribute)];
		int64_t v = INTERESTING64[below(r, sizeof INTERESTING64 / sizeof *INTERESTING64)];
		if (a->n_ints) {
			int64_t *d = &a->ints[below(r, (uint32_t)a->n_ints)];
			u->kind = 1, u->where = d, u->old = *d;
			*d = v;
		} else {
			u->kind = 1, u->where = &a->i, u->old = a->i;
			a->i = v;
		}
		why_add(why, " attr '%s' := %lld", a->name, (long long)v);
		return 1;
	}
	case 7: { /* the graph input's shape */
		if (!g->n_input)
			return 0;
		Onnx__ValueInfoProto *vi = g->input[0];
		if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
		    !vi->type->tensor_type->shape || !vi->type->tensor_type->shape->n_dim)
			return 0;
		Onnx__TensorShapeProto *s = vi->type->tensor_type->shape;
		Onnx__TensorShapeProto__Dimension *d = s->dim[below(r, (uint32_t)s->n_dim)];
		if (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
			return 0;
		u->kind = 1, u->where = &d->dim_value, u->old = d->dim_value;
		d->dim_value = INTERESTING64[below(r, sizeof INTERESTING64 / sizeof *INTERESTING64)];
		why_add(why, " input dim := %lld", (long long)d->dim_value);
		return 1;
	}
	case 8: { /* raw data cut short */
		if (!g->n_initializer)
			return 0;
		Onnx__TensorProto *t = g->initializer[below(r, (uint32_t)g->n_initializer)];
		if (!t->has_raw_data || !t->raw_data.len)
			return 0;
		u->kind = 5, u->where = &t->raw_data.len, u->oldn = t->raw_data.len;
		t->raw_data.len = below(r, (uint32_t)t->raw_data.len);
		why_add(why, " init '%s' raw_data cut to %zu", t->name, t->raw_data.len);
		return 1;
	}
	default: { /* a node dropped: its output dangles */
		if (!g->n_node)
			return 0;
		size_t k = below(r, (uint32_t)g->n_node), last = g->n_node - 1;
		Onnx__NodeProto *tmp = g->node[k];
		g->node[k] = g->node[last];
		g->node[last] = tmp;
		u->kind = 6, u->where = g, u->old = (int64_t)k;
		g->n_node--;
		why_add(why, " node '%s' removed", tmp->name ? tmp->name : "");
		return 1;
	}
	}
}

static void undo_onnx(undo *u)
{
	Onnx__GraphProto *g = u->where;
	switch (u->kind) {
	case 1:
		*(int64_t *)u->where = u->old;
		break;
	case 2:
		*(int32_t *)u->where = (int32_t)u->old;
		break;
	case 3: {
		size_t k = (size_t)u->old, last = g->n_initializer++;
		Onnx__TensorProto *tmp = g->initializer[k];
		g->initializer[k] = g->initializer[last];
		g->initializer[last] = tmp;
		break;
	}
	case 4:
		*(char **)u->where = u->oldp;
		break;
	case 5:
		*(size_t *)u->where = u->oldn;
		break;
	case 6: {
		size_t k = (size_t)u->old, last = g->n_node++;
		Onnx__NodeProto *tmp = g->node[k];
		g->node[k] = g->node[last];
		g->node[last] = tmp;
		break;
	}
	}
	u->kind = 0;
}

static void fuzz_onnx(tally *t, int n)
{
	char path[300];
	const char *fixtures[] = {"tests/fixtures/onnx/resnet_tiny/model.onnx",
				  "tests/fixtures/onnx/squeezenet_tiny/model.onnx",
				  "tests/fixtures/onnx/mobilenetv2_tiny/model.onnx",
				  "tests/fixtures/onnx/vgg_tiny/model.onnx"};
	buf seeds[6];
	Onnx__ModelProto *dec[6];
	int ns = 0;
	for (int k = 0; k < 2; k++) {
		thaw_model *m = seed_model(!k);
		snprintf(path, sizeof path, "%s/seed%d.onnx", dir, k);
		CHECK_OK(thaw_onnx_export(m, path));
		thaw_model_free(m);
		seeds[ns].p = NULL;
		if (read_all(path, &seeds[ns]) == 0)
			ns++;
	}
	for (int k = 0; k < 4; k++) {
		seeds[ns].p = NULL;
		if (read_all(fixtures[k], &seeds[ns]) == 0)
			ns++;
		else
			free(seeds[ns].p);
	}
	for (int k = 0; k < ns; k++) {
		dec[k] = onnx__model_proto__unpack(NULL, seeds[k].n, seeds[k].p);
		CHECK(dec[k] != NULL);
	}
	snprintf(path, sizeof path, "%s/mutant.onnx", dir);
	buf mu = {0};
	for (int i = 0; i < n; i++) {
		if (!wanted("onnx", i))
			continue;
		rng r = {mutant_seed("onnx", i)};
		char why[512] = "";
		int k = (int)below(&r, (uint32_t)ns);
		why_add(why, "seed %d", k);
		int mode = (int)below(&r, 4);
		if (mode < 2 && dec[k]) { /* structured, sometimes two edits, sometimes bytes after */
			undo u[2];
			int nu = 0;
			for (int j = 0; j < 1 + (int)below(&r, 2); j++)
				if (edit_onnx(&r, dec[k], &u[nu], why))
					nu++;
			size_t len = onnx__model_proto__get_packed_size(dec[k]);
			free(mu.p);
			mu.p = malloc(len);
			mu.n = onnx__model_proto__pack(dec[k], mu.p);
			while (nu > 0)
				undo_onnx(&u[--nu]);
			if (mode == 1)
				mutate(&r, &mu, why);
		} else {
			buf_set(&mu, seeds[k].p, seeds[k].n);
			mutate(&r, &mu, why);
		}
		write_all(path, &mu);
		if (verbose)
			printf("onnx %d: %s\n", i, why), fflush(stdout);
		t->runs++;
		thaw_onnx_info info;
		thaw_model *m = thaw_onnx_import(path, &info);
		check_alloc(t, i, why);
		if (m) {
			t->ok++;
			check_model(t, i, why, m);
			thaw_model_free(m);
		} else {
			check_rejection(t, i, why, path, NULL);
		}
	}
	for (int k = 0; k < ns; k++) {
		onnx__model_proto__free_unpacked(dec[k], NULL);
		free(seeds[k].p);
	}
	free(mu.p);
}

/* ======================================================================
 * IDX: an image file and a label file; one of them is mutated, as plain
 * bytes, as the gzip of mutated bytes, or as mutated gzip bytes. */
static void idx_bytes(buf *b, int ndim, const uint32_t *dims, int labels)
{
	size_t count = 1;
	for (int i = 0; i < ndim; i++)
		count *= dims[i];
	b->n = 4 + 4 * (size_t)ndim + count;
	free(b->p);
	b->p = malloc(b->n);
	b->p[0] = b->p[1] = 0, b->p[2] = 8, b->p[3] = (unsigned char)ndim;
	for (int i = 0; i < ndim; i++)
		put_be32(b->p + 4 + 4 * i, dims[i]);
	for (size_t i = 0; i < count; i++)
		b->p[4 + 4 * ndim + i] = labels ? (unsigned char)(i % 5) : (unsigned char)(i * 37);
}

static void gzip_buf(const char *tmp, buf *b)
{
	gzFile f = gzopen(tmp, "wb6");
	if (b->n)
		gzwrite(f, b->p, (unsigned)b->n);
	gzclose(f);
	read_all(tmp, b);
}

static void fuzz_idx(tally *t, int n)
{
	char pi[300], pl[300], tmp[300];
	snprintf(pi, sizeof pi, "%s/images-idx3-ubyte", dir);
	snprintf(pl, sizeof pl, "%s/labels-idx1-ubyte", dir);
	snprintf(tmp, sizeof tmp, "%s/tmp.gz", dir);
	uint32_t d3[3] = {6, 5, 4}, d4[4] = {4, 3, 3, 3}, l6[1] = {6}, l4[1] = {4};
	buf img[2] = {{0}, {0}}, lab[2] = {{0}, {0}}, mi = {0}, ml = {0};
	idx_bytes(&img[0], 3, d3, 0);
	idx_bytes(&lab[0], 1, l6, 1);
	idx_bytes(&img[1], 4, d4, 0);
	idx_bytes(&lab[1], 1, l4, 1);
	/* the seeds load */
	for (int k = 0; k < 2; k++) {
		write_all(pi, &img[k]);
		write_all(pl, &lab[k]);
		thaw_dataset *d = thaw_idx_load(pi, pl, 0);
		CHECKF(d && d->n == (k ? 4 : 6) && d->n_classes == (k ? 4 : 5), "%s", thaw_errmsg());
		thaw_dataset_free(d);
	}
	for (int i = 0; i < n; i++) {
		if (!wanted("idx", i))
			continue;
		rng r = {mutant_seed("idx", i)};
		char why[512] = "";
		int k = (int)below(&r, 2), target_labels = below(&r, 4) == 0, repr = (int)below(&r, 3);
		buf_set(&mi, img[k].p, img[k].n);
		buf_set(&ml, lab[k].p, lab[k].n);
		buf *b = target_labels ? &ml : &mi;
		why_add(why, "%s %s %s:", k ? "4-d" : "3-d", target_labels ? "labels" : "images",
			repr == 0 ? "plain" : repr == 1 ? "gzip of mutated" : "mutated gzip");
		if (repr == 2)
			gzip_buf(tmp, b);
		mutate(&r, b, why);
		if (repr == 1)
			gzip_buf(tmp, b);
		if (below(&r, 3) == 0) /* the untouched file gzip'd too */
			gzip_buf(tmp, target_labels ? &mi : &ml);
		write_all(pi, &mi);
		write_all(pl, &ml);
		if (verbose)
			printf("idx %d: %s\n", i, why), fflush(stdout);
		t->runs++;
		int ncls = below(&r, 2) ? 0 : 5;
		thaw_dataset *d = thaw_idx_load(pi, pl, ncls);
		check_alloc(t, i, why);
		if (d) {
			t->ok++;
			int good = d->n > 0 && d->c >= 1 && d->c <= 4 && d->h > 0 && d->w > 0 && d->n_classes > 0;
			for (int j = 0; good && j < d->n; j++)
				good = d->y[j] >= 0 && d->y[j] < d->n_classes;
			CHECKF(good, "idx mutant %d (%s): an inconsistent data set", i, why);
			thaw_dataset_free(d);
		} else {
			check_rejection(t, i, why, pi, pl);
		}
	}
	for (int k = 0; k < 2; k++)
		free(img[k].p), free(lab[k].p);
	free(mi.p);
	free(ml.p);
}

/* ======================================================================
 * PNG: gray and RGB written by thaw, plus a 16-bit gray+alpha Adam7 image
 * and a 2-bit palette with transparency written by libpng directly.
 * Mutants sometimes get their chunk CRCs fixed so libpng parses further. */
static void png_seed_libpng(const char *path, int kind)
{
	FILE *f = fopen(path, "wb");
	png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(p);
	if (setjmp(png_jmpbuf(p))) {
		fprintf(stderr, "cannot write seed %s\n", path);
		exit(2);
	}
	png_init_io(p, f);
	int w = kind ? 6 : 5, h = kind ? 4 : 7;
	unsigned char row[64];
	if (kind == 0) {
		png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 16, PNG_COLOR_TYPE_GRAY_ALPHA,
			     PNG_INTERLACE_ADAM7, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	} else {
		png_color pal[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
		png_byte trans[2] = {0, 128};
		png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 2, PNG_COLOR_TYPE_PALETTE,
			     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
		png_set_PLTE(p, info, pal, 4);
		png_set_tRNS(p, info, trans, 2, NULL);
	}
	png_write_info(p, info);
	int passes = png_set_interlace_handling(p);
	for (int pass = 0; pass < passes; pass++)
		for (int y = 0; y < h; y++) {
			for (int x = 0; x < 64; x++)
				row[x] = (unsigned char)(x * 29 + y * 7);
			png_write_row(p, row);
		}
	png_write_end(p, NULL);
	png_destroy_write_struct(&p, &info);
	fclose(f);
}

static void png_fix_crcs(buf *b)
{
	size_t o = 8;
	while (o + 12 <= b->n) {
		uint32_t len = get_be32(b->p + o);
		if (len > b->n - o - 12)
			break;
		put_be32(b->p + o + 8 + len, (uint32_t)crc32(0L, b->p + o + 4, len + 4));
		o += 12 + len;
	}
}

static void fuzz_png(tally *t, int n)
{
	char path[300], seedp[300], root[220], cls[2][240], other[300];
	uint8_t px[3 * 9 * 6];
	for (size_t i = 0; i < sizeof px; i++)
		px[i] = (uint8_t)(i * 13);
	buf seeds[4] = {{0}, {0}, {0}, {0}};
	for (int k = 0; k < 4; k++) {
		snprintf(seedp, sizeof seedp, "%s/seed%d.png", dir, k);
		if (k == 0)
			CHECK_OK(thaw_png_write(seedp, px, 1, 5, 7));
		else if (k == 1)
			CHECK_OK(thaw_png_write(seedp, px, 3, 6, 9));
		else
			png_seed_libpng(seedp, k - 2);
		read_all(seedp, &seeds[k]);
		uint8_t *q = NULL;
		int c, h, w;
		CHECKF(thaw_png_read(seedp, &q, &c, &h, &w) == 0, "seed %d: %s", k, thaw_errmsg());
		free(q);
	}
	/* a folder: root/a/x.png (the mutant) and root/b/y.png (a good image) */
	snprintf(root, sizeof root, "%s/folder", dir);
	snprintf(cls[0], sizeof cls[0], "%s/a", root);
	snprintf(cls[1], sizeof cls[1], "%s/b", root);
	mkdir(root, 0755);
	mkdir(cls[0], 0755);
	mkdir(cls[1], 0755);
	snprintf(other, sizeof other, "%s/y.png", cls[1]);
	write_all(other, &seeds[0]);
	buf mu = {0};
	for (int i = 0; i < n; i++) {
		if (!wanted("png", i))
			continue;
		rng r = {mutant_seed("png", i)};
		char why[512] = "";
		int k = (int)below(&r, 4), in_folder = below(&r, 8) == 0;
		buf_set(&mu, seeds[k].p, seeds[k].n);
		why_add(why, "seed %d:", k);
		if (below(&r, 3) == 0 && mu.n > 33) { /* an IHDR field */
			static const int off[] = {16, 20, 24, 25, 26, 27, 28};
			int o = off[below(&r, 7)];
			static const uint32_t dims[] = {16384, 16385, 12000, 0, 0x7fffffff, 0xffffffff, 1};
			if (o == 16 && below(&r, 2)) { /* both: the largest image the header can claim */
				uint32_t v = dims[below(&r, 7)];
				put_be32(mu.p + 16, v);
				put_be32(mu.p + 20, v);
			} else if (o < 24)
				put_be32(mu.p + o, INTERESTING32[below(&r, sizeof INTERESTING32 / 4)] >>
							   (below(&r, 2) ? 0 : 16));
			else
				mu.p[o] = (unsigned char)below(&r, 20);
			why_add(why, " IHDR@%d", o);
			if (below(&r, 2))
				mutate(&r, &mu, why);
		} else {
			mutate(&r, &mu, why);
		}
		if (below(&r, 2)) {
			png_fix_crcs(&mu);
			why_add(why, " crcs fixed");
		}
		if (in_folder)
			snprintf(path, sizeof path, "%s/x.png", cls[0]);
		else
			snprintf(path, sizeof path, "%s/mutant.png", dir);
		write_all(path, &mu);
		if (verbose)
			printf("png %d: %s%s\n", i, why, in_folder ? " (folder)" : ""), fflush(stdout);
		t->runs++;
		if (in_folder) {
			thaw_dataset *d = thaw_folder_load(root, 0, 0, 0);
			check_alloc(t, i, why);
			if (d) {
				t->ok++;
				CHECK(d->n == 2 && d->n_classes == 2);
				thaw_dataset_free(d);
			} else {
				check_rejection(t, i, why, path, NULL);
			}
			unlink(path);
			continue;
		}
		int c = 0, h = 0, w = 0, ci = 0, hi = 0, wi = 0;
		uint8_t *q = NULL;
		int rc = thaw_png_read(path, &q, &c, &h, &w);
		check_alloc(t, i, why);
		if (rc == 0) {
			t->ok++;
			CHECKF(q && (c == 1 || c == 3) && h > 0 && w > 0 && h <= THAW_PNG_MAX_DIM &&
				       w <= THAW_PNG_MAX_DIM,
			       "png mutant %d (%s): c %d h %d w %d", i, why, c, h, w);
			free(q);
			/* what read decoded, the header-only call agrees with */
			CHECKF(thaw_png_info(path, &ci, &hi, &wi) == 0 && ci == c && hi == h && wi == w,
			       "png mutant %d (%s): info disagrees", i, why);
		} else {
			CHECK(q == NULL);
			check_rejection(t, i, why, path, NULL);
			if (thaw_png_info(path, &ci, &hi, &wi) < 0)
				check_rejection(t, i, why, path, NULL), t->rejected--;
			check_alloc(t, i, why);
		}
	}
	unlink(other);
	rmdir(cls[0]);
	rmdir(cls[1]);
	rmdir(root);
	for (int k = 0; k < 4; k++)
		free(seeds[k].p);
	free(mu.p);
}

/* ======================================================================
 * JPEG: seeds written by thaw (baseline RGB, progressive gray, baseline
 * with an EXIF orientation). Structure-aware edits forge the SOF size and
 * the orientation; reads ask for full-size and DCT-scaled decodes. */
static size_t find_marker(const buf *b, int lo, int hi)
{
	for (size_t i = 2; i + 9 < b->n; i++)
		if (b->p[i] == 0xff && b->p[i + 1] >= lo && b->p[i + 1] <= hi)
			return i;
	return 0;
}

static void fuzz_jpeg(tally *t, int n)
{
	char path[300], seedp[300], root[220], cls[2][240], other[300];
	uint8_t px[3 * 24 * 16];
	for (size_t i = 0; i < sizeof px; i++)
		px[i] = (uint8_t)(i * 29 + (i / 24) * 7);
	buf seeds[3] = {{0}, {0}, {0}};
	for (int k = 0; k < 3; k++) {
		snprintf(seedp, sizeof seedp, "%s/seed%d.jpg", dir, k);
		if (k == 1)
			CHECK_OK(thaw_jpeg_write(seedp, px, 1, 13, 9, 75, 1));
		else
			CHECK_OK(thaw_jpeg_write(seedp, px, 3, 16, 24, 75, 0));
		read_all(seedp, &seeds[k]);
		if (k == 2) { /* APP1 Exif, big-endian, orientation 6, after SOI */
			static const unsigned char app1[36] = {
				0xff, 0xe1, 0, 34, 'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 0x2a, 0, 0, 0, 8,
				0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0};
			buf_splice(&seeds[k], 2, 0, app1, sizeof app1);
			write_all(seedp, &seeds[k]);
		}
		uint8_t *q = NULL;
		int c, h, w;
		CHECKF(thaw_jpeg_read(seedp, 0, 0, &q, &c, &h, &w) == 0, "seed %d: %s", k, thaw_errmsg());
		CHECK(k != 2 || (h == 24 && w == 16));
		free(q);
	}
	snprintf(root, sizeof root, "%s/jfolder", dir);
	snprintf(cls[0], sizeof cls[0], "%s/a", root);
	snprintf(cls[1], sizeof cls[1], "%s/b", root);
	mkdir(root, 0755);
	mkdir(cls[0], 0755);
	mkdir(cls[1], 0755);
	snprintf(other, sizeof other, "%s/y.jpg", cls[1]);
	write_all(other, &seeds[0]);
	buf mu = {0};
	for (int i = 0; i < n; i++) {
		if (!wanted("jpeg", i))
			continue;
		rng r = {mutant_seed("jpeg", i)};
		char why[512] = "";
		int k = (int)below(&r, 3), in_folder = below(&r, 8) == 0;
		buf_set(&mu, seeds[k].p, seeds[k].n);
		why_add(why, "seed %d:", k);
		size_t sof = find_marker(&mu, 0xc0, 0xc2);
		if (below(&r, 3) == 0 && sof) { /* the size the frame claims */
			static const unsigned dims[] = {65535, 65000, 20000, 8193, 4096, 0, 1, 7};
			unsigned hv = dims[below(&r, 8)], wv = below(&r, 2) ? hv : dims[below(&r, 8)];
			mu.p[sof + 5] = (unsigned char)(hv >> 8), mu.p[sof + 6] = (unsigned char)hv;
			mu.p[sof + 7] = (unsigned char)(wv >> 8), mu.p[sof + 8] = (unsigned char)wv;
			why_add(why, " SOF %ux%u", hv, wv);
			if (below(&r, 2))
				mutate(&r, &mu, why);
		} else if (k == 2 && below(&r, 4) == 0) { /* the orientation value */
			mu.p[2 + 29] = (unsigned char)below(&r, 12);
			why_add(why, " orientation %d", mu.p[2 + 29]);
		} else {
			mutate(&r, &mu, why);
		}
		if (in_folder)
			snprintf(path, sizeof path, "%s/x.jpg", cls[0]);
		else
			snprintf(path, sizeof path, "%s/mutant.jpg", dir);
		write_all(path, &mu);
		if (verbose)
			printf("jpeg %d: %s%s\n", i, why, in_folder ? " (folder)" : ""), fflush(stdout);
		t->runs++;
		if (in_folder) {
			thaw_image_opts o = thaw_image_opts_default();
			o.h = below(&r, 2) ? 8 : 0, o.w = o.h;
			o.resize = (thaw_resize_mode)below(&r, 3);
			o.threads = 1 + (int)below(&r, 2);
			thaw_dataset *d = thaw_folder_load_opts(root, &o);
			check_alloc(t, i, why);
			if (d) {
				t->ok++;
				CHECK(d->n == 2 && d->n_classes == 2);
				thaw_dataset_free(d);
			} else {
				check_rejection(t, i, why, path, NULL);
			}
			unlink(path);
			continue;
		}
		int mh = below(&r, 2) ? 0 : 1 + (int)below(&r, 16), mw = mh ? 1 + (int)below(&r, 16) : 0;
		int c = 0, h = 0, w = 0, ci = 0, hi = 0, wi = 0;
		uint8_t *q = NULL;
		int rc = thaw_image_read(path, mh, mw, &q, &c, &h, &w);
		check_alloc(t, i, why);
		if (rc == 0) {
			t->ok++;
			CHECKF(q && (c == 1 || c == 3) && h > 0 && w > 0 && (long long)h * w <= THAW_IMAGE_MAX_PIXELS,
			       "jpeg mutant %d (%s): c %d h %d w %d", i, why, c, h, w);
			/* touch every pixel: the sanitizer sees a short buffer */
			unsigned sum = 0;
			for (size_t j = 0; q && j < (size_t)c * h * w; j++)
				sum += q[j];
			(void)sum;
			free(q);
			/* what read decoded, the header-only call agrees with */
			int irc = thaw_image_info(path, &ci, &hi, &wi);
			CHECKF(irc == 0 && ci == c && (mh || (hi == h && wi == w)), "jpeg mutant %d (%s): info disagrees",
			       i, why);
		} else {
			CHECK(q == NULL);
			check_rejection(t, i, why, path, NULL);
			if (thaw_image_info(path, &ci, &hi, &wi) < 0)
				check_rejection(t, i, why, path, NULL), t->rejected--;
			check_alloc(t, i, why);
		}
	}
	unlink(other);
	rmdir(cls[0]);
	rmdir(cls[1]);
	rmdir(root);
	for (int k = 0; k < 3; k++)
		free(seeds[k].p);
	free(mu.p);
}

static void remove_dir(const char *d)
{
	DIR *dp = opendir(d);
	if (!dp)
		return;
	struct dirent *e;
	char p[600];
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof p, "%s/%s", d, e->d_name);
			unlink(p);
		}
	closedir(dp);
	rmdir(d);
}

int main(void)
{
	const char *e;
	if ((e = getenv("THAW_FUZZ_SEED")))
		seed = strtoull(e, NULL, 0);
	if ((e = getenv("THAW_FUZZ_SCALE")))
		scale = atof(e);
	verbose = getenv("THAW_FUZZ_VERBOSE") != NULL;
	keep = getenv("THAW_FUZZ_KEEP") != NULL;
	if ((e = getenv("THAW_FUZZ_ONLY")) && strchr(e, ':')) {
		snprintf(only_fmt, sizeof only_fmt, "%.*s", (int)(strchr(e, ':') - e), e);
		only_index = atoi(strchr(e, ':') + 1);
	}
	const char *tmpdir = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/thaw-fuzz-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
#if defined(__SANITIZE_ADDRESS__)
	/* ASan reports every failed large allocation as an error unless told
	 * to return NULL; a loader must cope with NULL anyway. */
	const int san = 1;
	__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
#else
	const int san = 0;
#endif
	/* iterations: sized for ~15 s in the sanitizer build on a shared core */
	tally tt = {"thaw", 0, 0, 0, 0, 0, 0}, to = {"onnx", 0, 0, 0, 0, 0, 0}, ti = {"idx", 0, 0, 0, 0, 0, 0},
	      tp = {"png", 0, 0, 0, 0, 0, 0}, tj = {"jpeg", 0, 0, 0, 0, 0, 0};
	tt.seconds = thaw_now();
	fuzz_thaw(&tt, iters(san ? 5000 : 6000));
	tt.seconds = thaw_now() - tt.seconds;
	to.seconds = thaw_now();
	fuzz_onnx(&to, iters(san ? 3000 : 4000));
	to.seconds = thaw_now() - to.seconds;
	ti.seconds = thaw_now();
	fuzz_idx(&ti, iters(san ? 5000 : 6000));
	ti.seconds = thaw_now() - ti.seconds;
	tp.seconds = thaw_now();
	fuzz_png(&tp, iters(san ? 5000 : 6000));
	tp.seconds = thaw_now() - tp.seconds;
	tj.seconds = thaw_now();
	fuzz_jpeg(&tj, iters(san ? 3000 : 5000));
	tj.seconds = thaw_now() - tj.seconds;
	printf("seed %llu:\n", (unsigned long long)seed);
	report(&tt);
	report(&to);
	report(&ti);
	report(&tp);
	report(&tj);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS %.1f MB\n", ru.ru_maxrss / 1024.0);
	CHECKF(ru.ru_maxrss < 1024 * 1024, "peak RSS %ld kB", ru.ru_maxrss);
	if (only_index < 0) /* every format saw mostly rejections and some loads */
		CHECK(tt.ok > 0 && tt.rejected > 0 && to.ok > 0 && to.rejected > 0 && ti.ok > 0 &&
		      ti.rejected > 0 && tp.ok > 0 && tp.rejected > 0 && tj.ok > 0 && tj.rejected > 0);
	if (!keep)
		remove_dir(dir);
	else
		printf("kept %s\n", dir);
	return check_done();
}
