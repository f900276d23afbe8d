/* The built-in 5x8 bitmap font (the classic 5x7 glyphs plus a descender
 * row) shared by everything that draws text into images: the sample grid
 * and the plots. A static table; nothing to allocate or free. */
#ifndef THAW_FONT_H
#define THAW_FONT_H

#include <stdint.h>

#define THAW_GLYPH_W 5       /* lit columns per glyph */
#define THAW_GLYPH_H 8       /* rows, descenders included */
#define THAW_GLYPH_ADVANCE 6 /* columns per character, one of them blank */

/* The glyph for ch: THAW_GLYPH_W column bytes, bit 0 the top row. Bytes
 * outside printable ASCII (32..126) get the '?' glyph. */
const uint8_t *thaw_font_glyph(int ch);

#endif
