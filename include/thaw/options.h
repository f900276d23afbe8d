/* thaw options: the one table of training options — name, type, range,
 * default and a line of documentation. Lua's thaw.fit checks its keys
 * against it, `thaw train` builds its long options from it, the workbench
 * validates its prompts with it, and docs/lua.md's options table is
 * generated from it (`thaw options --markdown`).
 *
 *   thaw_option_value v;
 *   if (thaw_option_parse("epochs", "2.5", &v) < 0) puts(thaw_errmsg());
 *   // "epochs: '2.5' is not a whole number"
 *   thaw_option_apply(&fit_opts, "epochs", &v);
 *
 * The table is static and read-only; nothing here allocates but
 * thaw_options_markdown, whose text the caller frees. */
#ifndef THAW_OPTIONS_H
#define THAW_OPTIONS_H

#include <stdint.h>

#include "thaw/fit.h"

typedef enum thaw_option_type {
	THAW_OPT_INT,      /* a whole number in [min, max] */
	THAW_OPT_NUM,      /* a number in [min, max] (min excluded with min_open) */
	THAW_OPT_BOOL,     /* true/false; on the command line a flag */
	THAW_OPT_SEED,     /* any unsigned 64-bit integer */
	THAW_OPT_CHOICE,   /* one word of `choices` */
	THAW_OPT_STRING,   /* any text */
	THAW_OPT_DATA,     /* a data set (Lua only) */
	THAW_OPT_FUNCTION  /* a callback (Lua only) */
} thaw_option_type;

typedef struct thaw_option {
	const char *name; /* the Lua key; `thaw train --NAME` when cli */
	thaw_option_type type;
	double min, max;
	int min_open;        /* NUM: min itself is out of range */
	const char *choices; /* CHOICE: "adam,adamw,sgd" */
	const char *def;     /* the default, as the docs show it */
	int cli;             /* thaw train takes it as --NAME */
	const char *doc;     /* one line */
} thaw_option;

typedef struct thaw_option_value {
	thaw_option_type type;
	int64_t i;     /* INT, BOOL, CHOICE (index into choices) */
	double x;      /* NUM */
	uint64_t u;    /* SEED */
	const char *s; /* STRING, CHOICE: borrowed from the caller's text */
} thaw_option_value;

/* The table, in the order options apply (an optimizer before its rate). */
const thaw_option *thaw_options(int *n);
/* The option named `name`, or NULL. */
const thaw_option *thaw_option_find(const char *name);
/* Reads text as the option's value ("3", "1e-3", "true", "adam"): 0, or
 * < 0 with a message naming the option ("epochs: '2.5' is not a whole
 * number"). v->s borrows text. */
int thaw_option_parse(const char *name, const char *text, thaw_option_value *v);
/* Checks a value from elsewhere (a Lua number) against the option's
 * type and range; 0 or < 0 with a message naming the option. */
int thaw_option_check(const char *name, const thaw_option_value *v);
/* Sets the field of o the option stands for (checked first). DATA and
 * FUNCTION options are the frontend's to apply: THAW_EINVAL. */
int thaw_option_apply(thaw_fit_opts *o, const char *name, const thaw_option_value *v);
/* The table as Markdown (| option | type | default | range | meaning |);
 * NULL when out of memory. The caller frees it. */
char *thaw_options_markdown(void);

#endif
