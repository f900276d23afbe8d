/* The table of training options and the three things every frontend does
 * with it: read a value from text, check a value, set the field. */
#include "thaw/options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG 1e9

/* In the order they apply: a new optimizer resets lr, momentum and the
 * betas to its own defaults, so it comes before them; so does schedule. */
static const thaw_option table[] = {
	{"phase", THAW_OPT_STRING, 0, 0, 0, NULL, "`\"phase<N>\"`", 0,
	 "the phase name, for progress lines, metrics and plots"},
	{"epochs", THAW_OPT_INT, 1, BIG, 0, NULL, "1", 1, "epochs to run"},
	{"batch", THAW_OPT_INT, 1, 65536, 0, NULL, "64", 1, "batch size"},
	{"optimizer", THAW_OPT_CHOICE, 0, 0, 0, "adam,adamw,sgd", "`\"adam\"`", 1,
	 "the optimizer; sets `lr`, `momentum`, the betas and `weight_decay` to its defaults"},
	{"lr", THAW_OPT_NUM, 0, 10, 0, NULL, "0.01 for sgd, 0.001 for adam/adamw", 1,
	 "the base learning rate (before the schedule and per-node `lr_mult`)"},
	{"momentum", THAW_OPT_NUM, 0, 0.999999, 0, NULL, "0.9", 1, "SGD momentum"},
	{"nesterov", THAW_OPT_BOOL, 0, 1, 0, NULL, "false", 1, "Nesterov momentum (SGD)"},
	{"beta1", THAW_OPT_NUM, 0, 0.999999, 0, NULL, "0.9", 1, "Adam's first beta"},
	{"beta2", THAW_OPT_NUM, 0, 0.999999, 0, NULL, "0.999", 1, "Adam's second beta"},
	{"weight_decay", THAW_OPT_NUM, 0, 1, 0, NULL, "0.01 for adamw, else 0", 1,
	 "weight decay (decoupled for adamw)"},
	{"clip_norm", THAW_OPT_NUM, 0, BIG, 0, NULL, "0 (off)", 1, "clip the gradient's global norm to this"},
	{"schedule", THAW_OPT_CHOICE, 0, 0, 0, "constant,step,cosine,onecycle", "`\"constant\"`", 1,
	 "the learning-rate schedule, over the phase's steps"},
	{"warmup", THAW_OPT_INT, 0, BIG, 0, NULL, "0", 1, "linear warm-up over this many steps (batches)"},
	{"min_lr", THAW_OPT_NUM, 0, 10, 0, NULL, "0", 1, "where `cosine` ends"},
	{"step_size", THAW_OPT_INT, 0, BIG, 0, NULL, "—", 1,
	 "`step`: multiply the rate by `gamma` every `step_size` steps (required)"},
	{"gamma", THAW_OPT_NUM, 0, 1, 0, NULL, "0.1", 1, "`step`: the factor"},
	{"smoothing", THAW_OPT_NUM, 0, 0.999999, 0, NULL, "0", 1, "label smoothing"},
	{"seed", THAW_OPT_SEED, 0, 0, 0, NULL, "`thaw.seed()` + phase number", 1,
	 "the order of the batches and the augmentation"},
	{"shift", THAW_OPT_INT, 0, 64, 0, NULL, "0", 1, "augmentation: random shifts of up to ± this many pixels"},
	{"flip", THAW_OPT_BOOL, 0, 1, 0, NULL, "false", 1, "augmentation: horizontal flips with probability 1/2"},
	{"val", THAW_OPT_DATA, 0, 0, 0, NULL, "none", 0, "a validation data set, evaluated after every epoch"},
	{"patience", THAW_OPT_INT, 0, BIG, 0, NULL, "0 (off)", 1,
	 "early stopping: stop after this many epochs without a better validation loss (needs `val`)"},
	{"restore_best", THAW_OPT_BOOL, 0, 1, 0, NULL, "false", 1,
	 "with `patience`: end with the weights of the best epoch"},
	{"checkpoint", THAW_OPT_BOOL, 0, 1, 0, NULL, "true", 0,
	 "write `checkpoint.thaw` into the run folder after every epoch"},
	{"cache", THAW_OPT_BOOL, 0, 1, 0, NULL, "true", 0,
	 "the feature cache: a frozen, deterministic prefix runs once per image (off by itself with `shift` or `flip`)"},
	{"bn_stats", THAW_OPT_CHOICE, 0, 0, 0, "sync,local", "`\"sync\"`", 1,
	 "under MPI: batch norm statistics over the whole batch (`sync`, as one process) or per rank (`local`)"},
	{"on_batch", THAW_OPT_FUNCTION, 0, 0, 0, NULL, "none", 0,
	 "`function(stats)` after every batch; returning `false` stops the phase"},
	{"on_epoch", THAW_OPT_FUNCTION, 0, 0, 0, NULL, "none", 0,
	 "`function(entry)` after every epoch; returning `false` stops the phase"},
};

#define N_OPTIONS ((int)(sizeof table / sizeof table[0]))

const thaw_option *thaw_options(int *n)
{
	if (n)
		*n = N_OPTIONS;
	return table;
}

const thaw_option *thaw_option_find(const char *name)
{
	for (int i = 0; name && i < N_OPTIONS; i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

static const char *type_name(thaw_option_type t)
{
	static const char *const names[] = {"integer", "number", "boolean", "seed", "choice", "string", "data", "function"};
	return names[t];
}

/* Which word of opt->choices text is: its index, or -1. */
static int choice_index(const thaw_option *opt, const char *text)
{
	size_t len = strlen(text);
	int k = 0;
	for (const char *p = opt->choices; *p; k++) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == len && !strncmp(p, text, n))
			return k;
		p += n + (e ? 1 : 0);
	}
	return -1;
}

/* "adam, adamw, sgd" (a static buffer: messages only) */
static const char *choice_list(const thaw_option *opt)
{
	static _Thread_local char buf[128];
	buf[0] = 0;
	for (const char *p = opt->choices; *p && strlen(buf) + 3 < sizeof buf; p++)
		strcat(buf, *p == ',' ? ", " : (char[2]){*p, 0});
	return buf;
}

/* How users name the option in range messages. */
static const char *label(const thaw_option *opt)
{
	return !strcmp(opt->name, "lr") ? "learning rate" : opt->name;
}

static int find(const char *name, const thaw_option **opt)
{
	if (!(*opt = thaw_option_find(name)))
		return thaw_error(THAW_EINVAL, "unknown option '%s'", name ? name : "(null)");
	return 0;
}

int thaw_option_check(const char *name, const thaw_option_value *v)
{
	const thaw_option *opt;
	if (find(name, &opt) < 0)
		return THAW_EINVAL;
	if (v->type != opt->type)
		return thaw_error(THAW_EINVAL, "%s must be %s %s", name, opt->type == THAW_OPT_INT ? "an" : "a",
				  type_name(opt->type));
	if (opt->type == THAW_OPT_INT) {
		if (v->i < opt->min && opt->min == 1)
			return thaw_error(THAW_EINVAL, "%s must be positive (got %lld)", name, (long long)v->i);
		if (v->i < opt->min || v->i > opt->max)
			return thaw_error(THAW_EINVAL, "%s %lld is outside %.0f..%.0f", name, (long long)v->i, opt->min,
					  opt->max);
	} else if (opt->type == THAW_OPT_NUM) {
		if (!isfinite(v->x) || v->x < opt->min || (opt->min_open && v->x == opt->min))
			return thaw_error(THAW_EINVAL, "%s %g must be %s %g", label(opt), v->x, opt->min_open ? ">" : ">=",
					  opt->min);
		if (v->x > opt->max)
			return thaw_error(THAW_EINVAL, "%s %g must be <= %g", label(opt), v->x, opt->max);
	} else if (opt->type == THAW_OPT_CHOICE) {
		int k = v->s ? choice_index(opt, v->s) : (int)v->i;
		if (k < 0 || (v->s && k != v->i))
			return thaw_error(THAW_EINVAL, "unknown %s '%s' (%s)", name, v->s ? v->s : "?", choice_list(opt));
	}
	return 0;
}

int thaw_option_parse(const char *name, const char *text, thaw_option_value *v)
{
	const thaw_option *opt;
	if (find(name, &opt) < 0)
		return THAW_EINVAL;
	memset(v, 0, sizeof *v);
	v->type = opt->type;
	v->s = text;
	if (!text)
		return thaw_error(THAW_EINVAL, "%s: needs a value", name);
	char *end = NULL;
	errno = 0;
	switch (opt->type) {
	case THAW_OPT_INT: {
		long long x = strtoll(text, &end, 10);
		if (!*text || *end || errno)
			return thaw_error(THAW_EINVAL, "%s: '%s' is not a whole number", name, text);
		v->i = x;
		break;
	}
	case THAW_OPT_SEED: {
		unsigned long long x = strtoull(text, &end, 10);
		if (!*text || *end || errno || text[strspn(text, " ")] == '-')
			return thaw_error(THAW_EINVAL, "%s: '%s' is not a whole number from 0 to 2^64-1", name, text);
		v->u = x;
		break;
	}
	case THAW_OPT_NUM: {
		double x = strtod(text, &end);
		if (!*text || *end || errno)
			return thaw_error(THAW_EINVAL, "%s: '%s' is not a number", name, text);
		v->x = x;
		break;
	}
	case THAW_OPT_BOOL:
		if (!strcmp(text, "true") || !strcmp(text, "1") || !strcmp(text, "yes") || !strcmp(text, "on"))
			v->i = 1;
		else if (!strcmp(text, "false") || !strcmp(text, "0") || !strcmp(text, "no") || !strcmp(text, "off"))
			v->i = 0;
		else
			return thaw_error(THAW_EINVAL, "%s: '%s' is not true or false", name, text);
		break;
	case THAW_OPT_CHOICE:
		if ((v->i = choice_index(opt, text)) < 0)
			return thaw_error(THAW_EINVAL, "unknown %s '%s' (%s)", name, text, choice_list(opt));
		break;
	case THAW_OPT_STRING:
		break;
	default:
		return thaw_error(THAW_EINVAL, "%s: a %s cannot be given as text", name, type_name(opt->type));
	}
	int rc = thaw_option_check(name, v);
	return rc;
}

int thaw_option_apply(thaw_fit_opts *o, const char *name, const thaw_option_value *v)
{
	int rc = thaw_option_check(name, v);
	if (rc < 0)
		return rc;
	float x = (float)v->x;
	int i = (int)v->i;
	if (!strcmp(name, "phase"))
		o->phase = v->s;
	else if (!strcmp(name, "epochs"))
		o->epochs = i;
	else if (!strcmp(name, "batch"))
		o->batch = i;
	else if (!strcmp(name, "optimizer"))
		o->optim = thaw_optim_default((thaw_optim_kind)thaw_optim_from_name(v->s ? v->s : "adam"));
	else if (!strcmp(name, "lr"))
		o->optim.lr = x;
	else if (!strcmp(name, "momentum"))
		o->optim.momentum = x;
	else if (!strcmp(name, "nesterov"))
		o->optim.nesterov = i;
	else if (!strcmp(name, "beta1"))
		o->optim.beta1 = x;
	else if (!strcmp(name, "beta2"))
		o->optim.beta2 = x;
	else if (!strcmp(name, "weight_decay"))
		o->optim.weight_decay = x;
	else if (!strcmp(name, "clip_norm"))
		o->optim.clip_norm = x;
	else if (!strcmp(name, "schedule"))
		o->sched = thaw_sched_default((thaw_sched_kind)thaw_sched_from_name(v->s ? v->s : "constant"));
	else if (!strcmp(name, "warmup"))
		o->sched.warmup_steps = (long)v->i;
	else if (!strcmp(name, "min_lr"))
		o->sched.min_lr = x;
	else if (!strcmp(name, "step_size"))
		o->sched.step_size = (long)v->i;
	else if (!strcmp(name, "gamma"))
		o->sched.gamma = x;
	else if (!strcmp(name, "smoothing"))
		o->smoothing = x;
	else if (!strcmp(name, "seed"))
		o->seed = v->u;
	else if (!strcmp(name, "shift"))
		o->shift = i;
	else if (!strcmp(name, "flip"))
		o->flip = i;
	else if (!strcmp(name, "patience"))
		o->patience = i;
	else if (!strcmp(name, "restore_best"))
		o->restore_best = i;
	else if (!strcmp(name, "cache"))
		o->feature_cache = i ? 0 : -1;
	else if (!strcmp(name, "bn_stats"))
		o->bn_local = i == 1;
	else
		return thaw_error(THAW_EINVAL, "%s: the frontend applies this option", name);
	return 0;
}

char *thaw_options_markdown(void)
{
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	len += (size_t)snprintf(buf, cap, "| option | type | default | range | meaning |\n|---|---|---|---|---|\n");
	for (int k = 0; k < N_OPTIONS; k++) {
		const thaw_option *o = &table[k];
		char range[96] = "";
		if (o->type == THAW_OPT_INT)
			snprintf(range, sizeof range, o->max >= BIG ? "%.0f or more" : "%.0f to %.0f", o->min, o->max);
		else if (o->type == THAW_OPT_NUM)
			snprintf(range, sizeof range, o->max >= BIG ? "%g or more" : "%g to %g", o->min, o->max);
		else if (o->type == THAW_OPT_CHOICE)
			snprintf(range, sizeof range, "%s", choice_list(o));
		else if (o->type == THAW_OPT_SEED)
			snprintf(range, sizeof range, "0 to 2^64-1");
		char flag[64] = "", line[512];
		if (o->cli) {
			snprintf(flag, sizeof flag, "; `thaw train --%s`", o->name);
			for (char *c = flag + 15; *c; c++)
				if (*c == '_')
					*c = '-';
		}
		snprintf(line, sizeof line, "| `%s` | %s | %s | %s | %s%s |\n", o->name, type_name(o->type), o->def,
			 range, o->doc, flag);
		size_t need = strlen(line);
		if (len + need + 1 > cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		memcpy(buf + len, line, need + 1);
		len += need;
	}
	return buf;
}
