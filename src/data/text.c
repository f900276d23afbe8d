/* Text data sets: class folders of .txt files and TSV/CSV tables, read
 * whole, tokenized (thaw/vocab.h) into a growing vocabulary and a flat
 * list of ids, then padded or cut to one length into the dataset store. */
#include "thaw/text.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

thaw_text_opts thaw_text_opts_default(void)
{
	return (thaw_text_opts){.lower = 1, .percentile = 95.0f, .min_count = 1};
}

/* ---- the builder: texts as ids of one vocabulary, before padding */
typedef struct builder {
	const thaw_text_opts *o;
	thaw_vocab *v;     /* owned reference: the given vocabulary or one being built */
	int building;      /* v is being built here (words added as they come) */
	thaw_vocab *labels; /* label name -> index in order of appearance (tables) */
	int32_t *ids;      /* all texts' tokens, one after another */
	size_t nids, capids;
	size_t *start;     /* (n + 1) where text i starts in ids */
	int32_t *y;
	int n, cap;
	int invalid_texts, empty_texts;
	char first_invalid[160], first_empty[160];
} builder;

static int builder_init(builder *b, const thaw_text_opts *o)
{
	memset(b, 0, sizeof *b);
	b->o = o;
	if (o->vocab) {
		b->v = thaw_vocab_ref(o->vocab);
	} else {
		b->v = thaw_vocab_new(o->lower);
		b->building = 1;
	}
	b->start = thaw_malloc(sizeof *b->start);
	if (!b->v || !b->start)
		return THAW_ENOMEM;
	b->start[0] = 0;
	return 0;
}

static void builder_free(builder *b)
{
	thaw_vocab_free(b->v);
	thaw_vocab_free(b->labels);
	free(b->ids);
	free(b->start);
	free(b->y);
}

/* Adds one text (len bytes) with label y; where names it for the notes. */
static int builder_add(builder *b, const char *s, size_t len, int y, const char *where)
{
	if (b->n == b->cap) {
		int cap = b->cap ? 2 * b->cap : 256;
		size_t *st = realloc(b->start, sizeof *st * ((size_t)cap + 1));
		if (st)
			b->start = st;
		int32_t *yy = realloc(b->y, sizeof *yy * (size_t)cap);
		if (yy)
			b->y = yy;
		if (!st || !yy)
			return thaw_error(THAW_ENOMEM, "out of memory (%d texts)", cap);
		b->cap = cap;
	}
	thaw_token_iter it = thaw_token_iter_init(s, (long)len, b->v->lower);
	size_t before = b->nids;
	while (thaw_token_next(&it)) {
		if (b->nids == b->capids) {
			size_t cap = b->capids ? 2 * b->capids : 4096;
			int32_t *t = realloc(b->ids, sizeof *t * cap);
			if (!t)
				return thaw_error(THAW_ENOMEM, "out of memory (%zu tokens)", cap);
			b->ids = t, b->capids = cap;
		}
		int id = b->building ? thaw_vocab_add(b->v, it.tok, it.len, 1) : thaw_vocab_find(b->v, it.tok, it.len);
		if (id < 0)
			return id;
		b->ids[b->nids++] = id;
	}
	if (it.invalid && !b->invalid_texts++)
		snprintf(b->first_invalid, sizeof b->first_invalid, "%s", where);
	if (b->nids == before && !b->empty_texts++)
		snprintf(b->first_empty, sizeof b->first_empty, "%s", where);
	b->y[b->n++] = y;
	b->start[b->n] = b->nids;
	return 0;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* The length covering pct percent of the texts in full (at least 1). */
static int percentile_length(const int32_t *len, int n, float pct)
{
	if (n == 0)
		return 1;
	int32_t *s = thaw_malloc(sizeof *s * (size_t)n);
	if (!s)
		return -1;
	memcpy(s, len, sizeof *s * (size_t)n);
	qsort(s, (size_t)n, sizeof *s, cmp_i32);
	double k = ceil((double)pct / 100.0 * n) - 1;
	int i = k < 0 ? 0 : k >= n ? n - 1 : (int)k;
	int L = s[i] > 0 ? s[i] : 1;
	free(s);
	return L;
}

/* The store from the builder: length, optional vocabulary limits, notes. */
static thaw_dataset *builder_finish(builder *b, int n_classes, const char *const *names, const char *source,
				    thaw_sbuf *notes)
{
	const thaw_text_opts *o = b->o;
	thaw_dataset *d = NULL;
	int32_t *len = thaw_malloc(sizeof *len * (size_t)(b->n ? b->n : 1));
	int *map = NULL;
	thaw_vocab *v = thaw_vocab_ref(b->v);
	if (!len)
		goto fail;
	for (int i = 0; i < b->n; i++)
		len[i] = (int32_t)(b->start[i + 1] - b->start[i]);
	int L = o->length > 0 ? o->length : percentile_length(len, b->n, o->percentile > 0 ? o->percentile : 95.0f);
	if (L < 0)
		goto fail;
	if (b->building && (o->min_count > 1 || o->max_words > 0)) {
		thaw_vocab *lim = thaw_vocab_limit(b->v, NULL, o->min_count, o->max_words);
		map = thaw_malloc(sizeof *map * (size_t)b->v->n);
		if (!lim || !map) {
			thaw_vocab_free(lim);
			goto fail;
		}
		for (int id = 0; id < b->v->n; id++)
			map[id] = id < THAW_TOKEN_FIRST ? id : thaw_vocab_find(lim, b->v->words[id], strlen(b->v->words[id]));
		thaw_vocab_free(v);
		v = lim;
	}
	d = thaw_text_dataset_new(b->n, L, n_classes, v);
	if (!d || (names && thaw_dataset_set_class_names(d, names, n_classes) < 0))
		goto fail;
	int cut = 0;
	for (int i = 0; i < b->n; i++) {
		int k = len[i] < L ? len[i] : L;
		const int32_t *src = b->ids + b->start[i];
		int32_t *dst = d->ids + (size_t)i * L;
		for (int t = 0; t < k; t++)
			dst[t] = map ? map[src[t]] : src[t];
		d->len[i] = len[i];
		d->y[i] = b->y[i];
		cut += len[i] > L;
	}
	snprintf(d->source, sizeof d->source, "%s", source);
	if (o->length <= 0)
		thaw_sbuf_printf(notes, "length %d tokens: the %g%% percentile of the texts' lengths (%d cut)\n", L,
				 (double)(o->percentile > 0 ? o->percentile : 95.0f), cut);
	else if (cut)
		thaw_sbuf_printf(notes, "%d of %d texts cut to %d tokens\n", cut, b->n, L);
	if (b->empty_texts)
		thaw_sbuf_printf(notes, "%d text%s without a word, kept as padding only (first: %s)\n", b->empty_texts,
				 b->empty_texts == 1 ? "" : "s", b->first_empty);
	if (b->invalid_texts)
		thaw_sbuf_printf(notes, "%d text%s with bytes that are not UTF-8, read as separators (first: %s)\n",
				 b->invalid_texts, b->invalid_texts == 1 ? "" : "s", b->first_invalid);
	if (map)
		thaw_sbuf_printf(notes, "vocabulary limited to %d ids (min count %d, max %d) of %d words\n", v->n,
				 o->min_count, o->max_words, b->v->n - THAW_TOKEN_FIRST);
	if (notes->len && !notes->oom) {
		if (notes->s[notes->len - 1] == '\n')
			notes->s[--notes->len] = 0;
		d->notes = notes->s;
		notes->s = NULL;
	}
	free(len);
	free(map);
	thaw_vocab_free(v);
	return d;
fail:
	thaw_dataset_free(d);
	free(len);
	free(map);
	thaw_vocab_free(v);
	return NULL;
}

/* ---- files */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		thaw_error(THAW_EIO, "%s: %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 1 << 16, n = 0;
	char *s = thaw_malloc(cap + 1);
	while (s) {
		size_t k = fread(s + n, 1, cap - n, f);
		n += k;
		if (n < cap)
			break;
		char *t = realloc(s, 2 * cap + 1);
		if (!t) {
			free(s);
			s = NULL;
			thaw_error(THAW_ENOMEM, "%s: out of memory reading %zu bytes", path, 2 * cap);
			break;
		}
		s = t, cap *= 2;
	}
	if (s && ferror(f)) {
		thaw_error(THAW_EIO, "%s: read failed: %s", path, strerror(errno));
		free(s);
		s = NULL;
	}
	fclose(f);
	if (s) {
		s[n] = 0;
		*len = n;
	}
	return s;
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_ext(const char *name, const char *ext)
{
	const char *dot = strrchr(name, '.');
	return dot && !strcasecmp(dot, ext);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names of the entries of dir (hidden ones left out); dirs_only
 * keeps folders, else files. */
static int list_dir(const char *dir, int dirs_only, char ***out, int *n)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return thaw_error(THAW_EIO, "%s: %s", dir, strerror(errno));
	char **v = NULL;
	int k = 0, cap = 0, rc = 0;
	struct dirent *e;
	while ((e = readdir(dp))) {
		if (e->d_name[0] == '.')
			continue;
		char p[4352];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (is_dir(p) != dirs_only)
			continue;
		if (k == cap) {
			cap = cap ? 2 * cap : 64;
			char **t = realloc(v, sizeof *t * (size_t)cap);
			if (!t) {
				rc = thaw_error(THAW_ENOMEM, "out of memory");
				break;
			}
			v = t;
		}
		if (!(v[k] = strdup(e->d_name))) {
			rc = thaw_error(THAW_ENOMEM, "out of memory");
			break;
		}
		k++;
	}
	closedir(dp);
	if (rc < 0) {
		for (int i = 0; i < k; i++)
			free(v[i]);
		free(v);
		return rc;
	}
	if (k > 1)
		qsort(v, (size_t)k, sizeof *v, cmp_str);
	*out = v;
	*n = k;
	return 0;
}

static void free_list(char **v, int n)
{
	for (int i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

thaw_dataset *thaw_text_folder_load(const char *root, const thaw_text_opts *o)
{
	thaw_text_opts def = thaw_text_opts_default();
	if (!o)
		o = &def;
	char **classes = NULL;
	int nc = 0;
	if (list_dir(root, 1, &classes, &nc) < 0)
		return NULL;
	builder b;
	thaw_sbuf notes = {0};
	thaw_dataset *d = NULL;
	int other = 0;
	char first_other[256] = "";
	if (builder_init(&b, o) < 0)
		goto out;
	if (nc == 0) {
		thaw_error(THAW_EINVAL, "%s: no class folders (expected %s/<class>/<name>.txt)", root, root);
		goto out;
	}
	for (int c = 0; c < nc; c++) {
		char dir[4352];
		snprintf(dir, sizeof dir, "%s/%s", root, classes[c]);
		char **files = NULL;
		int nf = 0;
		if (list_dir(dir, 0, &files, &nf) < 0)
			goto out;
		int kept = 0;
		for (int i = 0; i < nf; i++) {
			char p[4608];
			snprintf(p, sizeof p, "%s/%s", dir, files[i]);
			if (!has_ext(files[i], ".txt")) {
				if (!other++)
					snprintf(first_other, sizeof first_other, "%s/%s", classes[c], files[i]);
				continue;
			}
			size_t len;
			char *s = read_file(p, &len);
			int rc = s ? builder_add(&b, s, len, c, p) : THAW_EIO;
			free(s);
			if (rc < 0) {
				free_list(files, nf);
				goto out;
			}
			kept++;
		}
		free_list(files, nf);
		if (!kept) {
			thaw_error(THAW_EINVAL, "%s: class folder '%s' holds no .txt files", root, classes[c]);
			goto out;
		}
	}
	if (other)
		thaw_sbuf_printf(&notes, "skipped %d file%s that %s not .txt (%s%s)\n", other, other == 1 ? "" : "s",
				 other == 1 ? "is" : "are", first_other, other > 1 ? ", ..." : "");
	d = builder_finish(&b, nc, (const char *const *)classes, root, &notes);
out:
	builder_free(&b);
	free(notes.s);
	free_list(classes, nc);
	return d;
}

/* One CSV field starting at *p (quoted with "" inside, or plain up to the
 * separator); the unquoted text goes to out. Returns 0, or < 0 for a quote
 * never closed. *line counts the newlines a quoted field spans. */
static int csv_field(const char **p, const char *end, char sep, thaw_sbuf *out, int *line)
{
	const char *s = *p;
	out->len = 0;
	if (s < end && *s == '"') {
		s++;
		for (;;) {
			if (s >= end)
				return -1;
			if (*s == '"') {
				if (s + 1 < end && s[1] == '"') {
					thaw_sbuf_printf(out, "\"");
					s += 2;
					continue;
				}
				s++;
				break;
			}
			if (*s == '\n')
				(*line)++;
			thaw_sbuf_printf(out, "%c", *s);
			s++;
		}
		while (s < end && *s != sep && *s != '\n') /* text after the closing quote */
			thaw_sbuf_printf(out, "%c", *s++);
	} else {
		const char *e = s;
		while (e < end && *e != sep && *e != '\n')
			e++;
		thaw_sbuf_printf(out, "%.*s", (int)(e - s), s);
		s = e;
	}
	*p = s;
	return out->oom ? THAW_ENOMEM : 0;
}

/* Whether the first line [p, e) is a header, per opts->header. */
static int is_header(const char *p, const char *e, char sep, int header)
{
	if (header)
		return header > 0;
	static const char *const names[] = {"label", "labels", "class", "category", "section", "y", NULL};
	const char *s = memchr(p, sep, (size_t)(e - p));
	size_t n = (size_t)((s ? s : e) - p);
	if (n >= 2 && *p == '"' && p[n - 1] == '"')
		p++, n -= 2;
	for (int i = 0; names[i]; i++)
		if (strlen(names[i]) == n && !strncasecmp(p, names[i], n))
			return 1;
	return 0;
}

thaw_dataset *thaw_text_table_load(const char *path, const thaw_text_opts *o)
{
	thaw_text_opts def = thaw_text_opts_default();
	if (!o)
		o = &def;
	char sep = o->delim ? o->delim : has_ext(path, ".csv") ? ',' : '\t';
	int csv = sep != '\t';
	size_t n;
	char *buf = read_file(path, &n);
	if (!buf)
		return NULL;
	builder b;
	thaw_sbuf notes = {0}, label = {0}, text = {0};
	thaw_dataset *d = NULL;
	char **names = NULL;
	int *order = NULL, *rank = NULL;
	if (builder_init(&b, o) < 0 || !(b.labels = thaw_vocab_new(0)))
		goto out;
	const char *p = buf, *end = buf + n;
	if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) /* a byte-order mark */
		p += 3;
	int line = 0, blank = 0;
	while (p < end) {
		line++;
		int first = line;
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		if (le > p && le[-1] == '\r')
			le--;
		if (le == p || (line == 1 && is_header(p, le, sep, o->header))) {
			blank += le == p;
			p = eol ? eol + 1 : end;
			continue;
		}
		if (csv) {
			if (csv_field(&p, end, sep, &label, &line) < 0 || p >= end || *p != sep) {
				thaw_error(THAW_EFORMAT, "%s:%d: %s", path, first,
					   p >= end && label.len == 0 ? "a quoted label is never closed"
								     : "expected label, separator, text");
				goto out;
			}
			p++;
			if (csv_field(&p, end, sep, &text, &line) < 0) {
				thaw_error(THAW_EFORMAT, "%s:%d: a quoted text is never closed", path, first);
				goto out;
			}
			if (p < end && *p == sep) {
				thaw_error(THAW_EFORMAT, "%s:%d: more than two fields (quote a text holding '%c')", path,
					   line, sep);
				goto out;
			}
			if (p < end && *p == '\n')
				p++;
		} else {
			const char *tab = memchr(p, '\t', (size_t)(le - p));
			if (!tab) {
				thaw_error(THAW_EFORMAT, "%s:%d: no tab between label and text", path, line);
				goto out;
			}
			label.len = 0, text.len = 0;
			thaw_sbuf_printf(&label, "%.*s", (int)(tab - p), p);
			thaw_sbuf_printf(&text, "%.*s", (int)(le - tab - 1), tab + 1);
			p = eol ? eol + 1 : end;
		}
		if (label.oom || text.oom) {
			thaw_error(THAW_ENOMEM, "%s:%d: out of memory", path, first);
			goto out;
		}
		size_t ll = label.len;
		while (ll && (label.s[ll - 1] == ' ' || label.s[ll - 1] == '\r'))
			ll--;
		if (ll == 0) {
			thaw_error(THAW_EFORMAT, "%s:%d: empty label", path, first);
			goto out;
		}
		int y = thaw_vocab_add(b.labels, label.s, ll, 1);
		char where[300];
		snprintf(where, sizeof where, "%s:%d", path, first);
		if (y < 0 || builder_add(&b, text.s ? text.s : "", text.len, y - THAW_TOKEN_FIRST, where) < 0)
			goto out;
	}
	if (b.n == 0) {
		thaw_error(THAW_EINVAL, "%s: no texts (expected label%stext lines)", path, csv ? "," : "<TAB>");
		goto out;
	}
	/* classes in sorted order, as for folders */
	int nc = b.labels->n - THAW_TOKEN_FIRST;
	names = thaw_malloc(sizeof *names * (size_t)nc);
	order = thaw_malloc(sizeof *order * (size_t)nc);
	rank = thaw_malloc(sizeof *rank * (size_t)nc);
	if (!names || !order || !rank)
		goto out;
	for (int i = 0; i < nc; i++)
		names[i] = b.labels->words[THAW_TOKEN_FIRST + i];
	qsort(names, (size_t)nc, sizeof *names, cmp_str);
	for (int i = 0; i < nc; i++)
		rank[thaw_vocab_find(b.labels, names[i], strlen(names[i])) - THAW_TOKEN_FIRST] = i;
	for (int i = 0; i < b.n; i++)
		b.y[i] = rank[b.y[i]];
	if (blank)
		thaw_sbuf_printf(&notes, "%d blank line%s skipped\n", blank, blank == 1 ? "" : "s");
	d = builder_finish(&b, nc, (const char *const *)names, path, &notes);
out:
	builder_free(&b);
	free(notes.s);
	free(label.s);
	free(text.s);
	free(names);
	free(order);
	free(rank);
	free(buf);
	return d;
}

thaw_dataset *thaw_text_from_strings(const char *const *texts, const int *labels, int n,
				     const char *const *class_names, int n_classes, const char *source,
				     const thaw_text_opts *o)
{
	thaw_text_opts def = thaw_text_opts_default();
	if (!o)
		o = &def;
	builder b;
	thaw_sbuf notes = {0};
	thaw_dataset *d = NULL;
	if (builder_init(&b, o) < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		if (labels[i] < 0 || labels[i] >= n_classes) {
			thaw_error(THAW_EINVAL, "%s: text %d: label %d out of range 0..%d", source, i + 1, labels[i],
				   n_classes - 1);
			goto out;
		}
		char where[300];
		snprintf(where, sizeof where, "%s: text %d", source, i + 1);
		if (builder_add(&b, texts[i], strlen(texts[i]), labels[i], where) < 0)
			goto out;
	}
	d = builder_finish(&b, n_classes, class_names, source, &notes);
out:
	builder_free(&b);
	free(notes.s);
	return d;
}

int thaw_text_probe(const char *path)
{
	if (!strncmp(path, "text:", 5))
		return 1;
	if (!is_dir(path))
		return has_ext(path, ".tsv") || has_ext(path, ".csv");
	char **classes = NULL;
	int nc = 0, txt = 0, img = 0;
	if (list_dir(path, 1, &classes, &nc) < 0)
		return 0;
	for (int c = 0; c < nc && !img; c++) {
		char dir[4352];
		snprintf(dir, sizeof dir, "%s/%s", path, classes[c]);
		char **files = NULL;
		int nf = 0;
		if (list_dir(dir, 0, &files, &nf) < 0)
			continue;
		for (int i = 0; i < nf; i++) {
			txt += has_ext(files[i], ".txt");
			img += has_ext(files[i], ".png") || has_ext(files[i], ".jpg") || has_ext(files[i], ".jpeg");
		}
		free_list(files, nf);
	}
	free_list(classes, nc);
	return txt > 0 && img == 0;
}

thaw_dataset *thaw_text_load(const char *path, const thaw_text_opts *o)
{
	if (!strncmp(path, "text:", 5))
		path += 5;
	return is_dir(path) ? thaw_text_folder_load(path, o) : thaw_text_table_load(path, o);
}

/* ---- vocabularies and lengths of loaded sets */

static int need_text(const thaw_dataset *d, const char *what)
{
	if (!d->ids)
		return thaw_error(THAW_EINVAL, "%s: %s needs text data (this is images)", d->source, what);
	return 0;
}

thaw_vocab *thaw_text_fit_vocab(const thaw_dataset *d, int min_count, int max_words)
{
	if (need_text(d, "a vocabulary") < 0)
		return NULL;
	int64_t *count = thaw_calloc((size_t)d->vocab->n, sizeof *count);
	if (!count)
		return NULL;
	for (size_t i = 0; i < (size_t)d->n * d->w; i++)
		count[d->ids[i]]++;
	thaw_vocab *v = thaw_vocab_limit(d->vocab, count, min_count, max_words);
	free(count);
	return v;
}

/* d with ids mapped through map (NULL: as they are) at length L. */
static thaw_dataset *remade(const thaw_dataset *d, thaw_vocab *v, const int *map, int L)
{
	thaw_dataset *o = thaw_text_dataset_new(d->n, L, d->n_classes, v);
	if (!o || thaw_dataset_set_class_names(o, (const char *const *)d->class_names, d->n_classes) < 0) {
		thaw_dataset_free(o);
		return NULL;
	}
	int k = L < d->w ? L : d->w;
	for (int i = 0; i < d->n; i++) {
		const int32_t *s = d->ids + (size_t)i * d->w;
		int32_t *t = o->ids + (size_t)i * L;
		for (int j = 0; j < k; j++)
			t[j] = map ? map[s[j]] : s[j];
		o->len[i] = d->len[i];
		o->y[i] = d->y[i];
	}
	snprintf(o->source, sizeof o->source, "%s", d->source);
	if (d->notes && !(o->notes = strdup(d->notes))) {
		thaw_dataset_free(o);
		thaw_error(THAW_ENOMEM, "out of memory");
		return NULL;
	}
	return o;
}

thaw_dataset *thaw_text_with_vocab(const thaw_dataset *d, thaw_vocab *v)
{
	if (need_text(d, "a vocabulary") < 0)
		return NULL;
	int *map = thaw_malloc(sizeof *map * (size_t)d->vocab->n);
	if (!map)
		return NULL;
	for (int id = 0; id < d->vocab->n; id++)
		map[id] = id < THAW_TOKEN_FIRST ? id : thaw_vocab_find(v, d->vocab->words[id], strlen(d->vocab->words[id]));
	thaw_dataset *o = remade(d, v, map, d->w);
	free(map);
	return o;
}

thaw_dataset *thaw_text_relength(const thaw_dataset *d, int length)
{
	if (need_text(d, "a length") < 0)
		return NULL;
	if (length <= 0) {
		thaw_error(THAW_EINVAL, "text length %d: must be positive", length);
		return NULL;
	}
	return remade(d, d->vocab, NULL, length);
}

int thaw_text_stats_of(const thaw_dataset *d, thaw_text_stats *s)
{
	memset(s, 0, sizeof *s);
	if (need_text(d, "length statistics") < 0)
		return THAW_EINVAL;
	if (d->n == 0)
		return 0;
	int32_t *l = thaw_malloc(sizeof *l * (size_t)d->n);
	if (!l)
		return THAW_ENOMEM;
	memcpy(l, d->len, sizeof *l * (size_t)d->n);
	qsort(l, (size_t)d->n, sizeof *l, cmp_i32);
	double sum = 0;
	for (int i = 0; i < d->n; i++) {
		sum += l[i];
		s->cut += l[i] > d->w;
		s->padded += l[i] < d->w;
		s->empty += l[i] == 0;
	}
	s->min = l[0];
	s->max = l[d->n - 1];
	s->median = l[(d->n - 1) / 2];
	s->p95 = percentile_length(l, d->n, 95.0f);
	if (s->max == 0)
		s->p95 = 0;
	s->mean = sum / d->n;
	free(l);
	for (size_t i = 0; i < (size_t)d->n * d->w; i++) {
		s->tokens += d->ids[i] != THAW_TOKEN_PAD;
		s->unknown += d->ids[i] == THAW_TOKEN_UNK;
	}
	return 0;
}

char *thaw_text_sample(const thaw_dataset *d, int i)
{
	thaw_sbuf b = {0};
	thaw_sbuf_printf(&b, "%s", "");
	if (d->ids && i >= 0 && i < d->n) {
		const int32_t *t = thaw_text_ids(d, i);
		for (int k = 0; k < d->w; k++)
			if (t[k] != THAW_TOKEN_PAD)
				thaw_sbuf_printf(&b, "%s%s", b.len ? " " : "", thaw_vocab_word(d->vocab, t[k]));
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* ---- text data and models */

int thaw_dataset_fits_model(const thaw_dataset *d, const thaw_model *m)
{
	if (d->c != m->input.c || d->h != m->input.h || d->w != m->input.w)
		return 0;
	return !d->ids || !m->vocab || thaw_vocab_same(d->vocab, m->vocab);
}

thaw_dataset *thaw_dataset_for_model(const thaw_dataset *d, const thaw_model *m, char *desc, size_t desc_size)
{
	char tmp[8];
	if (!desc)
		desc = tmp, desc_size = sizeof tmp;
	if (!d->ids) {
		if (m->vocab) {
			thaw_error(THAW_EINVAL, "%s holds images but the model reads text (token ids)", d->source);
			return NULL;
		}
		return thaw_dataset_to_spec(d, &m->input, desc, desc_size);
	}
	if (m->input.c != 1 || m->input.h != 1) {
		thaw_error(THAW_EINVAL, "%s holds text but the model reads %dx%dx%d images", d->source, m->input.c,
			   m->input.h, m->input.w);
		return NULL;
	}
	thaw_dataset *v = NULL;
	const thaw_dataset *cur = d;
	thaw_sbuf b = {0};
	if (m->vocab && !thaw_vocab_same(d->vocab, m->vocab)) {
		if (!(v = thaw_text_with_vocab(d, m->vocab)))
			return NULL;
		thaw_text_stats st;
		thaw_text_stats_of(v, &st);
		thaw_sbuf_printf(&b, "encoded with the model's vocabulary of %d words (%.1f%% of tokens unknown)",
				 m->vocab->n, st.tokens ? 100.0 * (double)st.unknown / (double)st.tokens : 0.0);
		cur = v;
	}
	thaw_dataset *o = NULL;
	if (cur->w != m->input.w) {
		o = thaw_text_relength(cur, m->input.w);
		thaw_sbuf_printf(&b, "%slength %d -> %d tokens", b.len ? ", " : "", cur->w, m->input.w);
		thaw_dataset_free(v);
	} else {
		o = v ? v : thaw_dataset_clone(d);
	}
	snprintf(desc, desc_size, "%s", b.len && b.s ? b.s : "unchanged");
	free(b.s);
	return o;
}

thaw_dataset *thaw_text_for_model(const thaw_model *m, const char *const *texts, int n)
{
	if (!m->vocab) {
		thaw_error(THAW_EINVAL, "the model has no vocabulary: it was not trained on text");
		return NULL;
	}
	int *labels = thaw_calloc(n > 0 ? (size_t)n : 1, sizeof *labels);
	if (!labels)
		return NULL;
	thaw_text_opts o = thaw_text_opts_default();
	o.vocab = m->vocab;
	o.length = m->input.w;
	o.lower = m->vocab->lower;
	thaw_dataset *d = thaw_text_from_strings(texts, labels, n, NULL, 1, "text", &o);
	free(labels);
	return d;
}
