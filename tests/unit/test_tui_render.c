/* The workbench's curses-free drawing: braille plots, half-block images,
 * text clipping and the ASCII fallback, read back from the cell grid. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "thaw/tui.h"

/* Which dot rows / columns of the plot area hold any dot of colour `color`. */
static int braille_dots(const thaw_tui_buf *b, int x0, int y0, int pw, int ph, int color, int *top_dot,
			int *bottom_dot, int *left_dot, int *right_dot)
{
	static const int bit_row[8] = {0, 1, 2, 0, 1, 2, 3, 3};
	static const int bit_col[8] = {0, 0, 0, 1, 1, 1, 0, 1};
	int n = 0;
	*top_dot = *left_dot = 1 << 30;
	*bottom_dot = *right_dot = -1;
	for (int j = 0; j < ph; j++)
		for (int i = 0; i < pw; i++) {
			const thaw_tui_cell *c = &b->cells[(y0 + j) * b->w + x0 + i];
			if (c->ch < 0x2801 || c->ch > 0x28ff || c->fg != color)
				continue;
			for (int k = 0; k < 8; k++)
				if ((c->ch - 0x2800) & (1u << k)) {
					int dy = j * 4 + bit_row[k], dx = i * 2 + bit_col[k];
					if (dy < *top_dot) *top_dot = dy;
					if (dy > *bottom_dot) *bottom_dot = dy;
					if (dx < *left_dot) *left_dot = dx;
					if (dx > *right_dot) *right_dot = dx;
					n++;
				}
		}
	return n;
}

static void test_plot_falling_line(void)
{
	thaw_tui_buf b = {0};
	CHECK_OK(thaw_tui_buf_init(&b, 47, 11, 0, 1));
	float xs[] = {0, 1, 2, 3, 4}, ys[] = {2.0f, 1.5f, 1.0f, 0.5f, 0.25f};
	thaw_tui_series s = {xs, ys, 5, 33, '*'};
	CHECK_OK(thaw_tui_plot(&b, 0, 0, 47, 11, &s, 1, NULL));
	/* plot area: 40 cells x 10 rows = 80 x 40 dots, right of a 7-column margin */
	int top, bottom, left, right;
	int n = braille_dots(&b, 7, 0, 40, 10, 33, &top, &bottom, &left, &right);
	CHECKF(n > 40, "only %d dots", n);
	/* the data range fills the area: first point at the top left, last at bottom right */
	CHECK(left == 0 && right == 79);
	CHECK(top == 0 && bottom == 39);
	/* the line falls: the first column's dot is above the last column's */
	const thaw_tui_cell *first = &b.cells[0 * 47 + 7], *last = &b.cells[9 * 47 + 46];
	CHECK(first->ch > 0x2800 && last->ch > 0x2800);
	/* y labels show the range */
	char row[512];
	thaw_tui_row(&b, 0, row, sizeof row);
	CHECKF(strstr(row, "2") != NULL, "top row '%s'", row);
	thaw_tui_row(&b, 9, row, sizeof row);
	CHECKF(strstr(row, "0.25") != NULL, "bottom row '%s'", row);
	thaw_tui_buf_free(&b);
}

static void test_plot_rescales_and_log(void)
{
	thaw_tui_buf b = {0};
	CHECK_OK(thaw_tui_buf_init(&b, 47, 11, 0, 1));
	float xs[] = {0, 1, 2}, ys[] = {100, 10, 1};
	thaw_tui_series s = {xs, ys, 3, 33, '*'};
	thaw_tui_plot_opts o = {.log_y = 1};
	CHECK_OK(thaw_tui_plot(&b, 0, 0, 47, 11, &s, 1, &o));
	/* on a log scale 100, 10, 1 are evenly spaced: the middle point sits on the middle dot row */
	int top, bottom, left, right;
	braille_dots(&b, 7, 0, 40, 10, 33, &top, &bottom, &left, &right);
	CHECK(top == 0 && bottom == 39);
	/* the dot in the middle column (x = 39/40 of 80) lies near dot row 19.5 */
	int mid_row = -1;
	for (int j = 0; j < 10; j++) {
		const thaw_tui_cell *c = &b.cells[j * 47 + 7 + 20];
		if (c->ch > 0x2800 && c->ch <= 0x28ff)
			mid_row = j;
	}
	CHECKF(mid_row >= 4 && mid_row <= 5, "middle point in cell row %d", mid_row);
	char row[512];
	thaw_tui_row(&b, 0, row, sizeof row);
	CHECKF(strstr(row, "100") != NULL, "top label '%s'", row);
	/* new data with a larger range rescales: the same curve now uses less height */
	float ys2[] = {1, 1, 1, 2};
	float xs2[] = {0, 1, 2, 3};
	thaw_tui_series s2[2] = {{xs2, ys2, 4, 33, '*'}, {xs2, ys2, 2, 34, 'o'}};
	thaw_tui_buf_clear(&b);
	CHECK_OK(thaw_tui_plot(&b, 0, 0, 47, 11, s2, 2, NULL));
	braille_dots(&b, 7, 0, 40, 10, 33, &top, &bottom, &left, &right);
	CHECK(top == 0 && bottom == 39);
	/* the second series was drawn over the first on their shared points */
	int n34 = braille_dots(&b, 7, 0, 40, 10, 34, &top, &bottom, &left, &right);
	CHECK(n34 > 0 && bottom == 39);
	thaw_tui_buf_free(&b);
}

static void test_plot_nan_marks_ascii(void)
{
	thaw_tui_buf b = {0};
	CHECK_OK(thaw_tui_buf_init(&b, 30, 8, 1, 0));
	float xs[] = {0, 1, 2, 3}, ys[] = {1, NAN, INFINITY, 0};
	float mark = 1.5f;
	thaw_tui_series s = {xs, ys, 4, 33, '*'};
	thaw_tui_plot_opts o = {.marks = &mark, .n_marks = 1};
	CHECK_OK(thaw_tui_plot(&b, 0, 0, 30, 8, &s, 1, &o));
	int stars = 0, colons = 0, high = 0;
	for (int i = 0; i < b.w * b.h; i++) {
		CHECK(b.cells[i].ch < 128);
		CHECK(b.cells[i].fg == -1);
		stars += b.cells[i].ch == '*';
		colons += b.cells[i].ch == ':';
		high += b.cells[i].ch >= 128;
	}
	CHECKF(stars >= 23, "%d marks: the line from (0,1) to (3,0) spans the width", stars);
	CHECKF(colons >= 3, "%d phase-boundary dots", colons);
	CHECK(high == 0);
	CHECK(thaw_tui_plot(&b, 0, 0, 8, 2, &s, 1, NULL) == THAW_EINVAL);
	thaw_tui_buf_free(&b);
}

static void test_gray_ramp(void)
{
	CHECK(thaw_tui_gray(0) == 16);
	CHECK(thaw_tui_gray(255) == 231);
	int prev = thaw_tui_gray(12);
	CHECK(prev >= 232 && prev <= 255);
	for (int v = 13; v < 245; v++) { /* monotone through the 24 grays */
		int g = thaw_tui_gray(v);
		CHECK(g >= prev && g <= 255);
		prev = g;
	}
	CHECK(thaw_tui_rgb(255, 0, 0) == 196);
	CHECK(thaw_tui_rgb(0, 0, 255) == 21);
	CHECK(thaw_tui_rgb(128, 128, 128) == thaw_tui_gray(128));
}

static void test_image_half_blocks(void)
{
	/* 4x4 gray image: top half black, bottom half white */
	uint8_t img[16];
	for (int i = 0; i < 16; i++)
		img[i] = i < 8 ? 0 : 255;
	thaw_tui_buf b = {0};
	CHECK_OK(thaw_tui_buf_init(&b, 10, 5, 0, 1));
	int rows;
	int cols = thaw_tui_image(&b, 1, 1, 8, 8, img, 1, 4, 4, &rows);
	CHECK(cols == 4 && rows == 2); /* small images keep their size: 2 pixels per cell vertically */
	const thaw_tui_cell *c0 = thaw_tui_at(&b, 1, 1), *c1 = thaw_tui_at(&b, 1, 2);
	CHECK(c0->ch == 0x2580 && c0->fg == 16 && c0->bg == 16);
	CHECK(c1->ch == 0x2580 && c1->fg == 231 && c1->bg == 231);
	CHECK(thaw_tui_at(&b, 0, 1)->ch == ' ' && thaw_tui_at(&b, 5, 1)->ch == ' ');

	/* 28x28 with a bright top-left quadrant, into 7 columns x 4 rows: downsampled, aspect kept */
	uint8_t big[28 * 28];
	for (int y = 0; y < 28; y++)
		for (int x = 0; x < 28; x++)
			big[y * 28 + x] = (x < 14 && y < 14) ? 255 : 0;
	thaw_tui_buf_clear(&b);
	cols = thaw_tui_image(&b, 0, 0, 7, 4, big, 1, 28, 28, &rows);
	CHECK(cols == 7 && rows == 4);
	CHECK(thaw_tui_at(&b, 0, 0)->fg == 231 && thaw_tui_at(&b, 6, 0)->fg == 16);
	CHECK(thaw_tui_at(&b, 0, 3)->bg == 16);

	/* RGB: a red pixel over a blue one */
	uint8_t rgb[3 * 2] = {255, 0, 0, 0, 0, 255};
	thaw_tui_buf_clear(&b);
	cols = thaw_tui_image(&b, 0, 0, 4, 4, rgb, 3, 2, 1, &rows);
	CHECK(cols == 1 && rows == 1);
	CHECK(thaw_tui_at(&b, 0, 0)->fg == 196 && thaw_tui_at(&b, 0, 0)->bg == 21);
	thaw_tui_buf_free(&b);

	/* no colour, ASCII: a density ramp */
	CHECK_OK(thaw_tui_buf_init(&b, 10, 5, 1, 0));
	thaw_tui_image(&b, 0, 0, 8, 8, img, 1, 4, 4, &rows);
	CHECK(thaw_tui_at(&b, 0, 0)->ch == ' ' && thaw_tui_at(&b, 0, 1)->ch == '@');
	thaw_tui_buf_free(&b);
}

static void test_text_and_ascii(void)
{
	thaw_tui_buf b = {0};
	CHECK_OK(thaw_tui_buf_init(&b, 12, 3, 0, 1));
	CHECK(thaw_tui_text(&b, 0, 0, 5, "❄ conv1 frozen", -1, -1, 0) == 5);
	char row[128];
	thaw_tui_row(&b, 0, row, sizeof row);
	CHECKF(!strcmp(row, "❄ con       "), "'%s'", row);
	thaw_tui_box(&b, 0, 1, 12, 2, "Layers", 1);
	thaw_tui_row(&b, 1, row, sizeof row);
	CHECKF(!strncmp(row, "┌ Layers ─", strlen("┌ Layers ─")), "'%s'", row);
	thaw_tui_buf_free(&b);

	CHECK_OK(thaw_tui_buf_init(&b, 12, 3, 1, 0));
	thaw_tui_text(&b, 0, 0, -1, "❄ ● → █", 33, 40, 0);
	thaw_tui_row(&b, 0, row, sizeof row);
	CHECKF(!strcmp(row, "* o > #     "), "'%s'", row);
	CHECK(b.cells[0].fg == -1 && b.cells[0].bg == -1);
	thaw_tui_box(&b, 0, 1, 12, 2, "Data", 0);
	thaw_tui_row(&b, 1, row, sizeof row);
	CHECKF(!strcmp(row, "+ Data ----+"), "'%s'", row);
	/* text never writes outside the grid */
	CHECK(thaw_tui_text(&b, 10, 0, -1, "abcdef", -1, -1, 0) == 2);
	thaw_tui_put(&b, -1, 99, 'x', -1, -1, 0);
	thaw_tui_buf_free(&b);
	thaw_tui_buf_free(NULL);
}

/* Axis labels fit their six columns: the exponent loses its sign and
 * zeros before digits are dropped, never the exponent (2.7e-0 read as 2.7). */
static void test_fmt_num_fits(void)
{
	char out[32];
	thaw_tui_fmt_num(out, sizeof out, 2.7e-05, 6);
	CHECKF(!strcmp(out, "2.7e-5"), "'%s'", out);
	thaw_tui_fmt_num(out, sizeof out, 2.73e-05, 6);
	CHECKF(!strcmp(out, "2.7e-5"), "'%s' (fewer digits, same exponent)", out);
	thaw_tui_fmt_num(out, sizeof out, 1.25e6, 6);
	CHECKF(!strcmp(out, "1.25e6"), "'%s'", out);
	thaw_tui_fmt_num(out, sizeof out, 0.6061, 6);
	CHECKF(!strcmp(out, "0.6061"), "'%s'", out);
	thaw_tui_fmt_num(out, sizeof out, 2.734, 6);
	CHECKF(!strcmp(out, "2.734"), "'%s'", out);
	thaw_tui_fmt_num(out, sizeof out, -3.5e-4, 6);
	CHECKF(!strcmp(out, "-4e-4") || !strcmp(out, "-3e-4"), "'%s'", out);
	thaw_tui_fmt_num(out, sizeof out, 0, 6);
	CHECKF(!strcmp(out, "0"), "'%s'", out);
	thaw_tui_fmt_num(out, sizeof out, 1e-5, 7);
	CHECKF(!strcmp(out, "1e-5"), "'%s'", out);
	/* wider columns keep more digits */
	thaw_tui_fmt_num(out, sizeof out, 2.7345e-05, 10);
	CHECKF(!strcmp(out, "2.735e-5") || !strcmp(out, "2.734e-5"), "'%s'", out);
	/* and a plot's labels come out whole */
	thaw_tui_buf b = {0};
	thaw_tui_buf_init(&b, 30, 8, 0, 1);
	float xs[2] = {0, 1}, ys[2] = {2.7e-05f, 1.1e-05f};
	thaw_tui_series ser = {xs, ys, 2, 39, '*'};
	CHECK_OK(thaw_tui_plot(&b, 0, 0, 30, 8, &ser, 1, NULL));
	char row[512];
	thaw_tui_row(&b, 0, row, sizeof row);
	CHECKF(strstr(row, "2.7e-5") != NULL, "top label: '%s'", row);
	thaw_tui_buf_free(&b);
}

/* Log lines wrap at spaces, not inside numbers. */
static void test_wrap_at_spaces(void)
{
	const char *line = "phase 1 'head': 10 epochs, batch 20, adam lr 0.01; 645 trainable";
	int off[16], len[16];
	int n = thaw_tui_wrap(line, 46, 44, off, len, 16);
	CHECKF(n == 2, "%d rows", n);
	char r0[64], r1[64];
	snprintf(r0, sizeof r0, "%.*s", len[0], line + off[0]);
	snprintf(r1, sizeof r1, "%.*s", len[1], line + off[1]);
	CHECKF(!strcmp(r0, "phase 1 'head': 10 epochs, batch 20, adam lr"), "'%s'", r0);
	CHECKF(!strcmp(r1, "0.01; 645 trainable"), "'%s'", r1);
	/* a word longer than the row is cut; every byte is shown once */
	n = thaw_tui_wrap("abcdefghij xy", 4, 4, off, len, 16);
	CHECKF(n == 4, "%d rows", n);
	CHECKF(len[0] == 4 && off[1] == 4 && len[1] == 4 && off[2] == 8 && len[2] == 2 && off[3] == 11 && len[3] == 2,
	       "%d/%d %d/%d %d/%d %d/%d", off[0], len[0], off[1], len[1], off[2], len[2], off[3], len[3]);
	/* UTF-8 counts as one column a code point */
	n = thaw_tui_wrap("phase 'head' done — t trains", 20, 20, off, len, 16);
	CHECKF(n == 2, "%d rows", n);
	CHECKF(len[0] == (int)strlen("phase 'head' done —"), "len %d", len[0]);
	/* a short line is one row */
	CHECK(thaw_tui_wrap("ok", 10, 8, off, len, 16) == 1 && len[0] == 2);
	CHECK(thaw_tui_wrap("", 10, 8, off, len, 16) == 1 && len[0] == 0);
}

/* A layer name too long for its column is cut in the middle and keeps its
 * end: imported ResNet layers differ at the end (layer1.0.conv1,
 * layer2.0.conv1), and a start-only cut showed "layer1." for every one. */
static void test_middle_keeps_the_end(void)
{
	char a[64], b[64];
	CHECK(thaw_tui_middle(a, sizeof a, "conv1", 12) == 5 && !strcmp(a, "conv1"));
	CHECK(thaw_tui_middle(a, sizeof a, "layer1.0.conv1", 14) == 14 && !strcmp(a, "layer1.0.conv1"));
	CHECK(thaw_tui_middle(a, sizeof a, "layer1.0.conv1", 12) == 12);
	CHECKF(!strcmp(a, "la\xe2\x80\xa6" "1.0.conv1"), "'%s'", a);
	/* two names that differ in the middle and at the end stay apart */
	thaw_tui_middle(a, sizeof a, "layer1.0.relu_1", 12);
	thaw_tui_middle(b, sizeof b, "layer2.0.relu_1", 12);
	CHECKF(strcmp(a, b) != 0, "both '%s'", a);
	CHECKF(!strcmp(a, "l\xe2\x80\xa6" "1.0.relu_1"), "'%s' (a tail starting at a dot takes one more)", a);
	thaw_tui_middle(a, sizeof a, "layer4.1.downsample.0", 12);
	thaw_tui_middle(b, sizeof b, "layer4.1.downsample.1", 12);
	CHECKF(strcmp(a, b) != 0 && !strcmp(a + strlen(a) - 8, "sample.0"), "'%s' '%s'", a, b);
	/* the width counts code points, and an ellipsis is one */
	CHECK(thaw_tui_cols("ab\xc3\xa9\xe2\x80\xa6") == 4 && thaw_tui_cols("") == 0);
	CHECK(thaw_tui_middle(a, sizeof a, "ab\xc3\xa9" "cdefgh\xc3\xa9", 6) == 6);
	CHECKF(!strcmp(a, "a\xe2\x80\xa6" "fgh\xc3\xa9"), "'%s'", a);
	/* degenerate widths and sizes */
	CHECK(thaw_tui_middle(a, sizeof a, "abcdef", 1) == 1 && !strcmp(a, "\xe2\x80\xa6"));
	CHECK(thaw_tui_middle(a, sizeof a, "abcdef", 0) == 0 && !a[0]);
	CHECK(thaw_tui_middle(a, 4, "abcdefghijkl", 8) == 8 && strlen(a) == 3);
}

int main(void)
{
	RUN(test_plot_falling_line);
	RUN(test_plot_rescales_and_log);
	RUN(test_plot_nan_marks_ascii);
	RUN(test_gray_ramp);
	RUN(test_image_half_blocks);
	RUN(test_text_and_ascii);
	RUN(test_fmt_num_fits);
	RUN(test_wrap_at_spaces);
	RUN(test_middle_keeps_the_end);
	return check_done();
}
