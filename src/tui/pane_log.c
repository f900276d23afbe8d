/* The Log pane: session notes, epochs, commands, a script's output and
 * errors, newest at the bottom; long lines wrap at spaces. */
#include <string.h>

#include "ui.h"

#define MAX_ROWS 64

void tui_draw_log(tui_ui *u, tui_rect r)
{
	tui_session *s = u->s;
	thaw_tui_buf *b = &u->buf;
	thaw_tui_box(b, r.x, r.y, r.w, r.h, u->log_scroll ? "Log (scrolled: End returns)" : "Log", u->focus == PANE_LOG);
	int ih = r.h - 2, iw = r.w - 2, avail = s->log_n < TUI_LOG_LINES ? s->log_n : TUI_LOG_LINES;
	u->log_scroll = tui_clampi(u->log_scroll, 0, avail > 1 ? avail - 1 : 0);
	/* newest at the bottom; continuation rows indented by two */
	int yy = r.y + 1 + ih;
	for (int i = s->log_n - 1 - u->log_scroll; i >= s->log_n - avail && yy > r.y + 1; i--) {
		const char *line = s->log[i % TUI_LOG_LINES];
		int fg = strncmp(line, "error", 5) == 0 || strstr(line, "error:") ? C_BAD
			 : strncmp(line, "warning", 7) == 0                        ? C_WARN
										   : -1;
		int off[MAX_ROWS], len[MAX_ROWS];
		int rows = thaw_tui_wrap(line, iw, iw > 4 ? iw - 2 : iw, off, len, MAX_ROWS);
		if (rows > MAX_ROWS)
			rows = MAX_ROWS;
		for (int k = rows - 1; k >= 0; k--) {
			if (--yy < r.y + 1)
				break;
			char part[TUI_LOG_WIDTH];
			memcpy(part, line + off[k], (size_t)len[k]);
			part[len[k]] = 0;
			int ind = k && iw > 4 ? 2 : 0;
			thaw_tui_text(b, r.x + 1 + ind, yy, iw - ind, part, fg, -1, 0);
		}
	}
}

int tui_key_log(tui_ui *u, int k)
{
	int page = u->pane[PANE_LOG].h - 3;
	if (k == TK_UP || k == 'k')
		u->log_scroll++;
	else if (k == TK_DOWN || k == 'j')
		u->log_scroll = u->log_scroll > 0 ? u->log_scroll - 1 : 0;
	else if (k == TK_PGUP)
		u->log_scroll += page;
	else if (k == TK_PGDN)
		u->log_scroll = u->log_scroll > page ? u->log_scroll - page : 0;
	else if (k == TK_END || k == 'G')
		u->log_scroll = 0;
	else if (k == TK_HOME || k == 'g')
		u->log_scroll = TUI_LOG_LINES; /* clamped to the oldest when drawn */
	else
		return TUI_IGNORED;
	return TUI_HANDLED | TUI_REDRAW;
}
