/* thaw data sets: images stored as uint8 (N, C, H, W) with int32 labels and
 * class names; floats exist only per batch, made by the loader. Every
 * function that returns a thaw_dataset makes a new one the caller owns and
 * frees with thaw_dataset_free; inputs are only read (borrowed).
 *
 *   thaw_dataset *d = thaw_dataset_open("fashion-mnist");        // 60000x1x28x28
 *   int keep[] = {5, 6, 7, 8, 9};
 *   thaw_dataset *t = thaw_dataset_select_classes(d, keep, 5);   // relabelled 0..4
 *   thaw_loader_opts o = thaw_loader_opts_default();
 *   thaw_loader *l = thaw_loader_new(t, &o);                     // borrows t
 *   thaw_batch b;
 *   while (thaw_loader_next(l, &b) == 1) train_step(b.x, b.y, b.B);
 *
 * Errors: constructors return NULL and functions a negative THAW_E* code;
 * thaw_errmsg() names the file and the reason. Nothing half-loaded is ever
 * returned. */
#ifndef THAW_DATA_H
#define THAW_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "thaw/core.h"
#include "thaw/image.h"
#include "thaw/input.h"

typedef struct thaw_dataset {
	int n, c, h, w;
	uint8_t *x; /* (n, c, h, w) */
	int32_t *y; /* (n), each in [0, n_classes) */
	int n_classes;
	char **class_names; /* (n_classes), each owned */
	char source[256];   /* where it came from, for summaries */
	char *notes;        /* owned; NULL or lines ("skipped 2 files that are not PNG or JPEG
			     * (notes.txt, ...)") a frontend shows the user; kept by clone */
	/* Text data (thaw/text.h): x is NULL, c = h = 1 and w is the tokens per
	 * sample; every selection below keeps these. NULL for images. */
	int32_t *ids;             /* (n, w) token ids, THAW_TOKEN_PAD after the text */
	int32_t *len;             /* (n) tokens each text had before padding or cutting */
	struct thaw_vocab *vocab; /* a reference (thaw/vocab.h): the words behind ids */
} thaw_dataset;

/* A zeroed data set with class names "0".."n_classes-1". n may be 0. */
thaw_dataset *thaw_dataset_new(int n, int c, int h, int w, int n_classes);
void thaw_dataset_free(thaw_dataset *d); /* NULL is fine */
/* Steps through newline-separated notes a line at a time:
 *   const char *pos = d->notes, *line; int len;
 *   while ((line = thaw_note_next(&pos, &len))) show("%.*s", len, line);
 * NULL after the last line (or for NULL notes). */
const char *thaw_note_next(const char **pos, int *len);
thaw_dataset *thaw_dataset_clone(const thaw_dataset *d);
/* Copies n names (n must equal d->n_classes). */
int thaw_dataset_set_class_names(thaw_dataset *d, const char *const *names, int n);
/* 1 when two class names name the same class: equal ignoring case, an
 * "NN-" order prefix (thaw data --export writes "05-Sandal") and the '/'
 * a folder name cannot hold ("T-shirt/top" is exported as "T-shirt-top").
 * b is the first blen bytes of its string (a slice of a list). */
int thaw_class_name_same(const char *a, const char *b, size_t blen);
/* Bytes held by the store (pixels, labels, names). */
size_t thaw_dataset_bytes(const thaw_dataset *d);
/* Images per class into count (n_classes entries). */
void thaw_dataset_class_counts(const thaw_dataset *d, int *count);
/* Image i's pixels; NULL for text data (no pixels: see thaw_text_ids). */
static inline const uint8_t *thaw_dataset_image(const thaw_dataset *d, int i)
{
	return d->x ? d->x + (size_t)i * d->c * d->h * d->w : NULL;
}

/* ---- sources */

/* An IDX image file (ndim 3: N,H,W or ndim 4: N,H,W,C with C <= 4) and an
 * IDX label file (ndim 1), each plain or gzip'd. n_classes 0 infers it from
 * the largest label; otherwise a label >= n_classes is an error. */
thaw_dataset *thaw_idx_load(const char *images, const char *labels, int n_classes);
/* The same from two buffers in memory (borrowed), plain or gzip'd; the
 * names stand for the files in messages (NULL: "(images)", "(labels)"). */
thaw_dataset *thaw_idx_load_mem(const void *images, size_t images_len, const char *images_name,
				const void *labels, size_t labels_len, const char *labels_name, int n_classes);
/* Fashion-MNIST from dir (NULL: /usr/share/datasets/fashion-mnist), the
 * train split (60000) or the test split (10000), with its 10 class names. */
#define THAW_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
thaw_dataset *thaw_fashion_mnist(const char *dir, int test);
extern const char *const thaw_fashion_mnist_classes[10];
/* ---- image folders: root/<class>/<image>, classes the subfolders in
 * sorted order, images the .png .jpg .jpeg files (any case) read by their
 * first bytes. Nothing is dropped silently: other files are listed in the
 * notes; a corrupt image is an error naming it, or with skip_bad skipped
 * and listed. Images decode one at a time per thread straight into the
 * store (JPEGs DCT-scaled down when the target is smaller), so memory
 * peaks near the stored uint8 size. The result does not depend on the
 * thread count. */

/* How an image of another shape is fitted to h x w: STRETCH resizes each
 * axis on its own (aspect not kept); CROP scales the shorter side to fit
 * and keeps the centre (ImageNet evaluation); PAD fits the whole image
 * inside, centred, the rest black (0). */
typedef enum thaw_resize_mode { THAW_RESIZE_STRETCH = 0, THAW_RESIZE_CROP, THAW_RESIZE_PAD } thaw_resize_mode;
/* "stretch" | "crop" | "pad"; THAW_EINVAL naming the choices else. */
int thaw_resize_mode_parse(const char *s, thaw_resize_mode *out);
const char *thaw_resize_mode_name(thaw_resize_mode m); /* "stretch" for anything unknown */

typedef struct thaw_image_opts {
	int c, h, w;               /* 0: from the data (first image's size; 3 if any colour) */
	thaw_resize_mode resize;
	int skip_bad;              /* skip corrupt images (listed in the notes) instead of failing */
	int threads;               /* 0: all cores */
	void (*progress)(int done, int total, void *user); void *user;  /* may be NULL */
} thaw_image_opts;
/* Everything 0: sizes from the data, stretch, fail on a bad image, all cores. */
thaw_image_opts thaw_image_opts_default(void);
/* Takes c, h, w and resize from a model's input spec. */
void thaw_image_opts_from_spec(thaw_image_opts *o, const thaw_input_spec *spec);
/* progress, when set, is called on the calling thread as images finish
 * (done = total at the end). */
thaw_dataset *thaw_folder_load_opts(const char *root, const thaw_image_opts *o);
/* Every PNG or JPEG file under dir, recursively (hidden entries skipped),
 * sorted, as paths starting with dir: *paths gets *n owned strings (free
 * with thaw_image_files_free). *notes (NULL when nothing to say, else owned)
 * lists what was not an image: "skipped 2 files that are not PNG or JPEG
 * (a/notes.txt, …)". A folder without images is an error. */
int thaw_image_files(const char *dir, char ***paths, int *n, char **notes);
void thaw_image_files_free(char **paths, int n);
/* thaw_folder_load_opts with c, h, w and everything else default. */
thaw_dataset *thaw_folder_load(const char *root, int c, int h, int w);
/* The inverse: root/<NN-class>/<index>.png (or .jpg) for every image (gray
 * or RGB); the NN- prefix keeps the label order when the folder is loaded
 * again. format: THAW_IMAGE_PNG or THAW_IMAGE_JPEG (quality 90). */
int thaw_folder_save_format(const thaw_dataset *d, const char *root, int format);
int thaw_folder_save(const thaw_dataset *d, const char *root); /* PNG */

/* Seeded synthetic images: each class is an oriented bar or a pair of
 * parallel bars (kind alternates with the class, angles spread over 180°),
 * at a random position, length, width and brightness, over noise. A small
 * CNN separates them; a linear model on raw pixels does not do it easily. */
typedef struct thaw_synth_opts {
	int n, c, h, w, classes;
	uint64_t seed;
	float noise; /* std of the pixel noise on the 0..1 scale */
} thaw_synth_opts;
thaw_synth_opts thaw_synth_opts_default(void); /* 1000 x 1x28x28, 10 classes, noise 0.1 */
thaw_dataset *thaw_synth(const thaw_synth_opts *o);

/* SPEC: "fashion-mnist", "fashion-mnist:test", "fashion-mnist:train",
 * "synth" or "synth:N", text data ("text:PATH", a .tsv or .csv file, a
 * folder of class folders of .txt files: thaw/text.h, default options),
 * a directory of class folders, a directory holding
 * train-images-idx3-ubyte[.gz] (append ":test" for the t10k files), or
 * "images.idx[.gz],labels.idx[.gz]". */
thaw_dataset *thaw_dataset_open(const char *spec);
/* The same with image options (o NULL: defaults). A folder loads through
 * thaw_folder_load_opts; another source given o->c, h or w is converted
 * like thaw_dataset_to_spec with o->resize, and its notes say so. */
thaw_dataset *thaw_dataset_open_opts(const char *spec, const thaw_image_opts *o);

/* ---- shaping */

/* Resizes one plane: area averaging when shrinking, bilinear (pixel
 * centres aligned) when growing, each axis on its own. tmp holds
 * thaw_resize_tmp(dh, dw, sh, sw) floats. */
void thaw_resize_plane(uint8_t *dst, int dh, int dw, const uint8_t *src, int sh, int sw, float *tmp);
/* Floats of tmp the resize functions need for these sizes. */
size_t thaw_resize_tmp(int dh, int dw, int sh, int sw);
/* One plane fitted by a policy (see thaw_resize_mode); tmp holds
 * thaw_resize_tmp(dh, dw, sh, sw) floats. */
void thaw_resize_plane_mode(uint8_t *dst, int dh, int dw, const uint8_t *src, int sh, int sw,
			    thaw_resize_mode mode, float *tmp);
thaw_dataset *thaw_dataset_resize(const thaw_dataset *d, int h, int w); /* stretch */
thaw_dataset *thaw_dataset_resize_mode(const thaw_dataset *d, int h, int w, thaw_resize_mode mode);
/* 1 -> c replicates; 3 (or 4) -> 1 takes the luma 0.299R + 0.587G + 0.114B;
 * 4 -> 3 drops alpha. */
thaw_dataset *thaw_dataset_channels(const thaw_dataset *d, int c);
/* Per-channel mean and std on the 0..1 scale (c entries each). */
int thaw_dataset_stats(const thaw_dataset *d, float *mean, float *std);
/* Converts d to spec's channels and size, fitted by spec->resize; desc gets
 * one line saying what changed ("resized 28x28 -> 32x32, gray -> RGB",
 * "cropped 40x60 -> 32x32" or "unchanged (1x28x28)").
 * Normalisation is the loader's job: see thaw_loader_opts_from_spec. */
thaw_dataset *thaw_dataset_to_spec(const thaw_dataset *d, const thaw_input_spec *spec, char *desc,
				   size_t desc_size);

/* ---- selection (all keep the original order of the images they keep) */

/* Keeps images of classes[0..k-1] and relabels classes[i] -> i. */
thaw_dataset *thaw_dataset_select_classes(const thaw_dataset *d, const int *classes, int k);
/* k images of every class, chosen with the seed; an error when a class has
 * fewer than k. */
thaw_dataset *thaw_dataset_per_class(const thaw_dataset *d, int k, uint64_t seed);
/* Stratified split: round(val_frac * count) images of each class go to val. */
int thaw_dataset_split(const thaw_dataset *d, float val_frac, uint64_t seed, thaw_dataset **train,
		       thaw_dataset **val);
/* Images idx[0..n-1] of d, in that order. */
thaw_dataset *thaw_dataset_subset(const thaw_dataset *d, const int *idx, int n);
/* a then b; classes are matched by name, b's new names appended. */
thaw_dataset *thaw_dataset_join(const thaw_dataset *a, const thaw_dataset *b);

/* ---- seeing the data */

/* per_row images of each class (seeded pick), one row per class, with the
 * class name drawn left of the row in a built-in 5x8 font. Gray data set
 * -> gray PNG, else RGB. */
int thaw_dataset_grid_png(const thaw_dataset *d, const char *path, int per_row, uint64_t seed);

/* ---- the batch loader: a background thread prepares the next float batch
 * (normalised, optionally augmented) while the caller works. The batches
 * depend only on the seed and the epoch number, never on thread timing. */
typedef struct thaw_loader_opts {
	int batch;     /* images per batch */
	int shuffle;   /* new seeded order every epoch */
	uint64_t seed; /* order and augmentation */
	int drop_last; /* skip the last, smaller batch of an epoch */
	float mean[THAW_MAX_CHANNELS], std[THAW_MAX_CHANNELS]; /* 0..1 scale; std <= 0 means 1 */
	int shift;     /* augmentation: random shift of up to +-shift pixels, zero padding */
	int flip;      /* augmentation: horizontal flip with probability 1/2 */
	/* shards > 1 (data-parallel training): every batch holds only the
	 * shard-th of `shards` contiguous slices of the whole batch, images
	 * and augmentation exactly as the whole batch has them there */
	int shard, shards;
} thaw_loader_opts;

/* batch 64, shuffle, seed 0, mean 0, std 1, no augmentation. */
thaw_loader_opts thaw_loader_opts_default(void);
/* Copies the spec's mean and std into o. */
void thaw_loader_opts_from_spec(thaw_loader_opts *o, const thaw_input_spec *spec);

typedef struct thaw_batch {
	const float *x;   /* (B, C, H, W), valid until the next thaw_loader_next */
	const int32_t *y; /* (B) */
	const int *idx;   /* (B) the images' indices in the data set */
	int B;
	int total;        /* images in the whole batch (B unless sharded) */
	int epoch, index; /* which batch of which epoch */
} thaw_batch;

typedef struct thaw_loader thaw_loader;

/* d is borrowed and must outlive the loader. */
thaw_loader *thaw_loader_new(const thaw_dataset *d, const thaw_loader_opts *o);
/* 1 with a batch; 0 at the end of an epoch (the next call starts the next
 * epoch); < 0 on error. */
int thaw_loader_next(thaw_loader *l, thaw_batch *b);
int thaw_loader_batches(const thaw_loader *l); /* per epoch */
void thaw_loader_free(thaw_loader *l);         /* NULL is fine; joins the thread */

/* Fills x (B,C,H,W) and y with images idx[0..B-1], normalised and, with
 * aug_seed != 0 and o->shift/o->flip set, augmented from that seed. The
 * loader's worker calls this; so can single-threaded callers (evaluation). */
void thaw_batch_fill(float *x, int32_t *y, const thaw_dataset *d, const int *idx, int B,
		     const thaw_loader_opts *o, uint64_t aug_seed);

/* ---- normalisation presets (src/data/preset.c)
 * Sets spec's mean and std from a name: "imagenet" (mean 0.485 0.456 0.406,
 * std 0.229 0.224 0.225, what torchvision and most ONNX image models want),
 * "inception" (mean 0.5, std 0.5: pixels in [-1, 1], Keras' "tf" mode),
 * "unit" or "none" (mean 0, std 1: the 0..1 pixels as they are). imagenet
 * and inception also set the resize policy to crop (shorter side to size,
 * centre kept: their evaluation transform); unit and none leave it. h and w
 * are kept (the model fixes them). A spec without channels (c == 0) gets
 * the preset's (3 for imagenet); a model with other channels than an RGB
 * preset is an error naming both, never silently given RGB statistics.
 * 0, or THAW_EINVAL (unknown name: the message lists the known ones). */
int thaw_input_preset(thaw_input_spec *spec, const char *name);
const char *thaw_input_presets(void); /* "imagenet, inception, unit, none" */

#endif
