/* ONNX conformance against data no one here wrote: Debian's libonnx-testdata
 * (the ONNX backend test cases). A case runs when thaw imports its model;
 * its outputs must match within 1e-4 (relative above 1).
 *
 * Cases whose extra graph inputs are weights run with those inputs turned
 * into initializers (see promote_inputs); cases with two image inputs
 * (Add, Concat, MatMul of two activations) cannot be thaw models: skipped.
 *
 *   test_onnx_conformance [-v] [DIR...]   (default: node/ and pytorch-converted/)
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "onnx.pb-c.h"
#include "onnx_pb.h"
#include "thaw/onnx.h"

#define DATA "/usr/share/libonnx-testdata/data"

static int verbose;
static int n_ran, n_passed, n_skipped;
static char ops_seen[4096];

/* float data of a FLOAT tensor (malloc'd) and its element count */
static float *floats_of(const Onnx__TensorProto *t, size_t *n)
{
	size_t c = tensor_count(t);
	*n = c;
	if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
		return NULL;
	float *x = malloc(c ? c * sizeof(float) : 4);
	if (t->has_raw_data && t->raw_data.len == 4 * c)
		memcpy(x, t->raw_data.data, 4 * c);
	else if (t->n_float_data == c)
		memcpy(x, t->float_data, 4 * c);
	else {
		free(x);
		return NULL;
	}
	return x;
}

/* op types of a model, for the list of operators exercised */
static void note_ops(const char *model_path)
{
	FILE *f = fopen(model_path, "rb");
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc((size_t)n);
	Onnx__ModelProto *mp = NULL;
	if (fread(b, 1, (size_t)n, f) == (size_t)n)
		mp = onnx__model_proto__unpack(NULL, (size_t)n, b);
	free(b);
	fclose(f);
	for (size_t i = 0; mp && mp->graph && i < mp->graph->n_node; i++) {
		char key[80];
		snprintf(key, sizeof key, " %s,", mp->graph->node[i]->op_type);
		if (!strstr(ops_seen, key) && strlen(ops_seen) + strlen(key) < sizeof ops_seen)
			strcat(ops_seen, key);
	}
	if (mp)
		onnx__model_proto__free_unpacked(mp, NULL);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs one data set; returns 1 pass, 0 fail. */
static int run_set(thaw_model *m, const thaw_onnx_info *info, const char *dir, const char *name,
		   int promoted)
{
	char p[2200];
	snprintf(p, sizeof p, "%s/input_1.pb", dir);
	struct stat sb;
	if (!promoted && stat(p, &sb) == 0) {
		printf("FAIL %s: a second input, though the import took one\n", name);
		return 0;
	}
	snprintf(p, sizeof p, "%s/input_0.pb", dir);
	Onnx__TensorProto *ti = read_tensor(p);
	snprintf(p, sizeof p, "%s/output_0.pb", dir);
	Onnx__TensorProto *to = read_tensor(p);
	int ok = 0;
	size_t ni = 0, no = 0;
	float *x = ti ? floats_of(ti, &ni) : NULL, *want = to ? floats_of(to, &no) : NULL;
	if (!x || !want || ti->n_dims < 1 || ti->dims[0] <= 0) {
		printf("FAIL %s: unreadable test data\n", name);
		goto out;
	}
	int B = (int)ti->dims[0];
	size_t per = (size_t)m->input.c * m->input.h * m->input.w;
	if (ni != per * (size_t)B) {
		printf("FAIL %s: input has %zu values, the model takes %d x %zu\n", name, ni, B, per);
		goto out;
	}
	if (thaw_model_forward(m, x, B, 0) < 0) {
		printf("FAIL %s: forward: %s\n", name, thaw_errmsg());
		goto out;
	}
	size_t K = thaw_shape_sample(thaw_model_output_shape(m));
	if (no != K * (size_t)B) {
		printf("FAIL %s: output has %zu values, expected %zu\n", name, K * (size_t)B, no);
		goto out;
	}
	float *y = malloc(no * sizeof(float));
	memcpy(y, thaw_model_output(m), no * sizeof(float));
	if (info->softmax)
		for (int b = 0; b < B; b++) {
			float *r = y + (size_t)b * K, mx = -INFINITY, s = 0;
			for (size_t k = 0; k < K; k++)
				mx = r[k] > mx ? r[k] : mx;
			for (size_t k = 0; k < K; k++)
				s += (r[k] = expf(r[k] - mx));
			for (size_t k = 0; k < K; k++)
				r[k] /= s;
		}
	float d = thaw_max_rel_diff(y, want, no);
	ok = d <= 1e-4f;
	if (!ok)
		printf("FAIL %s: max relative difference %g\n", name, d);
	else if (verbose)
		printf("pass %s (max diff %.2g)\n", name, d);
	free(y);
out:
	free(x);
	free(want);
	if (ti)
		onnx__tensor_proto__free_unpacked(ti, NULL);
	if (to)
		onnx__tensor_proto__free_unpacked(to, NULL);
	return ok;
}

static unsigned char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc(len > 0 ? (size_t)len : 1);
	if (b && fread(b, 1, (size_t)len, f) != (size_t)len) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*n = (size_t)len;
	return b;
}

/* Node tests feed weights (Conv's W, Gemm's B, BatchNormalization's
 * statistics, Clip's bounds) as extra graph inputs. thaw takes one image
 * input and learns its own weights, so those inputs become initializers
 * holding the data set's values; the first input stays the image. Writes
 * the rewritten model to out; returns 0 when there was something to do. */
static int promote_inputs(const char *model, const char *set, const char *out)
{
	size_t n;
	unsigned char *b = slurp(model, &n);
	Onnx__ModelProto *mp = b ? onnx__model_proto__unpack(NULL, n, b) : NULL;
	free(b);
	if (!mp || !mp->graph)
		return -1;
	Onnx__GraphProto *g = mp->graph;
	int rc = -1;
	size_t nin = 0;
	Onnx__ValueInfoProto *ins[16];
	for (size_t i = 0; i < g->n_input && nin < 16; i++) {
		int is_init = 0;
		for (size_t k = 0; k < g->n_initializer; k++)
			is_init |= !strcmp(g->initializer[k]->name, g->input[i]->name);
		if (!is_init)
			ins[nin++] = g->input[i];
	}
	Onnx__TensorProto *extra[16] = {0}, **inits = NULL;
	char *own_name[16] = {0};
	size_t nextra = 0;
	if (nin >= 2) {
		rc = 0;
		for (size_t i = 1; i < nin && rc == 0; i++) {
			char p[2200];
			snprintf(p, sizeof p, "%s/input_%zu.pb", set, i);
			extra[nextra] = read_tensor(p);
			if (!extra[nextra])
				rc = -1;
			else {
				own_name[nextra] = extra[nextra]->name;
				extra[nextra++]->name = ins[i]->name;
			}
		}
	}
	if (rc == 0) {
		inits = malloc((g->n_initializer + nextra) * sizeof *inits);
		if (g->n_initializer)
			memcpy(inits, g->initializer, g->n_initializer * sizeof *inits);
		memcpy(inits + g->n_initializer, extra, nextra * sizeof *inits);
		Onnx__TensorProto **old_i = g->initializer;
		size_t old_ni = g->n_initializer, old_nin = g->n_input;
		Onnx__ValueInfoProto **old_in = g->input;
		g->initializer = inits;
		g->n_initializer += nextra;
		g->input = ins;
		g->n_input = 1;
		size_t len = onnx__model_proto__get_packed_size(mp);
		uint8_t *buf = malloc(len);
		onnx__model_proto__pack(mp, buf);
		FILE *f = fopen(out, "wb");
		rc = f && fwrite(buf, 1, len, f) == len ? 0 : -1;
		if (f)
			fclose(f);
		free(buf);
		g->initializer = old_i;
		g->n_initializer = old_ni;
		g->input = old_in;
		g->n_input = old_nin;
	}
	for (size_t i = 0; i < nextra; i++) {
		extra[i]->name = own_name[i];
		onnx__tensor_proto__free_unpacked(extra[i], NULL);
	}
	free(inits);
	onnx__model_proto__free_unpacked(mp, NULL);
	return rc;
}

static int n_promoted;

static void run_case(const char *dir, const char *name)
{
	char model[1024], sub[1024], tmp[64] = "";
	snprintf(model, sizeof model, "%s/%s/model.onnx", dir, name);
	snprintf(sub, sizeof sub, "%s/%s", dir, name);
	thaw_onnx_info info;
	thaw_model *m = thaw_onnx_import(model, &info);
	int promoted = 0;
	if (!m && strstr(thaw_errmsg(), "non-constant inputs")) {
		char why[1024], set0[2100];
		snprintf(why, sizeof why, "%s", thaw_errmsg());
		snprintf(set0, sizeof set0, "%s/test_data_set_0", sub);
		snprintf(tmp, sizeof tmp, "/tmp/thaw-conf-%d.onnx", (int)getpid());
		if (promote_inputs(model, set0, tmp) == 0) {
			m = thaw_onnx_import(tmp, &info);
			promoted = m != NULL;
		}
		if (!m)
			thaw_error(THAW_EINVAL, "%s", why);
	}
	if (!m) {
		n_skipped++;
		if (verbose)
			printf("skip %s: %s\n", name, thaw_errmsg());
		if (tmp[0])
			unlink(tmp);
		return;
	}
	n_ran++;
	n_promoted += promoted;
	int ok = 1, sets = 0;
	DIR *d = opendir(sub);
	for (struct dirent *e; d && (e = readdir(d));) {
		if (strncmp(e->d_name, "test_data_set_", 14))
			continue;
		char set[2048];
		snprintf(set, sizeof set, "%s/%s", sub, e->d_name);
		thaw_model *ms = m;
		if (promoted && strcmp(e->d_name, "test_data_set_0")) {
			/* other data sets may carry other weights */
			ms = promote_inputs(model, set, tmp) == 0 ? thaw_onnx_import(tmp, &info) : NULL;
			if (!ms) {
				printf("FAIL %s/%s: %s\n", name, e->d_name, thaw_errmsg());
				ok = 0;
				continue;
			}
		}
		ok &= run_set(ms, &info, set, name, promoted);
		if (ms != m)
			thaw_model_free(ms);
		sets++;
	}
	if (d)
		closedir(d);
	if (tmp[0])
		unlink(tmp);
	if (!sets) {
		printf("FAIL %s: no test data sets\n", name);
		ok = 0;
	}
	n_passed += ok;
	CHECKF(ok, "%s", name);
	if (ok)
		note_ops(model);
	thaw_model_free(m);
}

static void run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		printf("conformance: %s not found (install libonnx-testdata); skipped\n", dir);
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			names = realloc(names, cap * sizeof *names);
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n; i++) {
		run_case(dir, names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	int ndirs = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else {
			run_dir(argv[i]);
			ndirs++;
		}
	}
	if (!ndirs) {
		run_dir(DATA "/node");
		run_dir(DATA "/pytorch-converted");
		DIR *fx = opendir("tests/fixtures/onnx");
		if (fx) {
			closedir(fx);
			run_dir("tests/fixtures/onnx");
		}
	}
	printf("conformance: %d ran, %d passed, %d skipped\n", n_ran, n_passed, n_skipped);
	printf("(%d of those ran with weight inputs fed as initializers)\n", n_promoted);
	printf("operators in passing cases:%s\n", ops_seen[0] ? ops_seen : " (none)");
	return check_done();
}
