/* ONNX import and export: pretrained models from PyTorch, Keras and the
 * ONNX model zoo arrive this way, and thaw models leave this way. The
 * supported operators and limits are listed in docs/onnx.md.
 *
 *   thaw_onnx_info info;
 *   thaw_model *m = thaw_onnx_import("resnet18.onnx", &info);   // NULL on error
 *   if (info.softmax) ...   // the file ended in Softmax: apply it at inference
 *   thaw_onnx_export(m, "out.onnx");
 *
 * The caller owns the imported model. Every error names the file, the ONNX
 * node and its operator ("m.onnx: node 'conv1' (Conv): ..."). */
#ifndef THAW_ONNX_H
#define THAW_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "thaw/model.h"

typedef struct thaw_onnx_info {
	int64_t ir_version;
	int opset;          /* of the default domain */
	char producer[64];  /* "pytorch 1.13" */
	int n_onnx_nodes;   /* nodes in the file */
	int n_folded;       /* Identity, Constant, MatMul+Add bias... that made no thaw node */
	int softmax;        /* a final Softmax was dropped: apply it at inference; train on logits */
	int input_rank;     /* 4 (N,C,H,W); 3 (N,C,L) became (C,1,L); 2 (N,C) became (C,1,1) */
	int output_rank;    /* rank of the ONNX output: 2 (N,K) or 4 (N,C,H,W) ... */
	char input_name[128], output_name[128];
} thaw_onnx_info;

/* Reads an ONNX model file into a new thaw model. info may be NULL. */
thaw_model *thaw_onnx_import(const char *path, thaw_onnx_info *info);
/* The same from len bytes in memory (borrowed; nothing keeps them); name
 * stands for the file in messages ("upload.onnx: ..."), NULL: "(memory)".
 * Files whose messages nest more than 100 deep are refused before decoding. */
thaw_model *thaw_onnx_import_mem(const void *data, size_t len, const char *name, thaw_onnx_info *info);

/* Writes m as an ONNX model (opset 17, or 20 when it holds a gelu) with one
 * input "input" (N,C,H,W) and one output; re-importing gives the same graph. */
int thaw_onnx_export(const thaw_model *m, const char *path);

/* The operators the importer understands, comma-separated. */
const char *thaw_onnx_supported_ops(void);

#endif
