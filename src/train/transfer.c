/* The transfer recipe: the data for a run (classes, k per class, a
 * validation set that is never silently the training set, the model's
 * input) and the model for the data (cut, flatten, new head, freeze).
 * Every frontend calls these two, so the workbench, `thaw train` and
 * thaw.transfer in Lua say and do the same. */
#include "thaw/transfer.h"
#include "thaw/text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>

/* ---------------------------------------------------------------- notes */

int thaw_notes_add(thaw_notes *nt, const char *fmt, ...)
{
	if (!nt)
		return 0;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (nt->n == nt->cap) {
		int cap = nt->cap ? 2 * nt->cap : 8;
		char **l = realloc(nt->line, (size_t)cap * sizeof *l);
		if (!l)
			return thaw_error(THAW_ENOMEM, "out of memory");
		nt->line = l;
		nt->cap = cap;
	}
	if (!(nt->line[nt->n] = strdup(line)))
		return thaw_error(THAW_ENOMEM, "out of memory");
	nt->n++;
	return 0;
}

void thaw_notes_free(thaw_notes *nt)
{
	if (!nt)
		return;
	for (int i = 0; i < nt->n; i++)
		free(nt->line[i]);
	free(nt->line);
	memset(nt, 0, sizeof *nt);
}

/* 420544 -> "420,544" */
static const char *commas(size_t v, char *buf, size_t size)
{
	char tmp[32];
	int len = snprintf(tmp, sizeof tmp, "%zu", v), j = 0;
	for (int i = 0; i < len && (size_t)j + 2 < size; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[j++] = ',';
		buf[j++] = tmp[i];
	}
	buf[j] = 0;
	return buf;
}

/* "a, b, c" (the first few, then how many in all) */
static const char *name_list(char *const *names, int n, char *buf, size_t size)
{
	enum { SHOWN = 8 };
	size_t at = 0;
	buf[0] = 0;
	for (int i = 0; i < n && i < SHOWN && at < size; i++)
		at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? ", " : "", names ? names[i] : "?");
	if (n > SHOWN && at < size)
		snprintf(buf + at, size - at, ", ... (%d in all)", n);
	return buf;
}

/* ---------------------------------------------------------------- data */

thaw_prepare_opts thaw_prepare_opts_default(void)
{
	return (thaw_prepare_opts){.classes = NULL, .per_class = 0, .val = NULL, .val_frac = 0.2f, .seed = 1,
				   .resize = -1};
}

/* The one place a SPEC is opened, so loading straight at the model's size
 * (when the loader learns that) is a change here only. */
/* The one place a run's data is opened. A folder loads straight at the
 * model's size and resize policy, so big photos never exist at full size in
 * the store; other sources are converted later like any data set. What the
 * loader skipped or noticed goes into the notes. */
static thaw_dataset *open_data(const char *spec, const thaw_prepare_opts *o, const thaw_input_spec *input,
			       thaw_notes *nt)
{
	thaw_image_opts io = thaw_image_opts_default();
	struct stat st;
	if (input && !stat(spec, &st) && S_ISDIR(st.st_mode))
		thaw_image_opts_from_spec(&io, input);
	if (o->resize >= 0)
		io.resize = (thaw_resize_mode)o->resize;
	io.skip_bad = o->skip_bad;
	io.progress = o->progress;
	io.user = o->progress_user;
	thaw_dataset *d;
	if (o->model && o->model->vocab && thaw_text_probe(spec)) { /* straight into the model's words and length */
		thaw_text_opts to = thaw_text_opts_default();
		to.vocab = (thaw_vocab *)o->model->vocab; /* only read */
		to.length = input ? input->w : 0;
		d = thaw_text_load(spec, &to);
		thaw_text_stats st;
		if (d && thaw_text_stats_of(d, &st) == 0)
			thaw_notes_add(nt, "%s: encoded with the model's vocabulary of %d words (%.1f%% of tokens unknown)",
				       spec, o->model->vocab->n,
				       st.tokens ? 100.0 * (double)st.unknown / (double)st.tokens : 0.0);
	} else {
		d = thaw_dataset_open_opts(spec, &io);
	}
	const char *pos = d ? d->notes : NULL, *line;
	for (int n; (line = thaw_note_next(&pos, &n));)
		thaw_notes_add(nt, "%s: %.*s", spec, n, line);
	return d;
}

int thaw_parse_classes(const thaw_dataset *d, const char *list, int *cls, int max)
{
	int k = 0;
	const char *s = list;
	while (s && *s) {
		while (*s == ' ')
			s++;
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		while (len && s[len - 1] == ' ')
			len--;
		if (!len)
			return thaw_error(THAW_EINVAL, "classes '%s': an empty item", list);
		if (k == max)
			return thaw_error(THAW_EINVAL, "classes '%s': more than %d", list, max);
		int idx = -1, digits = 1;
		for (size_t i = 0; i < len; i++)
			digits &= isdigit((unsigned char)s[i]) != 0;
		if (digits) {
			long v = strtol(s, NULL, 10);
			if (v >= d->n_classes)
				return thaw_error(THAW_EINVAL, "classes: %ld is not a class index of %s (0..%d)", v,
						  d->source, d->n_classes - 1);
			idx = (int)v;
		} else {
			for (int c = 0; c < d->n_classes && idx < 0; c++) /* exact first */
				if (strlen(d->class_names[c]) == len && !strncmp(d->class_names[c], s, len))
					idx = c;
			for (int c = 0; c < d->n_classes && idx < 0; c++)
				if (thaw_class_name_same(d->class_names[c], s, len))
					idx = c;
			if (idx < 0) {
				char names[512];
				return thaw_error(THAW_EINVAL, "classes: '%.*s' is not a class of %s (%s)", (int)len, s,
						  d->source, name_list(d->class_names, d->n_classes, names, sizeof names));
			}
		}
		for (int i = 0; i < k; i++)
			if (cls[i] == idx)
				return thaw_error(THAW_EINVAL, "classes: '%.*s' given twice", (int)len, s);
		cls[k++] = idx;
		s = e ? e + 1 : NULL;
	}
	if (k == 0)
		return thaw_error(THAW_EINVAL, "classes: an empty list");
	return k;
}

/* *d becomes t (NULL: the step failed, its message is set) */
static int replace(thaw_dataset **d, thaw_dataset *t)
{
	if (!t)
		return THAW_EINVAL;
	thaw_dataset_free(*d);
	*d = t;
	return 0;
}

static int select_classes(thaw_dataset **d, const char *list)
{
	int cap = (*d)->n_classes, *cls = thaw_malloc(sizeof *cls * (size_t)(cap ? cap : 1));
	if (!cls)
		return THAW_ENOMEM;
	int k = thaw_parse_classes(*d, list, cls, cap);
	int rc = k < 0 ? k : replace(d, thaw_dataset_select_classes(*d, cls, k));
	free(cls);
	return rc;
}

/* 1 for "none"/"0", a fraction in (0, 1) into *frac, else 0 (a SPEC). */
static int val_kind(const char *v, float *frac)
{
	if (!strcmp(v, "none"))
		return 1;
	char *end;
	double f = strtod(v, &end);
	if (end == v || *end)
		return 0;
	if (f == 0)
		return 1;
	if (f > 0 && f < 1) {
		*frac = (float)f;
		return 2;
	}
	return -1;
}

static int conform(thaw_dataset **d, const thaw_input_spec *input, const thaw_model *model, const char *what,
		   thaw_notes *nt)
{
	char desc[256] = "";
	if ((*d)->ids) { /* text: the model's words and length, when it has them */
		if (!model || thaw_dataset_fits_model(*d, model))
			return 0;
		int rc = replace(d, thaw_dataset_for_model(*d, model, desc, sizeof desc));
		if (rc < 0)
			return rc;
		thaw_notes_add(nt, "%s data encoded for the model: %s", what, desc);
		return 0;
	}
	if (!input)
		return 0;
	int rc = replace(d, thaw_dataset_to_spec(*d, input, desc, sizeof desc));
	if (rc < 0)
		return rc;
	if (desc[0] && strncmp(desc, "unchanged", 9) != 0)
		thaw_notes_add(nt, "%s data converted for the model: %s", what, desc);
	return 0;
}

static int same_classes(const thaw_dataset *a, const thaw_dataset *b)
{
	if (a->n_classes != b->n_classes)
		return 0;
	for (int i = 0; i < a->n_classes; i++)
		if (strcmp(a->class_names[i], b->class_names[i]))
			return 0;
	return 1;
}

int thaw_data_prepare(const char *spec, const thaw_prepare_opts *opts, const thaw_input_spec *input,
		      thaw_dataset **ptrain, thaw_dataset **pval, thaw_notes *nt)
{
	thaw_prepare_opts o = opts ? *opts : thaw_prepare_opts_default();
	thaw_dataset *train = NULL, *val = NULL;
	char names[512], n1[32];
	*ptrain = *pval = NULL;
	if (!spec)
		return thaw_error(THAW_EINVAL, "data: no data set given");
	float frac = o.val_frac;
	int vk = o.val ? val_kind(o.val, &frac) : 2;
	if (vk < 0)
		return thaw_error(THAW_EINVAL, "validation '%s': a fraction between 0 and 1, 'none', or a data set",
				  o.val);
	if (!(frac >= 0 && frac < 1))
		return thaw_error(THAW_EINVAL, "validation fraction %g: wanted 0 <= f < 1", (double)frac);
	if (o.per_class < 0)
		return thaw_error(THAW_EINVAL, "per class: %d, wanted a positive count", o.per_class);

	if (!(train = open_data(spec, &o, input, nt)))
		return THAW_EIO;
	const char *unit = train->ids ? "texts" : "images";
	if (train->ids)
		thaw_notes_add(nt, "data %s: %s texts of up to %d tokens, %d words, %d classes (%s)", spec,
			       commas((size_t)train->n, n1, sizeof n1), train->w, train->vocab->n, train->n_classes,
			       name_list(train->class_names, train->n_classes, names, sizeof names));
	else
		thaw_notes_add(nt, "data %s: %s images of %dx%dx%d, %d classes (%s)", spec,
			       commas((size_t)train->n, n1, sizeof n1), train->c, train->h, train->w, train->n_classes,
			       name_list(train->class_names, train->n_classes, names, sizeof names));
	if (o.classes) {
		if (select_classes(&train, o.classes) < 0)
			goto fail;
		thaw_notes_add(nt, "kept classes %s: %s %s", name_list(train->class_names, train->n_classes, names,
									    sizeof names),
			       commas((size_t)train->n, n1, sizeof n1), unit);
	}
	if (o.per_class > 0) {
		if (replace(&train, thaw_dataset_per_class(train, o.per_class, o.seed)) < 0) {
			thaw_error_prefix("%s", spec);
			goto fail;
		}
		thaw_notes_add(nt, "picked %d %s per class (%d in all, seed %llu)", o.per_class, unit, train->n,
			       (unsigned long long)o.seed);
	}
	if (vk == 1) {
		thaw_notes_add(nt, "no validation set: nothing held out, accuracy is measured on the training images only");
	} else if (vk == 2) {
		thaw_dataset *t, *v;
		if (thaw_dataset_split(train, frac, o.seed, &t, &v) < 0)
			goto fail;
		if (v->n == 0 || t->n == 0) {
			thaw_notes_add(nt,
				       "warning: %d %s are too few to hold out %g %% per class: no validation set",
				       train->n, unit, 100.0 * frac);
			thaw_dataset_free(t);
			thaw_dataset_free(v);
		} else {
			thaw_dataset_free(train);
			train = t;
			val = v;
			snprintf(val->source, sizeof val->source, "%.200s (held out)", spec);
			thaw_notes_add(nt, "held out a stratified %g %% (%d %s) for validation; %d %s train",
				       100.0 * frac, val->n, unit, train->n, unit);
		}
	} else {
		if (!(val = open_data(o.val, &o, input, nt)))
			goto fail;
		if (o.classes && select_classes(&val, o.classes) < 0)
			goto fail;
		if (!same_classes(train, val)) {
			char vn[512];
			thaw_error(THAW_EINVAL, "validation %s has classes %s, the training data %s", o.val,
				   name_list(val->class_names, val->n_classes, vn, sizeof vn),
				   name_list(train->class_names, train->n_classes, names, sizeof names));
			goto fail;
		}
		thaw_notes_add(nt, "validation: %s (%s %s)", o.val, commas((size_t)val->n, n1, sizeof n1), unit);
	}
	if (conform(&train, input, o.model, "training", nt) < 0 ||
	    (val && conform(&val, input, o.model, "validation", nt) < 0))
		goto fail;
	*ptrain = train;
	*pval = val;
	return 0;
fail:
	thaw_dataset_free(train);
	thaw_dataset_free(val);
	return THAW_EINVAL;
}

/* ---------------------------------------------------------------- model */

thaw_transfer_opts thaw_transfer_opts_default(void)
{
	return (thaw_transfer_opts){.cut = NULL, .head_name = NULL, .freeze = 1, .force = 0};
}

int thaw_transfer_classes_match(const thaw_model *m, const thaw_dataset *d)
{
	int K = m->n ? (int)thaw_shape_sample(thaw_model_output_shape(m)) : 0;
	if (K != d->n_classes)
		return 0;
	if (!m->class_names || m->n_classes != K)
		return 1;
	for (int i = 0; i < K; i++)
		if (!thaw_class_name_same(d->class_names[i], m->class_names[i], strlen(m->class_names[i])))
			return 0;
	return 1;
}

/* A free name: base itself, or base_2, base_3, ... among nodes 0..keep. */
static int taken(const thaw_model *m, int keep, const char *name)
{
	int k = thaw_model_find(m, name);
	return k >= 0 && k <= keep;
}

static void free_name(const thaw_model *m, int keep, const char *base, char *out)
{
	snprintf(out, THAW_NAME_MAX, "%s", base);
	for (int k = 2; taken(m, keep, out); k++)
		snprintf(out, THAW_NAME_MAX, "%s_%d", base, k);
}

int thaw_transfer(thaw_model *m, const thaw_dataset *d, const thaw_transfer_opts *opts, thaw_notes *nt)
{
	thaw_transfer_opts o = opts ? *opts : thaw_transfer_opts_default();
	char names[512], n1[32], n2[32];
	if (!m || !d)
		return thaw_error(THAW_EINVAL, "transfer: needs a model and a data set");
	if (d->n_classes < 2)
		return thaw_error(THAW_EINVAL, "transfer: %s has %d class; a classifier needs at least 2", d->source,
				  d->n_classes);
	name_list(d->class_names, d->n_classes, names, sizeof names);
	if (!o.force && !o.cut && thaw_transfer_classes_match(m, d)) {
		if (!m->class_names) {
			int rc = thaw_model_set_classes(m, (const char *const *)d->class_names, d->n_classes);
			if (rc < 0)
				return rc;
			thaw_notes_add(nt, "the model's %d outputs have no names: they take the data's (%s); no new head",
				       d->n_classes, names);
		} else {
			thaw_notes_add(nt, "the data's classes are the model's (%s): the model keeps its head", names);
		}
		return 0;
	}

	/* Decide everything before changing anything. */
	int keep; /* nodes 0..keep stay; -1: none, the head reads the input */
	char cut_line[600];
	if (o.cut) {
		if ((keep = thaw_model_find(m, o.cut)) < 0)
			return thaw_error(THAW_EINVAL, "transfer: no node named '%s' to cut at", o.cut);
		int dropped = m->n - 1 - keep;
		if (dropped > 0)
			snprintf(cut_line, sizeof cut_line, "cut after %s (dropped %d layer%s: %s%s)", o.cut, dropped,
				 dropped > 1 ? "s" : "", m->nodes[keep + 1]->name, dropped > 1 ? ", ..." : "");
		else
			snprintf(cut_line, sizeof cut_line, "cut at %s, the output: nothing dropped", o.cut);
	} else {
		int head = -1;
		for (int i = m->n - 1; i >= 0 && head < 0; i--)
			if (m->nodes[i]->kind == THAW_DENSE)
				head = i;
		if (head < 0 && m->n && thaw_model_class_count(m) < 0) {
			/* a base without a head (truncated, or exported without its
			 * top): the new head goes on top of all of it */
			thaw_shape os = thaw_model_output_shape(m);
			keep = m->n - 1;
			snprintf(cut_line, sizeof cut_line,
				 "the model has no head (its output is %dx%dx%d): the new one goes on top", os.c, os.h,
				 os.w);
		} else if (head < 0) {
			return thaw_error(THAW_EINVAL,
					  "transfer: the model has no dense layer to replace; name the node to cut at");
		} else {
			const thaw_node *h = m->nodes[head];
			keep = h->in[0];
			int after = m->n - 1 - head;
			char more[128] = "";
			if (after > 0)
				snprintf(more, sizeof more, "; also dropped %d layer%s after it", after,
					 after > 1 ? "s" : "");
			snprintf(cut_line, sizeof cut_line, "cut after %s (old head %s: %d classes%s)",
				 keep >= 0 ? m->nodes[keep]->name : "the input", h->name, h->a.units, more);
		}
	}
	char head_name[THAW_NAME_MAX], flat_name[THAW_NAME_MAX];
	if (o.head_name) {
		if (!o.head_name[0] || strlen(o.head_name) >= THAW_NAME_MAX)
			return thaw_error(THAW_EINVAL, "transfer: head name '%s' must have 1 to %d characters",
					  o.head_name, THAW_NAME_MAX - 1);
		if (taken(m, keep, o.head_name))
			return thaw_error(THAW_EINVAL, "transfer: the kept part already has a node named '%s'",
					  o.head_name);
		snprintf(head_name, sizeof head_name, "%s", o.head_name);
	} else {
		free_name(m, keep, "head", head_name);
	}
	thaw_shape cut_out = keep >= 0 ? m->nodes[keep]->out : (thaw_shape){1, m->input.c, m->input.h, m->input.w};
	int need_flat = cut_out.h > 1 || cut_out.w > 1;
	if (need_flat) {
		free_name(m, keep, "flatten", flat_name);
		if (!strcmp(flat_name, head_name))
			free_name(m, keep, "flatten_head", flat_name);
	}
	int K = (int)thaw_shape_sample(cut_out);

	/* The surgery: past the checks above only running out of memory fails. */
	int rc = 0;
	while (m->n > keep + 1 && rc >= 0)
		rc = thaw_model_pop(m);
	if (rc < 0)
		return rc;
	thaw_notes_add(nt, "%s", cut_line);
	if (need_flat) {
		thaw_attrs fa = thaw_layer(THAW_FLATTEN);
		if ((rc = thaw_model_add(m, flat_name, &fa, NULL, 0)) < 0)
			return rc;
		thaw_notes_add(nt, "added '%s': %dx%dx%d -> %d", flat_name, cut_out.c, cut_out.h, cut_out.w, K);
	}
	thaw_attrs a = thaw_dense(d->n_classes);
	a.init = THAW_INIT_GLOROT;
	int hi = thaw_model_add(m, head_name, &a, NULL, 0);
	if (hi < 0)
		return hi;
	if ((rc = thaw_model_set_classes(m, (const char *const *)d->class_names, d->n_classes)) < 0)
		return rc;
	thaw_notes_add(nt, "new head '%s': dense %d->%d for classes %s", head_name, K, d->n_classes, names);
	if (o.freeze && hi > 0) {
		thaw_model_set_trainable(m, 0, hi - 1, 0);
		thaw_model_set_trainable(m, hi, hi, 1);
		thaw_param_counts c = thaw_model_count(m);
		thaw_notes_add(nt, "froze the %d layers before the head (%s params); %s params train", hi,
			       commas(c.frozen, n1, sizeof n1), commas(c.trainable, n2, sizeof n2));
	} else {
		thaw_param_counts c = thaw_model_count(m);
		thaw_notes_add(nt, "base left as it was (not frozen here): %s params train, %s frozen",
			       commas(c.trainable, n1, sizeof n1), commas(c.frozen, n2, sizeof n2));
	}
	return 1;
}
