/* The built-in 5x8 bitmap font (the classic 5x7 glyphs plus a descender
 * row) and the one routine that draws it, shared by everything that puts
 * text into images: the sample grid and the plots' canvas. A static table;
 * nothing to allocate or free; the caller owns the pixels. */
#ifndef THAW_FONT_H
#define THAW_FONT_H

#include <stdint.h>

#define THAW_GLYPH_W 5       /* lit columns per glyph */
#define THAW_GLYPH_H 8       /* rows, descenders included */
#define THAW_GLYPH_ADVANCE 6 /* columns per character, one of them blank */

/* The glyph for ch: THAW_GLYPH_W column bytes, bit 0 the top row. Bytes
 * outside printable ASCII (32..126) get the '?' glyph. */
const uint8_t *thaw_font_glyph(int ch);

/* Where thaw_font_draw draws: planar 8-bit pixels (planes, h, w), a lit
 * pixel set to value[k] in plane k, nothing outside the clip rectangle
 * [x0, x1) x [y0, y1), which lies inside the image. Borrowed pointers. */
typedef struct thaw_font_target {
	uint8_t *px;          /* (planes, h, w) */
	int planes, w, h;
	int x0, y0, x1, y1;   /* clip rectangle */
	const uint8_t *value; /* (planes) */
} thaw_font_target;

/* Draws at most max_chars characters of s (max_chars < 0: all of it, up to
 * 100000) magnified `scale` times (1..8), the top-left corner at (x, y),
 * left to right. With up, turned 90 degrees to read bottom to top, (x, y)
 * being the bottom-left corner of the turned text. Any coordinates are
 * safe: what falls outside the clip rectangle is not drawn. */
void thaw_font_draw(const thaw_font_target *t, int x, int y, const char *s, int max_chars, int scale,
		    int up);

#endif
