/* The workbench's training side: a worker thread that runs thaw_fit or a
 * Lua script, publishes snapshots under one mutex, and applies the UI's
 * commands at batch boundaries. No curses here; screen.c reads the
 * snapshot fields while holding `mu`. */
#ifndef THAW_TUI_SESSION_H
#define THAW_TUI_SESSION_H

#include <pthread.h>

#include "thaw/predict.h"
#include "thaw/script.h"
#include "thaw/tui.h"

/* CMD_SAVE: value 1 stores the optimizer state too. CMD_EPOCHS, CMD_BATCH
 * (node: the number) and CMD_AUG (node: shift, value: flip) set the next
 * phase's options; CMD_EXPORT writes ONNX to path. */
enum { CMD_TOGGLE, CMD_FREEZE_UPTO, CMD_UNFREEZE_ALL, CMD_LR_MULT, CMD_LR, CMD_SAVE, CMD_EPOCHS, CMD_BATCH, CMD_AUG,
       CMD_EXPORT };

typedef struct tui_cmd {
	int kind, node;
	float value;
	char path[256];
} tui_cmd;

typedef struct tui_layer {
	char name[THAW_NAME_MAX], kind[16], shape[24], desc[64];
	size_t params;
	int trainable, has_weights, is_bn;
	float lr_mult;
} tui_layer;

/* A curve with a fixed capacity: when full, every other point is dropped
 * and later points are kept at half the rate, so memory stays bounded and
 * the worker never allocates per batch. */
typedef struct tui_series {
	float *x, *y;
	int n, cap, every, skipped;
} tui_series;

#define TUI_LOG_LINES 400
#define TUI_LOG_WIDTH 200
#define TUI_MAX_MARKS 64
#define TUI_QUEUE 64

typedef enum { ACT_IDLE, ACT_EVAL, ACT_TRAIN, ACT_VALIDATE, ACT_SCRIPT } tui_activity;

typedef struct tui_session {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int thread_started;
	unsigned version; /* bumped by every change the screen shows */

	/* what to run (set before the worker starts) */
	thaw_model *model; /* NULL in a script session until the script trains */
	const thaw_dataset *train, *view; /* view: browser and confusion data */
	thaw_dataset *view_copy;          /* a script session's view: the data its last thaw.evaluate saw */
	thaw_fit_opts fit;
	float lr;
	const char *script, *run_dir;
	int argc;
	char **argv;
	thaw_script *sc;
	thaw_run *run; /* the script's run: its events come to this session */
	int script_code, script_done;

	/* control, under mu */
	int busy;      /* the worker owns the model */
	int start_req, eval_req, paused, stop, quit;
	int finetune_req, lrfind_req; /* F and R */
	thaw_event_fn chain_fn;       /* fine_tune's handler of its phases' events (worker only) */
	void *chain_user;
	tui_cmd queue[TUI_QUEUE];
	int nq;
	int unsaved; /* trained since the last save */
	thaw_trainer *trainer; /* thaw_fit's, while a phase runs (worker only) */

	/* progress */
	tui_activity act;
	char phase[32];
	int phases; /* phases started */
	int epoch, epochs, batch, batches;
	long step;              /* optimizer steps of the phase, at the last batch */
	thaw_position resume;   /* the first phase continues this (phase_index > 0) */
	double loss, acc, img_s, eta;
	float cur_lr;
	long units_done, units_total; /* batches of the current phase */
	double phase_t0, paused_s;
	float epochs_before; /* x offset of the current phase */

	tui_series b_loss, b_acc, e_loss, e_acc, v_loss, v_acc;
	float marks[TUI_MAX_MARKS];
	int n_marks;

	tui_layer *layers;
	int n_layers, cap_layers;
	size_t n_trainable, n_frozen;

	int K;
	long *confusion;     /* (K, K) of the last validation */
	char **class_names;  /* K */
	unsigned conf_version;

	/* predictions on view, one per image */
	int n_pred;
	int32_t *pred;
	float *conf_p, *loss_p;
	unsigned pred_version;

	char log[TUI_LOG_LINES][TUI_LOG_WIDTH];
	int log_n; /* lines ever logged; line i is log[i % TUI_LOG_LINES] */

	/* worker-only buffers, sized once */
	float *xbuf;
	thaw_prediction *pbuf; /* (eval_B) */
	int32_t *ybuf, *pred_w;
	float *conf_w, *loss_w;
	int *idx;
	int eval_B;
	thaw_metrics *mt;
} tui_session;

/* 0 or < 0; starts the worker (which evaluates the untrained model first
 * in an interactive session, or runs the script at once). */
int tui_session_start(tui_session *s, const thaw_tui_opts *o);
/* Stops training at the next batch boundary, joins the worker, frees. */
void tui_session_end(tui_session *s);

/* UI side: each takes the lock itself. */
void tui_session_train(tui_session *s);    /* start a phase, or resume when paused */
void tui_session_pause(tui_session *s);    /* toggles */
void tui_session_finetune(tui_session *s); /* thaw_fine_tune: two phases (idle only) */
void tui_session_lrfind(tui_session *s);   /* thaw_lr_find; its suggestion sets the rate (idle only) */
void tui_session_stop(tui_session *s);
void tui_session_command(tui_session *s, const tui_cmd *c); /* queued while busy */
/* Appends to the log (splits at newlines); caller holds no lock. */
void tui_session_log(tui_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same with mu held. */
void tui_session_log_locked(tui_session *s, const char *line);

/* session.c, for the worker; each with mu held. A point on a curve (when
 * full, every other point goes and then only every other one comes). */
void tui_series_add(tui_series *s, float x, float y);
/* Reads flags and sizes from the model into the layers' snapshot. */
void tui_refresh_layers(tui_session *s, const thaw_model *m);
/* Applies the queued commands: the worker's model and trainer (NULL
 * between phases), at a batch boundary. */
void tui_drain(tui_session *s, thaw_model *m, thaw_trainer *t);

/* session_worker.c: the worker thread's body (pthread_create's). */
void *tui_worker(void *arg);
/* Frees the worker's evaluation buffers and metrics (all NULL after); the
 * worker's, or anyone's once it has been joined. */
void tui_eval_free(tui_session *s);

/* session_util.c: a phase's name from what trains when it starts ("head"
 * when only the last layer with weights trains, "fine-tune" when all do
 * after an earlier phase, "train" when all do at first, "partial"
 * otherwise); saving with or without the optimizer state. */
const char *tui_phase_name(const thaw_model *m, int phases_before);
/* Saves m with where training stands (pos: thaw tui --model FILE continues
 * it), with or without the optimizer's moments (without: a third the size). */
int tui_save_model(thaw_model *m, const char *path, int with_optimizer, const thaw_position *pos);

#endif
