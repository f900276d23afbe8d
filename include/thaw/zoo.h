/* Ready-made architectures. The caller owns the returned model. */
#ifndef THAW_ZOO_H
#define THAW_ZOO_H

#include "thaw/model.h"

/* The reference CNN of thaw's benchmarks and demos:
 * conv1 3x3 32 p1, bn1, relu1, pool1 2, conv2 3x3 64 p1, bn2, relu2, pool2 2,
 * flatten, fc1 128, relu3, drop1 0.25, fc2 `classes`. Node names as listed. */
thaw_model *thaw_zoo_reference_cnn(int c, int h, int w, int classes, uint64_t seed);

#endif
