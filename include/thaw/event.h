/* thaw events: one stream for everything a training run reports — a phase
 * begins, a batch is done, an epoch is done, an evaluation ran, a phase
 * ends, a line for the log. thaw_fit and the script host publish them
 * through one callback; the sinks (the CLI progress lines, the run folder,
 * the workbench) read them; thaw_event_format (thaw/run.h) turns one into
 * the line of text every frontend shows.
 *
 *   static int on_event(const thaw_event *ev, void *user) {
 *       char line[512];
 *       if (thaw_event_format(ev, line, sizeof line) > 0) puts(line);
 *       return 0;                     // nonzero stops the phase
 *   }
 *
 * Every pointer in an event is borrowed for the call. */
#ifndef THAW_EVENT_H
#define THAW_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "thaw/data.h"
#include "thaw/train.h"

typedef enum thaw_event_kind {
	THAW_EV_PHASE_BEGIN,
	THAW_EV_BATCH,
	THAW_EV_EPOCH,
	THAW_EV_EVAL,
	THAW_EV_PHASE_END,
	THAW_EV_LOG
} thaw_event_kind;

typedef struct thaw_epoch_stats {
	const char *phase;
	int phase_index;   /* from thaw_fit_opts, for logs */
	int epoch, epochs; /* 1-based */
	double train_loss, train_acc;
	double val_loss, val_acc; /* -1 without validation data */
	double seconds, img_s;
	float lr; /* at the end of the epoch */
	long step;
} thaw_epoch_stats;

typedef struct thaw_batch_stats {
	const char *phase;
	int epoch, epochs, batch, batches;
	double loss, acc; /* this batch */
	double img_s;     /* so far this epoch */
	double seconds;   /* so far this epoch */
	float lr;
	long step;
	/* Borrowed, valid during the callback, which runs between two batches:
	 * a host may toggle trainable flags, change trainer->opt.lr or save. */
	thaw_model *model;
	thaw_trainer *trainer;
} thaw_batch_stats;

/* A phase begins (before its first batch) or ends. */
typedef struct thaw_phase_info {
	const char *name;
	int index;          /* which phase of the run (1-based) */
	int epochs;         /* planned */
	int batches;        /* per epoch */
	int batch_size;
	const char *optimizer; /* "adam", ... */
	float lr;
	size_t trainable, frozen; /* parameter counts */
	int first_epoch;    /* begin: > 1 when a resumed phase continues */
	int skip_batches;   /* begin: batches of first_epoch already done */
	int epochs_done;    /* end: epochs finished */
	int stopped;        /* end: stopped before its planned epochs */
	int error;          /* end: < 0 when the phase failed */
} thaw_phase_info;

typedef struct thaw_eval_info {
	const char *name;
	const thaw_metrics *mt;
	const char *const *classes; /* mt->K names, or NULL */
	const thaw_dataset *data;   /* what it ran on, or NULL */
} thaw_eval_info;

typedef struct thaw_event {
	thaw_event_kind kind;
	/* the model concerned (all kinds but LOG may set it); a host may read
	 * it, and at BATCH/EPOCH (between two batches) change its flags */
	thaw_model *model;
	thaw_trainer *trainer; /* BATCH only */
	int warning;           /* LOG: a warning (a diverging loss, ...); summary.json lists them */
	union {
		thaw_phase_info phase; /* PHASE_BEGIN, PHASE_END */
		thaw_batch_stats batch;
		thaw_epoch_stats epoch;
		thaw_eval_info eval;
		const char *line; /* LOG */
	} u;
} thaw_event;

/* The one callback: nonzero from a BATCH or EPOCH event stops the phase at
 * that boundary; the return value of the other kinds is ignored. */
typedef int (*thaw_event_fn)(const thaw_event *ev, void *user);

/* A LOG event with a printf-formatted line (at most 1023 bytes) through fn,
 * when fn is not NULL. */
void thaw_event_log(thaw_event_fn fn, void *user, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
