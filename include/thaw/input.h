/* What a model expects of its input data: shape, normalisation and how
 * images of another shape are fitted. A plain value; the model keeps one
 * (thaw_model.input) and data sets are converted to it (data.h), so both
 * layers share this header rather than data.h pulling in the model. */
#ifndef THAW_INPUT_H
#define THAW_INPUT_H

#define THAW_MAX_CHANNELS 4

typedef struct thaw_input_spec {
	int c, h, w;
	float mean[THAW_MAX_CHANNELS], std[THAW_MAX_CHANNELS]; /* on the 0..1 scale */
	int resize; /* thaw_resize_mode (data.h): how images of another shape are fitted */
} thaw_input_spec;

#endif
