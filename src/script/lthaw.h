/* What the files of the Lua binding share (private to src/script, the only
 * place that includes lua.h): the host state, the userdata of models and
 * data sets, the option-table readers and the pieces of luaopen_thaw.
 *   host.c   the script host: state, package.path, traceback, print, stop
 *   opts.c   option-table readers shared by every area
 *   ldata.c  thaw.data.* and the data userdata
 *   lmodel.c thaw.load/import/model/reference_cnn and the model userdata
 *   lnn.c    thaw.nn.*: layers as plain tables
 *   ltrain.c thaw.fit/evaluate/predict/transfer and the run helpers
 *   lfinetune.c thaw.fine_tune and thaw.lr_find */
#ifndef THAW_SCRIPT_LTHAW_H
#define THAW_SCRIPT_LTHAW_H

#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>

#include "thaw/script.h"
#include "thaw/modelfile.h"

#define MODEL_MT "thaw.model"
#define DATA_MT "thaw.data"
#define LAYER_MT "thaw.layer"
#define VEC_MT "thaw.vectors"
#define PATH_MAX_ 4096

struct thaw_script {
	lua_State *L;
	thaw_run *run; /* borrowed: phases, events, checkpoints, resume */
	uint64_t seed;
	int fit_index; /* thaw.fit calls so far */
	int evals;
	int checks_ok, checks_failed;
	int interrupted;
	int in_fit; /* inside thaw_run_fit: it stops at a batch boundary with a checkpoint itself */
	int last_model; /* registry ref to the model fit or evaluate saw last */
	thaw_model *kept; /* that model, when the script closed it: still the run's model.thaw */
	char err[8192];
};

/* The error a stopped run raises; s->interrupted says it happened, even
 * when the script catches the error with pcall. */
#define INTERRUPTED "interrupted (Ctrl-C)"

/* ---- host.c */
thaw_script *lthaw_host(lua_State *L);
void lthaw_logf(thaw_script *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raises the core's last message as a Lua error. */
int lthaw_fail(lua_State *L);
/* A safe point for Ctrl-C outside thaw.fit: raises INTERRUPTED when the
 * host asked to stop (or the script already was interrupted). The long C
 * calls (evaluate, predict, transfer, loading data and models) call it
 * before and after their work; the instruction hook covers plain Lua. */
void lthaw_safepoint(lua_State *L);
/* Makes the metatable tname of a userdata type: the metamethods in meta,
 * and __index the closure `index` over two tables, the methods and the
 * property getters (both lua_CFunctions taking the userdata at 1). */
void lthaw_newclass(lua_State *L, const char *tname, const luaL_Reg *meta, const luaL_Reg *methods,
		    const luaL_Reg *props, lua_CFunction index);
/* The first step of such an __index (key at 2): pushes the method of that
 * name and returns 1; else returns 0 with *get the key's property getter,
 * NULL when there is none. Raises when the key is not a string. */
int lthaw_index(lua_State *L, lua_CFunction *get);

/* ---- userdata */
typedef struct lmodel {
	thaw_model *m;
	int busy; /* thaw.fit is training it: no closing, no surgery */
} lmodel;

typedef struct ldata {
	thaw_dataset *d;
	int busy;
} ldata;

/* ---- lmodel.c */
thaw_model *lthaw_checkmodel(lua_State *L, int i);
/* For calls that change the graph or free the model: not while training. */
thaw_model *lthaw_checkidle(lua_State *L, int i);
/* The userdata is pushed empty first, so a failure to make the object
 * leaves nothing to leak (liolib's way). */
lmodel *lthaw_newmodel(lua_State *L);
/* Adds load, import, model and reference_cnn to the table on top; makes
 * the model metatable. */
void lthaw_open_model(lua_State *L);

/* ---- lnn.c */
/* The attributes of the layer table at t. */
thaw_attrs lthaw_layer_attrs(lua_State *L, int t);
/* Adds thaw.nn to the table on top; makes the layer metatable. */
void lthaw_open_nn(lua_State *L);

/* ---- ldata.c */
thaw_dataset *lthaw_checkdata(lua_State *L, int i);
ldata *lthaw_newdata(lua_State *L);
void lthaw_push_names(lua_State *L, char **names, int n);
/* Adds thaw.data to the table on top; makes the data metatable. */
void lthaw_open_data(lua_State *L);

/* Applies classes= and per_class= of the options table at t to *d. */
void lthaw_apply_selection(lua_State *L, int t, thaw_dataset **d);

/* ---- ltext.c: text data sets, their methods, word vectors */
/* The vocabulary of the text data set or text model at i (raises
 * otherwise); *length (may be NULL) gets its tokens per sample. */
struct thaw_vocab *lthaw_tovocab(lua_State *L, int i, int *length);
/* The rows of the thaw.vectors at i: 1 and the table, else 0. */
int lthaw_vec_rows(lua_State *L, int i, const float **w, int *n, int *dim, struct thaw_vocab **v);
int lthaw_data_fit_vocab(lua_State *L);
int lthaw_data_with_vocab(lua_State *L);
int lthaw_data_relength(lua_State *L);
int lthaw_data_sample(lua_State *L);
int lthaw_data_text_stats(lua_State *L);
/* Adds thaw.vectors, thaw.data.text and thaw.data.texts (after lthaw_open_data). */
void lthaw_open_text(lua_State *L);

/* ---- ltrain.c */
/* d shaped for m: d itself (nil pushed), or a converted copy held by a
 * data userdata pushed on the stack; the log says what changed. */
thaw_dataset *lthaw_conform(lua_State *L, thaw_model *m, thaw_dataset *d, const char *what);
/* Remembers the model at stack index i as the run's model (model.thaw). */
void lthaw_set_last_model(lua_State *L, thaw_script *s, int i);
/* An epoch's entry of a history table ({phase, epoch, loss, accuracy,
 * val_loss, val_accuracy, seconds, img_s, lr, step}), pushed. */
void lthaw_push_epoch(lua_State *L, const thaw_epoch_stats *es);
/* Adds fit, evaluate, predict, transfer, check, seed, clock, run_dir and
 * asset to the table on top. */
void lthaw_open_train(lua_State *L);

/* ---- lexplore.c: adds explore (the cut-point explorer) to the table on top */
void lthaw_open_explore(lua_State *L);
/* ---- lfinetune.c: adds fine_tune and lr_find to the table on top. */
void lthaw_open_finetune(lua_State *L);

/* ---- opts.c: readers of an options table at index t (may be nil) */
lua_Integer lthaw_opt_integer(lua_State *L, int t, const char *k, lua_Integer def);
int lthaw_opt_int(lua_State *L, int t, const char *k, int def);
uint64_t lthaw_opt_seed(lua_State *L, int t, const char *k, uint64_t def);
double lthaw_opt_num(lua_State *L, int t, const char *k, double def);
int lthaw_opt_bool(lua_State *L, int t, const char *k, int def);
const char *lthaw_opt_str(lua_State *L, int t, const char *k, const char *def);
void lthaw_check_keys(lua_State *L, int t, const char *what, const char *const *allowed);
/* The arguments of a source opened from a path: (PATH [, {opts}]) or
 * ({path = PATH, opts}). Checks the option keys (what, allowed), raises
 * `need` when no path is given, sets *path and returns the options' index. */
int lthaw_path_args(lua_State *L, const char *what, const char *const *allowed, const char *need, const char **path);
int lthaw_opt_int_list(lua_State *L, int t, const char *k, int *out, int cap);

/* t[k] = v for the table on top of the stack */
static inline void lthaw_set_num(lua_State *L, const char *k, double v)
{
	lua_pushnumber(L, v);
	lua_setfield(L, -2, k);
}
static inline void lthaw_set_int(lua_State *L, const char *k, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, k);
}
static inline void lthaw_set_bool(lua_State *L, const char *k, int v)
{
	lua_pushboolean(L, v);
	lua_setfield(L, -2, k);
}
static inline void lthaw_set_str(lua_State *L, const char *k, const char *v)
{
	lua_pushstring(L, v);
	lua_setfield(L, -2, k);
}

#endif
