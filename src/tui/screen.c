/* The terminal side of the workbench and the only file that includes
 * curses.h. It owns terminal start and shutdown: the terminal is restored
 * on quit, on error (an atexit handler) and after SIGINT/SIGTERM/SIGHUP,
 * whose handlers only set a flag the loop checks. While the screen is up,
 * anything written to stdout or stderr (a script's io.write, a library
 * warning) is caught through a pipe and shown in the log pane instead of
 * tearing the screen. */
#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include "ui.h"

static volatile sig_atomic_t got_signal;
static int curses_up;
static int saved_out = -1, saved_err = -1;

static void on_signal(int sig) { got_signal = sig; }

static void restore_fds(void)
{
	if (saved_out >= 0) {
		fflush(stdout);
		dup2(saved_out, 1);
		close(saved_out);
		saved_out = -1;
	}
	if (saved_err >= 0) {
		fflush(stderr);
		dup2(saved_err, 2);
		close(saved_err);
		saved_err = -1;
	}
}

static void restore_terminal(void)
{
	if (curses_up) {
		curses_up = 0;
		endwin();
	}
	restore_fds();
}

thaw_tui_opts thaw_tui_opts_default(void)
{
	thaw_tui_opts o;
	memset(&o, 0, sizeof o);
	o.fit = thaw_fit_opts_default();
	o.save_path = NULL; /* s proposes runs/workbench-DATE/model.thaw */
	return o;
}

/* 256-colour (fg, bg) -> pair number, allocated on first use. */
typedef struct pairs {
	short *id; /* (257, 257): index + 1 for the default colour */
	int next, max;
} pairs;

static int pair_of(pairs *p, int fg, int bg)
{
	if (!p->id || (fg < 0 && bg < 0))
		return 0;
	int k = (fg + 1) * 257 + (bg + 1);
	if (!p->id[k]) {
		if (p->next >= p->max)
			return 0;
		if (init_pair((short)p->next, (short)fg, (short)bg) == ERR)
			return 0;
		p->id[k] = (short)p->next++;
	}
	return p->id[k];
}

static void blit(const thaw_tui_buf *b, pairs *p)
{
	for (int y = 0; y < b->h && y < LINES; y++)
		for (int x = 0; x < b->w && x < COLS; x++) {
			const thaw_tui_cell *c = &b->cells[(size_t)y * b->w + x];
			attr_t a = 0;
			if (c->attr & THAW_TUI_BOLD)
				a |= A_BOLD;
			if (c->attr & THAW_TUI_REVERSE)
				a |= A_REVERSE;
			if (c->attr & THAW_TUI_DIM)
				a |= A_DIM;
			if (c->attr & THAW_TUI_UNDERLINE)
				a |= A_UNDERLINE;
			wchar_t wc[2] = {(wchar_t)(c->ch ? c->ch : ' '), 0};
			cchar_t cc;
			setcchar(&cc, wc, a, (short)(b->color ? pair_of(p, c->fg, c->bg) : 0), NULL);
			mvadd_wch(y, x, &cc); /* the bottom-right cell reports ERR: harmless */
		}
}

static int translate(int ch)
{
	switch (ch) {
	case KEY_UP: return TK_UP;
	case KEY_DOWN: return TK_DOWN;
	case KEY_LEFT: return TK_LEFT;
	case KEY_RIGHT: return TK_RIGHT;
	case KEY_PPAGE: return TK_PGUP;
	case KEY_NPAGE: return TK_PGDN;
	case KEY_HOME: return TK_HOME;
	case KEY_END: return TK_END;
	case KEY_BTAB: return TK_BTAB;
	case KEY_ENTER: case '\n': case '\r': return TK_ENTER;
	case KEY_BACKSPACE: case 127: case 8: return TK_BACKSPACE;
	case 27: return TK_ESC;
	case KEY_RESIZE: return TK_RESIZE;
	default: return ch;
	}
}

/* Reads what the program wrote to stdout/stderr into the log, by lines. */
static void pump_output(int fd, tui_session *s, char *acc, size_t *len, size_t cap)
{
	char buf[4096];
	ssize_t n;
	while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || *len + 1 >= cap) {
				acc[*len] = 0;
				tui_session_log(s, "%s", acc);
				*len = 0;
				if (buf[i] == '\n')
					continue;
			}
			if (buf[i] != '\r')
				acc[(*len)++] = buf[i];
		}
	}
}

int thaw_tui_run(const thaw_tui_opts *o)
{
	setlocale(LC_ALL, "");
	const char *term = getenv("TERM"), *nc = getenv("NO_COLOR");
	int dumb = !term || !*term || !strcmp(term, "dumb");
	int utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	if (!isatty(0) || !isatty(1))
		return thaw_error(THAW_EINVAL, "the workbench needs a terminal (use thaw run for headless runs)"), 1;

	tui_session s;
	if (tui_session_start(&s, o) < 0) {
		tui_session_end(&s);
		return 1;
	}
	/* curses draws on a private copy of the terminal; fds 1 and 2 go to a pipe */
	int tty = dup(1), pipefd[2] = {-1, -1};
	FILE *out = tty >= 0 ? fdopen(tty, "w") : NULL;
	if (!out) {
		tui_session_end(&s);
		return thaw_error(THAW_EIO, "workbench: cannot open the terminal"), 1;
	}
	/* TERM=dumb asks for the plainest output, but a dumb terminal type
	 * cannot place the cursor: draw with the vt100 basics, ASCII only and
	 * without colour (a terminal that cannot even do that has no screen) */
	SCREEN *scr = newterm(dumb ? "vt100" : NULL, out, stdin);
	if (!scr) {
		fclose(out);
		tui_session_end(&s);
		return thaw_error(THAW_EIO, "workbench: cannot use the terminal '%s'", term ? term : ""), 1;
	}
	curses_up = 1;
	atexit(restore_terminal);
	if (pipe(pipefd) == 0) {
		fflush(stdout);
		fflush(stderr);
		saved_out = dup(1);
		saved_err = dup(2);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[1]);
		fcntl(pipefd[0], F_SETFL, fcntl(pipefd[0], F_GETFL) | O_NONBLOCK);
		setvbuf(stdout, NULL, _IOLBF, 0);
	}
	struct sigaction sa, old_int, old_term, old_hup;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: getch returns and the loop sees the flag */
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	got_signal = 0;

	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	timeout(50); /* keys at once; snapshots redrawn within 50 ms; idle wakes 20 times a second */
	int color = !dumb && !(nc && *nc) && has_colors();
	pairs pr = {0};
	if (color) {
		start_color();
		use_default_colors();
		color = COLORS >= 256;
		pr.max = COLOR_PAIRS < 32767 ? COLOR_PAIRS : 32767;
		pr.next = 1;
		pr.id = color ? calloc(257 * 257, sizeof *pr.id) : NULL;
		color = pr.id != NULL;
	}
	/* Every button event, though only button 1 is used: ncurses drops an
	 * event outside the mask and then reads the next key with a blocking
	 * read(), whatever timeout() says (with mouseinterval(0) a click's
	 * release is such an event). The loop would sit in getch until the
	 * next key: no redraw, no resize, while the worker kept going. */
	mousemask(ALL_MOUSE_EVENTS, NULL);
	mouseinterval(0);

	tui_ui u;
	memset(&u, 0, sizeof u);
	u.s = &s;
	u.ascii = dumb || !utf8;
	u.color = color;
	u.title = o->title;
	u.save_path = o->save_path;
	u.f_class = u.f_true = u.f_pred = -1;
	u.bottom = PANE_DATA;
	u.per_batch = 1;
	thaw_tui_buf_init(&u.buf, COLS, LINES, u.ascii, color);

	char acc[TUI_LOG_WIDTH];
	size_t acc_len = 0;
	unsigned drawn = ~0u;
	int dirty = 1, code = 0;
	while (!u.quit) {
		if (got_signal) {
			code = 130;
			break;
		}
		pump_output(pipefd[0], &s, acc, &acc_len, sizeof acc);
		/* SIGWINCH may land on any of the process's threads, so the size
		 * is also polled: a resize is seen within one getch timeout */
		struct winsize ws;
		if (ioctl(tty, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0 &&
		    (ws.ws_row != LINES || ws.ws_col != COLS)) {
			resizeterm(ws.ws_row, ws.ws_col);
			clear();
			dirty = 1;
		}
		pthread_mutex_lock(&s.mu);
		unsigned v = s.version;
		pthread_mutex_unlock(&s.mu);
		if (dirty || v != drawn) {
			if (u.buf.w != COLS || u.buf.h != LINES)
				thaw_tui_buf_init(&u.buf, COLS, LINES, u.ascii, color);
			tui_draw(&u);
			blit(&u.buf, &pr);
			refresh();
			drawn = v;
			dirty = 0;
		}
		int ch = getch();
		if (ch == ERR)
			continue;
		if (ch == KEY_MOUSE) {
			MEVENT ev;
			if (getmouse(&ev) == OK && (ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED)))
				dirty |= tui_click(&u, ev.x, ev.y);
			continue;
		}
		if (ch == KEY_RESIZE)
			clear(); /* relayout from LINES and COLS on the next draw */
		dirty |= tui_key(&u, translate(ch));
	}
	pump_output(pipefd[0], &s, acc, &acc_len, sizeof acc);
	/* a script that failed fails the command too, as with thaw run */
	pthread_mutex_lock(&s.mu);
	if (code == 0 && s.script && s.script_done && s.script_code != THAW_RUN_OK)
		code = s.script_code;
	pthread_mutex_unlock(&s.mu);
	restore_terminal(); /* the shell is back at once; the worker may still finish its batch */
	tui_session_end(&s);
	delscreen(scr);
	fclose(out);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	tui_ui_free(&u);
	free(pr.id);
	return code;
}
