/* Ready-made architectures. The caller owns the returned model. */
#ifndef THAW_ZOO_H
#define THAW_ZOO_H

#include "thaw/model.h"

/* The reference CNN of thaw's benchmarks and demos:
 * conv1 3x3 32 p1, bn1, relu1, pool1 2, conv2 3x3 64 p1, bn2, relu2, pool2 2,
 * flatten, fc1 128, relu3, drop1 0.25, fc2 `classes`. Node names as listed. */
thaw_model *thaw_zoo_reference_cnn(int c, int h, int w, int classes, uint64_t seed);

/* A small text classifier on token ids (1x1xlength): emb (embedding of
 * `words` x `dim`, trainable), pool (pool_time mean over the real tokens:
 * it reads the model input for the padding), head (dense `classes`). The
 * caller gives it its vocabulary (thaw_model_set_vocab). */
thaw_model *thaw_zoo_text_classifier(int words, int length, int dim, int classes, uint64_t seed);

#endif
