/* thaw core: error reporting, the seeded RNG, the arena allocator and the
 * small helpers every module shares. Nothing here allocates behind the
 * caller's back: an arena owns what it hands out, the caller owns the arena.
 *
 * Errors: functions return 0 on success or a negative THAW_E* code, and
 * constructors return NULL; the message ("model.onnx: node 12 (Conv): ...")
 * stays in a thread-local buffer readable with thaw_errmsg(). */
#ifndef THAW_CORE_H
#define THAW_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* thaw's version: `thaw --version`, thaw(1) and, in Lua, thaw.version. */
#define THAW_VERSION "0.1"

enum {
	THAW_OK = 0,
	THAW_EINVAL = -1,  /* bad argument or attribute */
	THAW_ENOMEM = -2,  /* allocation failed */
	THAW_EIO = -3,     /* a file could not be read or written */
	THAW_EFORMAT = -4, /* a file is corrupt or of the wrong kind */
	THAW_ESHAPE = -5,  /* shapes do not fit together */
	THAW_ENAN = -6,    /* the loss became NaN or Inf */
	THAW_ESTOP = -7,   /* a callback asked to stop */
};

/* Records a printf-style message for thaw_errmsg() and returns `code`. */
int thaw_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last message recorded on this thread ("" when none). */
const char *thaw_errmsg(void);
/* Prepends "prefix: " to the current message (adds the file name, say). */
void thaw_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Warnings: something the library did on the user's behalf and that they
 * should hear about (a file's class names dropped because they do not match
 * its outputs). Library code cannot print, so thaw_warn collects the message
 * on this thread (the last 16 are kept); frontends print them with
 * thaw_warning_next(), which returns the oldest and forgets it, or NULL. */
void thaw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *thaw_warning_next(void);

/* Programmer errors only (a broken invariant, never user input): reports
 * file and line on stderr and aborts. */
#define THAW_ASSERT(c) ((c) ? (void)0 : thaw_assert_fail(#c, __FILE__, __LINE__))
_Noreturn void thaw_assert_fail(const char *expr, const char *file, int line);

/* malloc/calloc that record "out of memory (N bytes)" on failure. */
void *thaw_malloc(size_t n);
void *thaw_calloc(size_t count, size_t size);
/* 64-byte aligned allocation, freed with free(). */
void *thaw_aligned(size_t n);

/* ---- RNG: xoshiro128++ seeded through splitmix64; one stream per model. */
typedef struct thaw_rng {
	uint32_t s[4];
} thaw_rng;
void thaw_rng_seed(thaw_rng *r, uint64_t seed);
uint32_t thaw_rng_u32(thaw_rng *r);
float thaw_rng_uniform(thaw_rng *r);       /* [0, 1) */
float thaw_rng_normal(thaw_rng *r);        /* N(0, 1), Box-Muller */
uint32_t thaw_rng_below(thaw_rng *r, uint32_t n); /* [0, n), unbiased */

/* ---- Arena: one block sized up front, handed out in 64-byte aligned pieces.
 * Measure first with a NULL base (thaw_arena_take only counts), then
 * allocate once and take again: the step loop never calls malloc. */
typedef struct thaw_arena {
	char *base;
	size_t size, used;
} thaw_arena;
void *thaw_arena_take(thaw_arena *a, size_t bytes);
int thaw_arena_reserve(thaw_arena *a, size_t bytes); /* frees the old block */
void thaw_arena_free(thaw_arena *a);

/* A growing string: printf appends; on allocation failure `oom` is set and
 * later calls do nothing. The owner frees s. */
typedef struct thaw_sbuf {
	char *s;
	size_t len, cap;
	int oom;
} thaw_sbuf;
void thaw_sbuf_printf(thaw_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first root of thaw's shipped files (lua/, assets/) that holds lua/thaw
 * or assets/: the executable's directory in a build tree, else
 * <prefix>/share/thaw beside an installed binary; never the working
 * directory. Every root and the asset lookup: thaw/paths.h. */
const char *thaw_share_dir(void);

/* Wall-clock seconds from a monotonic clock. */
double thaw_now(void);
/* CPU seconds this process has run, all threads summed: steadier than
 * thaw_now on a shared machine (what `thaw bench --cpu-time` reports). */
double thaw_cpu_now(void);

#endif
