/* ONNX import internals, shared by onnx_import.c (the file, values,
 * attributes, tensors, graph order, metadata) and onnx_ops.c (one builder
 * per operator). Not a public header: only src/codec/onnx_*.c. Everything
 * here reads hostile data and checks it before use. */
#ifndef THAW_CODEC_ONNX_IMPORT_H
#define THAW_CODEC_ONNX_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"
#include "thaw/onnx.h"

#define MAX_ELEMS ((uint64_t)1 << 31)

enum { V_INPUT, V_NODE, V_CONST };

typedef struct value {
	const char *name;
	int kind;
	int node;                   /* V_NODE: thaw node index */
	const Onnx__TensorProto *t; /* V_CONST */
	int rank;                   /* of an activation in ONNX terms */
	int uses;                   /* consumers: node inputs and graph outputs */
} value;

/* open-addressing map from value name to index in vals */
typedef struct ctx {
	const char *path;
	Onnx__ModelProto *mp;
	Onnx__GraphProto *g;
	int opset;
	value *vals;
	int nv, capv;
	int *slots;
	size_t nslots;
	thaw_model *m;
	thaw_onnx_info *info;
	const Onnx__NodeProto *nd; /* node being imported, for messages */
	char *folded;              /* per ONNX node: absorbed by an earlier one */
	/* names given so far: base name -> the last k of "<base>_<k>" tried,
	 * so a file of 100,000 unnamed Relu nodes does not probe 2, 3, ... */
	char **hint_base;
	int *hint_k;
	size_t hint_nslots, hint_n;
} ctx;

/* Sets the error message, prefixed with the file and the node being
 * imported; returns code. */
int thaw_onnx_err(ctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The value map: index of a name in c->vals or -1; (re)defines a value and
 * returns its index or < 0 when the map is full. */
int thaw_onnx_find_val(const ctx *c, const char *name);
int thaw_onnx_def_val(ctx *c, const char *name, value v);

/* Attributes of the node being imported (c->nd). Absent ones take def; a
 * value outside [lo, hi] is an error naming the attribute. */
const Onnx__AttributeProto *thaw_onnx_attr(const Onnx__NodeProto *nd, const char *name);
int thaw_onnx_attr_int(ctx *c, const char *name, long lo, long hi, long def, long *out);
int thaw_onnx_attr_float(ctx *c, const char *name, float def, float *out);
/* An INTS attribute of exactly `want` values into out (the defaults stay
 * when absent). Returns 1 when present. */
int thaw_onnx_attr_ints(ctx *c, const char *name, int want, long lo, long hi, int *out);
const char *thaw_onnx_attr_str(const Onnx__NodeProto *nd, const char *name, char *buf, size_t size);

/* Tensors: element count from dims (negative and oversized ones rejected);
 * a FLOAT tensor's data checked against its dims without copying; copies
 * of exactly `want` floats, or of up to max INT64 (or INT32) values, which
 * returns the count. */
int thaw_onnx_tensor_count(ctx *c, const Onnx__TensorProto *t, const char *what, uint64_t *out);
int thaw_onnx_tensor_f32_check(ctx *c, const Onnx__TensorProto *t, const char *what, uint64_t *out);
int thaw_onnx_tensor_f32(ctx *c, const Onnx__TensorProto *t, const char *what, float *dst,
			 uint64_t want);
int thaw_onnx_tensor_ints(ctx *c, const Onnx__TensorProto *t, const char *what, int64_t *dst, int max);

/* Maps the ONNX node c->nd (number `at` in graph order) onto thaw nodes,
 * or folds it away. */
int thaw_onnx_import_node(ctx *c, int at);

#endif
