/* Private to the .thaw codec (thawfile.c saves, thawfile_load.c loads):
 * the format's constants, its kind names and the byte and text helpers
 * both sides share. Layout in docs/thaw-format.md. */
#ifndef THAW_CODEC_THAWFILE_H
#define THAW_CODEC_THAWFILE_H

#include <stddef.h>
#include <stdint.h>

#include "thaw/model.h"

extern const unsigned char thaw_thawfile_magic[8];
#define MAX_SECTIONS 16
#define MAX_ELEMS ((uint64_t)1 << 34) /* the model's own per-parameter limit */

/* Kind names as the file spells them; fixed so a file stays readable
 * whichever layer kinds this build links. */
extern const char *const thaw_thawfile_kinds[THAW_KIND_COUNT];
int thaw_thawfile_kind_of(const char *s); /* -1 when unknown */
/* The input's resize policy as the header spells it (thaw_resize_mode's
 * order; the data layer above names the same three). */
#define N_RESIZE 3
extern const char *const thaw_thawfile_resize[N_RESIZE];

/* %XX-escapes bytes that would break the space-separated header. */
void thaw_thawfile_escape(char *out, size_t size, const char *s);
/* In place; returns -1 on a bad escape. */
int thaw_thawfile_unescape(char *s);

/* ---- little-endian helpers */
static inline void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static inline void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get_u64(const unsigned char *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}


#endif
