/* thaw models: a directed acyclic graph of named nodes kept in topological
 * order. The model owns every node, each node's parameters, gradients and
 * optimizer state (one allocation per node), and the activation arena,
 * which is sized when the batch shape is known and reused by every step.
 *
 *   thaw_model *m = thaw_model_new(1, 28, 28, 42);        // input 1x28x28, seed
 *   thaw_model_add(m, "conv1", &(thaw_attrs){...}, NULL, 0); // NULL: previous node
 *   thaw_model_forward(m, x, B, 1);                       // x: (B,1,28,28)
 *   thaw_model_backward(m, dlogits);                      // d loss / d output
 *
 * Freezing: a node with trainable = 0 computes no weight gradients; nodes
 * below the lowest trainable node run no backward at all; a frozen batch
 * norm uses and keeps its running statistics. Flags are read at every step.
 */
#ifndef THAW_MODEL_H
#define THAW_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "thaw/core.h"
#include "thaw/input.h"
#include "thaw/tensor.h"

typedef enum thaw_kind {
	THAW_DENSE,
	THAW_CONV2D,
	THAW_MAXPOOL,
	THAW_AVGPOOL,
	THAW_GLOBALAVGPOOL,
	THAW_BATCHNORM,
	THAW_RELU,
	THAW_RELU6, /* clip to [lo, hi]; ReLU6 is [0, 6] */
	THAW_LEAKY_RELU,
	THAW_SIGMOID,
	THAW_TANH,
	THAW_GELU,
	THAW_DROPOUT,
	THAW_FLATTEN,
	THAW_ADD,
	THAW_CONCAT,
	THAW_EMBEDDING, /* token ids (B, 1, 1, T) -> vectors (B, dim, 1, T); id 0 (padding) gives zeros */
	THAW_POOL_TIME, /* (B, C, 1, T) -> (B, C, 1, 1): mean or max over the tokens that are not padding */
	THAW_KIND_COUNT
} thaw_kind;

enum { THAW_INIT_HE = 0, THAW_INIT_GLOROT = 1 };
enum { THAW_POOL_MEAN = 0, THAW_POOL_MAX = 1 };

/* Attributes of every kind in one struct; a kind reads only its own fields.
 * Start from thaw_attrs_default(kind) or the constructors below. */
typedef struct thaw_attrs {
	thaw_kind kind;
	int units;             /* dense: output features */
	int filters;           /* conv2d: output channels */
	int kh, kw;            /* conv2d, pools: kernel size */
	int sh, sw;            /* stride */
	int pad[4];            /* top, left, bottom, right */
	int dh, dw;            /* conv2d: dilation */
	int groups;            /* conv2d: groups (= input channels: depthwise) */
	int bias;              /* dense, conv2d: with a bias term */
	int ceil_mode;         /* pools: output size rounds up */
	int count_include_pad; /* avgpool: padding counts in the divisor */
	float alpha;           /* leaky relu: negative slope */
	float lo, hi;          /* relu6: clip bounds */
	float rate;            /* dropout: probability of dropping */
	float eps;             /* batchnorm */
	float momentum;        /* batchnorm: running = momentum*running + (1-momentum)*batch */
	int init;              /* THAW_INIT_HE or THAW_INIT_GLOROT */
	int words;             /* embedding: rows of the table (the vocabulary's size) */
	int dim;               /* embedding: the length of each word's vector */
	int pool;              /* pool_time: THAW_POOL_MEAN or THAW_POOL_MAX */
} thaw_attrs;

thaw_attrs thaw_attrs_default(thaw_kind kind);
thaw_attrs thaw_dense(int units);
thaw_attrs thaw_conv(int filters, int k, int stride, int pad);
thaw_attrs thaw_pool(thaw_kind kind, int k, int stride); /* THAW_MAXPOOL or THAW_AVGPOOL */
thaw_attrs thaw_dropout(float rate);
thaw_attrs thaw_layer(thaw_kind kind); /* kinds without required attributes */
thaw_attrs thaw_embedding(int words, int dim);
/* Reads (x) alone, or (x, ids): with the token ids as a second input
 * (usually the model input, -1), padding positions are left out. */
thaw_attrs thaw_pool_time(int pool);
/* A 1-D convolution over time is a conv2d with a 1 x k kernel: k tokens
 * wide, "same" padding (the output keeps T, so a pool_time after it can
 * still mask the padding). */
thaw_attrs thaw_conv1d(int filters, int k);

/* Kind <-> name ("dense", "conv2d", "maxpool", "avgpool", "globalavgpool",
 * "batchnorm", "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu",
 * "dropout", "flatten", "add", "concat", "embedding", "pool_time").
 * thaw_kind_from_name returns -1
 * for an unknown name. */
const char *thaw_kind_name(thaw_kind k);
int thaw_kind_from_name(const char *name);
/* Whether this thaw was built with layer kind k (a model file or an ONNX
 * graph may need one it lacks). */
int thaw_kind_built_in(thaw_kind k);

#define THAW_MAX_INPUTS 8
#define THAW_MAX_PARAMS 4
#define THAW_NAME_MAX 64

typedef struct thaw_param {
	const char *name; /* "weight", "bias", "gamma", "beta", "running_mean", "running_var" */
	float *w;         /* values, (dims) */
	float *g;         /* gradient; NULL for buffers */
	float *m, *v;     /* optimizer state (momentum / Adam moments); NULL for buffers */
	size_t size;
	int ndim, dims[4];
	int is_buffer; /* statistics: saved with the model, never trained */
} thaw_param;

typedef struct thaw_node {
	thaw_kind kind;
	char name[THAW_NAME_MAX];
	thaw_attrs a;
	int n_in, in[THAW_MAX_INPUTS]; /* node indices; -1 is the model input */
	int trainable;                 /* read at every step */
	float lr_mult;                 /* multiplies the scheduled learning rate */
	thaw_shape in_shape[THAW_MAX_INPUTS], out; /* per sample (n = 1) */
	int np;
	thaw_param p[THAW_MAX_PARAMS];
	float *pmem; /* the one allocation behind p[].w and p[].g */
	float *omem; /* optimizer state behind p[].m, p[].v, made on first use */
	uint64_t opt_t; /* optimizer steps this node has taken (Adam bias correction) */
	/* Row-sparse gradient of p[0] (embedding tables, whose ops set
	 * sparse_rows): the model makes rows and row_mark (p[0].dims[0] entries
	 * each); backward lists in rows the n_rows rows of p[0].g it wrote (g
	 * is zero elsewhere) and the optimizer updates those rows only, so a
	 * step costs the batch's words, not the table. NULL: g is dense. */
	int32_t *rows;
	int n_rows;
	unsigned char *row_mark;

	/* Per-step state, set by the model for the current step and read by
	 * layer code (thaw/layer.h); not for users of the graph. It stays in
	 * this struct because the trainer's feature cache reads y. */
	/* (B, out) activations and their gradient. dy is shared with nodes
	 * whose backward spans do not overlap, so it holds nothing between
	 * steps; after an inference pass a conv with fold_bn leaves its own y
	 * stale (the batch norm's y holds the result). */
	float *y, *dy;
	void *scratch;  /* kind-specific, sized by ops->scratch */
	int fused_relu; /* batchnorm: also applies the ReLU or relu6 that is its only consumer, */
	float act_lo, act_hi; /* ... clipping to [act_lo, act_hi] (a ReLU: [0, inf]) */
	int alias;      /* that ReLU or relu6: shares its input's buffers and computes nothing */
	int fold_bn;    /* conv2d: an inference pass applies the batch norm after it (its only consumer) */
	int bw;         /* backward ran (or runs) this step */
	int dy_set;     /* some consumer wrote dy this step */
	int need_dx[THAW_MAX_INPUTS];
	int acc_dx[THAW_MAX_INPUTS]; /* dx += (an earlier consumer wrote it) */

	/* Work counters, read by tests and the workbench. */
	uint64_t n_forward, n_backward, n_weight_grad;
	double t_forward, t_backward; /* seconds, summed while m->profile is set */
} thaw_node;

typedef struct thaw_model {
	int n, cap;
	thaw_node **nodes;
	thaw_input_spec input;
	int n_classes;
	char **class_names; /* n_classes strings or NULL */
	struct thaw_vocab *vocab; /* text models: the words behind the input ids
				   * (a reference, thaw/vocab.h), saved in the .thaw file; or NULL */
	thaw_rng rng;       /* init and dropout */
	uint64_t seed;

	/* activation plan */
	int plan_B, plan_training, plan_valid;
	thaw_arena arena;
	int profile;             /* time every node's forward and backward: 1 wall clock, 2 CPU time */
	int B;                   /* batch of the last forward */
	const float *last_input; /* borrowed: the x of the last forward */
	int last_training;       /* the last forward was a training pass (backward needs one) */

	/* Name lookup, kept by model.c through every change to the graph:
	 * open addressing from a node's name to its index (-1: empty), and
	 * per kind the first k worth trying for a default name "<kind>_<k>". */
	int *name_slot;
	size_t name_nslots;
	int auto_next[THAW_KIND_COUNT];
} thaw_model;

/* ---- construction and surgery. Every call checks its arguments. */
thaw_model *thaw_model_new(int c, int h, int w, uint64_t seed);
void thaw_model_free(thaw_model *m);
/* Appends a node reading `inputs` (NULL: the previous node, or the model
 * input for the first); name NULL makes "<kind>_<k>". Parameters are
 * initialised from the model's RNG. Returns the node index or < 0. */
int thaw_model_add(thaw_model *m, const char *name, const thaw_attrs *a, const int *inputs,
		   int n_in);
/* Inserts a one-input node at position pos of a chain: it reads what node
 * pos read, and node pos reads it. Returns pos or < 0. */
int thaw_model_insert(thaw_model *m, int pos, const char *name, const thaw_attrs *a);
int thaw_model_pop(thaw_model *m);                       /* drop the output node */
int thaw_model_truncate(thaw_model *m, const char *name); /* keep up to name */
/* Pops the output node and appends a dense head of `units` outputs. */
int thaw_model_replace_head(thaw_model *m, int units, const char *name);
int thaw_model_find(const thaw_model *m, const char *name); /* index or -1; O(1) */
/* Re-initialises every parameter from a fresh seed. */
void thaw_model_reinit(thaw_model *m, uint64_t seed);
/* Copies parameters, statistics and optimizer state from src into dst,
 * whose graph must have the same nodes and parameter shapes. */
int thaw_model_copy_params(thaw_model *dst, const thaw_model *src);
/* Class names of the output (copied); n must equal the output width, which
 * must be a vector of class scores (thaw_model_class_count); n = 0 forgets
 * them. The invariant: a model's names match its output width, or it has
 * none. So pop, truncate, replace_head and add (a new output node) drop
 * them, as does an insert that changes the output width. */
int thaw_model_set_classes(thaw_model *m, const char *const *names, int n);
/* Gives a text model its vocabulary (a new reference; NULL forgets it). The
 * model's input width is the number of tokens per sample. */
void thaw_model_set_vocab(thaw_model *m, struct thaw_vocab *v);

/* ---- freezing. Each returns the number of nodes changed or < 0. */
int thaw_model_set_trainable(thaw_model *m, int from, int to, int trainable); /* [from, to] */
/* pattern: any selector of thaw_model_select (name, glob, range, upto:NAME) */
int thaw_model_set_trainable_glob(thaw_model *m, const char *pattern, int trainable);
int thaw_model_freeze_upto(thaw_model *m, const char *name); /* freeze [0, name], thaw rest */
int thaw_model_set_lr_mult(thaw_model *m, int index, float mult);
/* Marks (mark[i] = 1) the nodes a selector names: a name or glob ("conv*"),
 * an index or index range ("3", "0-7"), or "upto:NAME". Returns how many it
 * marked, or < 0 when it names nothing. mark has m->n entries. */
int thaw_model_select(const thaw_model *m, const char *sel, char *mark);

/* ---- running. x is (B, c, h, w), normalised. */
int thaw_model_forward(thaw_model *m, const float *x, int B, int training);
/* Runs nodes first..n-1 only: the output of node first-1 must already hold
 * the batch's features (the trainer's feature cache writes it); x is read
 * only by nodes that take the model input (NULL when none does). */
int thaw_model_forward_from(thaw_model *m, int first, const float *x, int B, int training);
/* Nodes first..last only (last < n stops early: the feature cache fills). */
int thaw_model_forward_range(thaw_model *m, int first, int last, const float *x, int B, int training);
/* The largest k such that nodes 0..k have no trainable weights and nothing
 * random, and later nodes read nothing before k: their output for an image
 * never changes, so it can be computed once and cached. -1 when none. */
int thaw_model_static_prefix(const thaw_model *m);
/* dout: gradient of the loss w.r.t. the output (B, out). Fills the gradients
 * of the trainable parameters; skips everything below them. */
int thaw_model_backward(thaw_model *m, const float *dout);
const float *thaw_model_output(const thaw_model *m);
thaw_shape thaw_model_output_shape(const thaw_model *m); /* per sample */
/* The number of class scores the model outputs: its output width when the
 * output is a vector (K, 1x1xK, ...). < 0 otherwise, with a message naming
 * the shape ("model output is 64x3x3, not a vector of class scores: add a
 * head ..."). Fit, evaluate and predict refuse such a model with it. */
int thaw_model_class_count(const thaw_model *m);
/* Sizes the arena for batches up to B (done by forward when needed). */
int thaw_model_plan(thaw_model *m, int B, int training);

/* ---- inspection */
typedef struct thaw_param_counts {
	size_t trainable, frozen; /* learnable values; statistics excluded */
} thaw_param_counts;
thaw_param_counts thaw_model_count(const thaw_model *m);
size_t thaw_node_param_count(const thaw_node *n); /* learnable values */
int thaw_node_has_weights(const thaw_node *n);
/* A Keras-style table; the caller frees the string. */
char *thaw_model_summary(const thaw_model *m);
void thaw_node_describe(const thaw_node *n, char *buf, size_t size);
/* Runs the kind's shape check on a node the caller filled (kind, name, a,
 * n_in, in_shape[]): sets out and declares the parameters (np, names, dims;
 * no storage). < 0 with the layer's message when they do not fit. Loaders
 * check a file's declarations with it before allocating anything. */
int thaw_node_declare(thaw_node *n);
/* Index of the lowest trainable node with weights, or m->n when none. */
int thaw_model_lowest_trainable(const thaw_model *m);
/* Makes p[].m and p[].v of every learnable parameter (zeroed); idempotent. */
int thaw_node_alloc_opt_state(thaw_node *n);
/* Forgets all optimizer state (a new training phase starts fresh, as a
 * recompiled Keras model does). */
void thaw_model_reset_opt_state(thaw_model *m);

#endif
