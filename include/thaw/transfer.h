/* thaw transfer: the transfer recipe every frontend (workbench, CLI, Lua)
 * calls, so a model and a folder meet the same way everywhere. Two steps,
 * each writing what it did as short human lines into a thaw_notes:
 *
 *   thaw_notes notes = {0};
 *   thaw_prepare_opts po = thaw_prepare_opts_default();   // 20 % held out
 *   po.classes = "Sandal,Shirt";                          // or "5,6"
 *   thaw_dataset *train, *val;                            // caller frees both
 *   thaw_data_prepare("photos/", &po, &m->input, &train, &val, &notes);
 *   thaw_transfer_opts to = thaw_transfer_opts_default();
 *   thaw_transfer(m, train, &to, &notes);                 // new head, base frozen
 *   for (int i = 0; i < notes.n; i++) puts(notes.line[i]);
 *   thaw_notes_free(&notes);
 *
 * The notes own their lines; the model and data sets passed in are
 * borrowed (thaw_transfer changes the model in place). */
#ifndef THAW_TRANSFER_H
#define THAW_TRANSFER_H

#include <stdint.h>

#include "thaw/data.h"
#include "thaw/model.h"

/* ---- notes: what a step did, one line each */
typedef struct thaw_notes {
	int n, cap;
	char **line; /* n strings, owned */
} thaw_notes;
/* Appends one line; 0 or THAW_ENOMEM (the line is then lost, nothing else). */
int thaw_notes_add(thaw_notes *nt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void thaw_notes_free(thaw_notes *nt); /* frees the lines; the struct may be reused */

/* ---- the data for a run */
typedef struct thaw_prepare_opts {
	const char *classes; /* "5,6,7" (indices) or "Sandal,Shirt" (names), mixed is fine; NULL: all */
	int per_class;       /* > 0: that many labelled images per class (seeded), before the split */
	/* NULL: hold out val_frac of the training images (stratified);
	 * "0.3": hold out that fraction; "none" or "0": no validation set;
	 * anything else: a data SPEC for validation (same class selection). */
	const char *val;
	float val_frac; /* 0.2 */
	uint64_t seed;  /* per-class pick and split */
	/* image folders load straight at the model's size (bounded memory) */
	int resize;    /* a thaw_resize_mode, or -1: the model input's own policy */
	int skip_bad;  /* skip corrupt images (listed in the notes) instead of failing */
	void (*progress)(int done, int total, void *user); /* folder loading; may be NULL */
	void *progress_user;
	/* text data (thaw/text.h) is encoded for this model: its vocabulary
	 * and length (thaw_dataset_for_model); borrowed. NULL: text data is
	 * left as it loads, and `input` converts images only. */
	const thaw_model *model;
} thaw_prepare_opts;

thaw_prepare_opts thaw_prepare_opts_default(void);

/* Opens SPEC (see thaw_dataset_open), keeps the chosen classes (relabelled
 * 0..k-1 in the order given), picks per_class images of each, sets the
 * validation set aside as o->val says, and converts both to `input` (NULL:
 * no conversion). *train gets the training set and *val the validation set
 * (NULL when there is none, which the notes say); the caller frees both.
 * notes may be NULL. On error both are NULL and the model input, the spec
 * and the reason are in thaw_errmsg(). */
int thaw_data_prepare(const char *spec, const thaw_prepare_opts *o, const thaw_input_spec *input,
		      thaw_dataset **train, thaw_dataset **val, thaw_notes *notes);

/* "5,Sandal,7" -> class indices of d into cls (at most max). Returns the
 * count, or < 0 naming the item that is neither an index nor a class. */
int thaw_parse_classes(const thaw_dataset *d, const char *list, int *cls, int max);

/* ---- the model for the data */
typedef struct thaw_transfer_opts {
	const char *cut;       /* keep up to and including this node; NULL: cut the last dense layer
				* (the old head) and everything after it */
	const char *head_name; /* NULL: "head" (or "head_2", ... when taken) */
	int freeze;            /* freeze everything before the head (default 1); 0: flags left as they are */
	int force;             /* a new head even when the classes already match (also when cut is set) */
} thaw_transfer_opts;

thaw_transfer_opts thaw_transfer_opts_default(void);

/* 1 when the data's classes are the model's: the same names in the same
 * order, or a model without names whose output width is the data's count. */
int thaw_transfer_classes_match(const thaw_model *m, const thaw_dataset *data);

/* Makes m a model for data's classes. When they are already its classes
 * (and neither force nor cut is set) nothing changes but a model without
 * names takes the data's; returns 0. Otherwise: cuts the old head (or at
 * o->cut), adds a flatten when the cut output is not a vector, adds a new
 * dense head of data->n_classes units named after the data's classes, and
 * (o->freeze) freezes everything before it; returns 1. o may be NULL
 * (the defaults). Arguments are checked before the model is touched. */
int thaw_transfer(thaw_model *m, const thaw_dataset *data, const thaw_transfer_opts *o, thaw_notes *notes);

#endif
