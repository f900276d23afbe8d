/* Named input normalisations, so nobody types ImageNet's statistics by hand. */
#include <string.h>

#include "thaw/data.h"

typedef struct preset {
	const char *name;
	int c; /* 0: any channel count (one value for all) */
	float mean[3], std[3];
	int resize; /* a thaw_resize_mode, or -1: left as it is */
} preset;

static const preset presets[] = {
	/* torchvision's and Keras' "torch" mode; most ONNX image models */
	/* ImageNet's evaluation transform also keeps the centre of the photo
	 * (shorter side to size, centre crop) instead of stretching it */
	{"imagenet", 3, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}, THAW_RESIZE_CROP},
	/* Keras' "tf" mode (Inception, MobileNet from TF): pixels in [-1, 1] */
	{"inception", 0, {0.5f}, {0.5f}, THAW_RESIZE_CROP},
	/* the 0..1 pixels as they are */
	{"unit", 0, {0.0f}, {1.0f}, -1},
	{"none", 0, {0.0f}, {1.0f}, -1},
};

const char *thaw_input_presets(void) { return "imagenet, inception, unit, none"; }

int thaw_input_preset(thaw_input_spec *spec, const char *name)
{
	const preset *p = NULL;
	for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
		if (name && !strcmp(name, presets[i].name))
			p = &presets[i];
	if (!p)
		return thaw_error(THAW_EINVAL, "normalisation preset '%s' unknown (known: %s)", name ? name : "(null)",
				  thaw_input_presets());
	if (p->c && spec->c == 0)
		spec->c = p->c;
	if (p->c && spec->c != p->c)
		return thaw_error(THAW_EINVAL, "normalisation preset '%s' is for %d-channel input; the model takes %d",
				  name, p->c, spec->c);
	for (int c = 0; c < THAW_MAX_CHANNELS; c++) {
		spec->mean[c] = p->c ? (c < p->c ? p->mean[c] : 0.0f) : p->mean[0];
		spec->std[c] = p->c ? (c < p->c ? p->std[c] : 1.0f) : p->std[0];
	}
	if (p->resize >= 0)
		spec->resize = p->resize;
	return 0;
}
