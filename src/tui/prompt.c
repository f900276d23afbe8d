/* The status line's prompts and questions: learning rate, lr multiplier,
 * epochs, batch size, augmentation, save (with the overwrite and the
 * optimizer-state questions), ONNX export, and quitting with an unsaved
 * model. A prompt reads a line; a question takes one key. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "thaw/options.h"
#include "ui.h"

static int is_question(int kind)
{
	return kind == PROMPT_OVERWRITE || kind == PROMPT_SAVE_OPT || kind == PROMPT_QUIT || kind == PROMPT_QUIT_SAVE ||
	       kind == PROMPT_EXPORT_OVERWRITE;
}

/* Where s proposes to save: -o's path, else a run folder of its own, so
 * nothing lands silently in the current directory. */
static const char *default_save(tui_ui *u)
{
	if (u->save_path && *u->save_path)
		return u->save_path;
	if (!u->default_save[0]) {
		char stamp[32];
		time_t now = time(NULL);
		strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
		snprintf(u->default_save, sizeof u->default_save, "runs/workbench-%s/model.thaw", stamp);
	}
	return u->default_save;
}

/* path made absolute (so the log says where it went) and its folders
 * made; 0, or -1 with the reason logged. */
static int prepare_path(tui_ui *u, const char *path, char *out, size_t size)
{
	char cwd[4096];
	if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
		snprintf(out, size, "%s", path);
	else if ((size_t)snprintf(out, size, "%s/%s", cwd, path) >= size)
		return tui_session_log(u->s, "error: the path is too long: %s", path), -1;
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", out);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
			tui_session_log(u->s, "error: cannot make the folder %s: %s", dir, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	return 0;
}

void tui_prompt_start(tui_ui *u, int kind)
{
	tui_session *s = u->s;
	u->prompt = kind;
	u->input[0] = 0;
	pthread_mutex_lock(&s->mu);
	switch (kind) {
	case PROMPT_LR: snprintf(u->input, sizeof u->input, "%g", s->lr); break;
	case PROMPT_MULT:
		if (u->sel < s->n_layers)
			snprintf(u->input, sizeof u->input, "%g", s->layers[u->sel].lr_mult);
		break;
	case PROMPT_EPOCHS: snprintf(u->input, sizeof u->input, "%d", s->fit.epochs); break;
	case PROMPT_BATCH: snprintf(u->input, sizeof u->input, "%d", s->fit.batch); break;
	case PROMPT_AUG:
		snprintf(u->input, sizeof u->input, "shift=%d flip=%s", s->fit.shift, s->fit.flip ? "yes" : "no");
		break;
	case PROMPT_SAVE: snprintf(u->input, sizeof u->input, "%s", default_save(u)); break;
	case PROMPT_EXPORT: {
		char base[200];
		snprintf(base, sizeof base, "%s", default_save(u));
		char *dot = strrchr(base, '.');
		if (dot && !strchr(dot, '/'))
			*dot = 0;
		snprintf(u->input, sizeof u->input, "%s.onnx", base);
		break;
	}
	}
	pthread_mutex_unlock(&s->mu);
}

void tui_prompt_text(const tui_ui *u, char *out, size_t size, const char **hint)
{
	*hint = NULL;
	switch (u->prompt) {
	case PROMPT_QUIT:
		snprintf(out, size, "Training is running and will be lost. Quit anyway? (y/n)");
		return;
	case PROMPT_QUIT_SAVE:
		snprintf(out, size, "model changed since last save: save? y/n/c");
		*hint = "y saves, n quits without saving, c cancels";
		return;
	case PROMPT_OVERWRITE:
	case PROMPT_EXPORT_OVERWRITE:
		snprintf(out, size, "%s exists: overwrite? (y/n)", u->pending);
		return;
	case PROMPT_SAVE_OPT:
		snprintf(out, size, "store the optimizer state too? (y/N)");
		*hint = "no: a smaller file; yes: training resumes exactly";
		return;
	}
	const char *what = u->prompt == PROMPT_LR       ? "learning rate"
			   : u->prompt == PROMPT_MULT   ? "lr multiplier"
			   : u->prompt == PROMPT_EPOCHS ? "epochs per phase"
			   : u->prompt == PROMPT_BATCH  ? "batch size"
			   : u->prompt == PROMPT_AUG    ? "augmentation"
			   : u->prompt == PROMPT_EXPORT ? "export ONNX to"
							: "save to";
	snprintf(out, size, "%s: %s_", what, u->input);
	*hint = u->prompt == PROMPT_AUG ? "shift=PIXELS flip=yes|no; Enter applies, Esc cancels" : "Enter applies, Esc cancels";
}

/* Saves to u->pending (optimizer state when opt); quits afterwards when
 * the quit question asked for the save and it succeeded. */
static int do_save(tui_ui *u, int opt)
{
	tui_send(u, CMD_SAVE, 0, (float)opt, u->pending);
	if (!u->quit_after_save)
		return TUI_HANDLED | TUI_REDRAW;
	u->quit_after_save = 0;
	pthread_mutex_lock(&u->s->mu);
	int unsaved = u->s->unsaved;
	pthread_mutex_unlock(&u->s->mu);
	return unsaved ? TUI_HANDLED | TUI_REDRAW : TUI_BREAK; /* a failed save stays, its error in the log */
}

static int after_path(tui_ui *u)
{
	pthread_mutex_lock(&u->s->mu);
	int script = u->s->script != NULL;
	pthread_mutex_unlock(&u->s->mu);
	if (script) /* a script's model is saved as the script left it */
		return do_save(u, 0);
	u->prompt = PROMPT_SAVE_OPT;
	return TUI_HANDLED | TUI_REDRAW;
}

/* text as the run layer's option `name` (the table's range and message,
 * as `thaw train --NAME` and thaw.fit): 0, or -1 with the message logged. */
static int parse_option(tui_ui *u, const char *name, const char *text, thaw_option_value *v)
{
	if (thaw_option_parse(name, text, v) == 0)
		return 0;
	tui_session_log(u->s, "error: %s", thaw_errmsg());
	return -1;
}

/* "shift=2 flip=yes", "2 flip", "0 noflip", "none"; each value read as
 * the option table's shift and flip. */
static int parse_aug(tui_ui *u, const char *s, int *shift, int *flip)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", s);
	for (char *tok = strtok(buf, " ,"); tok; tok = strtok(NULL, " ,")) {
		char *eq = strchr(tok, '=');
		const char *val = eq ? eq + 1 : tok;
		if (eq)
			*eq = 0;
		thaw_option_value v;
		if (!strcmp(tok, "none") || !strcmp(tok, "off")) {
			*shift = 0;
			*flip = 0;
		} else if (!strcmp(tok, "shift") || (!eq && (isdigit((unsigned char)*tok) || *tok == '-'))) {
			if (parse_option(u, "shift", val, &v) < 0)
				return -1;
			*shift = (int)v.i;
		} else if (!strcmp(tok, "flip")) {
			if (eq && parse_option(u, "flip", val, &v) < 0)
				return -1;
			*flip = eq ? (int)v.i : 1;
		} else if (!strcmp(tok, "noflip")) {
			*flip = 0;
		} else {
			tui_session_log(u->s, "error: '%s': augmentation is shift=PIXELS flip=yes|no", tok);
			return -1;
		}
	}
	return 0;
}

static int finish_line(tui_ui *u)
{
	int kind = u->prompt;
	u->prompt = PROMPT_NONE;
	tui_session *s = u->s;
	if (kind == PROMPT_SAVE || kind == PROMPT_EXPORT) {
		if (!u->input[0]) {
			u->quit_after_save = 0;
			return TUI_HANDLED | TUI_REDRAW;
		}
		if (prepare_path(u, u->input, u->pending, sizeof u->pending) < 0) {
			u->quit_after_save = 0;
			return TUI_HANDLED | TUI_REDRAW;
		}
		if (access(u->pending, F_OK) == 0) {
			u->prompt = kind == PROMPT_SAVE ? PROMPT_OVERWRITE : PROMPT_EXPORT_OVERWRITE;
			return TUI_HANDLED | TUI_REDRAW;
		}
		if (kind == PROMPT_EXPORT) {
			tui_send(u, CMD_EXPORT, 0, 0, u->pending);
			return TUI_HANDLED | TUI_REDRAW;
		}
		return after_path(u);
	}
	thaw_option_value v;
	if (kind == PROMPT_EPOCHS || kind == PROMPT_BATCH) {
		if (parse_option(u, kind == PROMPT_EPOCHS ? "epochs" : "batch", u->input, &v) == 0)
			tui_send(u, kind == PROMPT_EPOCHS ? CMD_EPOCHS : CMD_BATCH, (int)v.i, 0, NULL);
		return TUI_HANDLED | TUI_REDRAW;
	}
	if (kind == PROMPT_AUG) {
		pthread_mutex_lock(&s->mu);
		int shift = s->fit.shift, flip = s->fit.flip;
		pthread_mutex_unlock(&s->mu);
		if (parse_aug(u, u->input, &shift, &flip) == 0)
			tui_send(u, CMD_AUG, shift, (float)flip, NULL);
		return TUI_HANDLED | TUI_REDRAW;
	}
	if (kind == PROMPT_LR) {
		if (parse_option(u, "lr", u->input, &v) == 0)
			tui_send(u, CMD_LR, 0, (float)v.x, NULL);
		return TUI_HANDLED | TUI_REDRAW;
	}
	/* the per-layer multiplier is the workbench's own: not a fit option */
	char *end;
	double x = strtod(u->input, &end);
	if (end == u->input || *end || !(x >= 0) || !isfinite(x)) {
		tui_session_log(s, "error: '%s' is not a valid multiplier (>= 0)", u->input);
		return TUI_HANDLED | TUI_REDRAW;
	}
	tui_send(u, CMD_LR_MULT, u->sel, (float)x, NULL);
	return TUI_HANDLED | TUI_REDRAW;
}

static int answer(tui_ui *u, int k)
{
	int yes = k == 'y' || k == 'Y', no = k == 'n' || k == 'N';
	int cancel = k == TK_ESC || k == 'c' || k == 'C' || k == 'q';
	int kind = u->prompt;
	switch (kind) {
	case PROMPT_QUIT:
		if (yes)
			return TUI_BREAK;
		if (no || cancel)
			u->prompt = PROMPT_NONE;
		break;
	case PROMPT_QUIT_SAVE:
		if (yes) {
			u->quit_after_save = 1;
			tui_prompt_start(u, PROMPT_SAVE);
		} else if (no) {
			return TUI_BREAK;
		} else if (cancel) {
			u->prompt = PROMPT_NONE;
		}
		break;
	case PROMPT_OVERWRITE:
	case PROMPT_EXPORT_OVERWRITE:
		if (yes) {
			u->prompt = PROMPT_NONE;
			if (kind == PROMPT_EXPORT_OVERWRITE) {
				tui_send(u, CMD_EXPORT, 0, 0, u->pending);
				break;
			}
			return after_path(u);
		}
		if (no || cancel || k == TK_ENTER) {
			u->prompt = PROMPT_NONE;
			u->quit_after_save = 0;
			tui_session_log(u->s, "kept %s as it was (nothing written)", u->pending);
		}
		break;
	case PROMPT_SAVE_OPT:
		if (yes || no || k == TK_ENTER) {
			u->prompt = PROMPT_NONE;
			return do_save(u, yes);
		}
		if (cancel) {
			u->prompt = PROMPT_NONE;
			u->quit_after_save = 0;
		}
		break;
	}
	return TUI_HANDLED | TUI_REDRAW;
}

int tui_prompt_key(tui_ui *u, int k)
{
	if (is_question(u->prompt))
		return answer(u, k);
	size_t len = strlen(u->input);
	if (k == TK_ENTER)
		return finish_line(u);
	if (k == TK_ESC) {
		u->prompt = PROMPT_NONE;
		u->quit_after_save = 0;
	} else if (k == TK_BACKSPACE && len) {
		u->input[len - 1] = 0;
	} else if (k == 21) { /* ctrl-u clears the line */
		u->input[0] = 0;
	} else if (k >= 32 && k < 127 && len + 1 < sizeof u->input) {
		u->input[len] = (char)k;
		u->input[len + 1] = 0;
	}
	return TUI_HANDLED | TUI_REDRAW;
}

int tui_quit(tui_ui *u)
{
	tui_session *s = u->s;
	pthread_mutex_lock(&s->mu);
	int running = s->busy && s->act != ACT_EVAL;
	/* a script's model can be saved once the script is done */
	int unsaved = s->unsaved && (s->model || (s->script && s->script_done && s->sc));
	pthread_mutex_unlock(&s->mu);
	if (u->too_small)
		return TUI_BREAK;
	if (running)
		u->prompt = PROMPT_QUIT;
	else if (unsaved)
		u->prompt = PROMPT_QUIT_SAVE;
	else
		return TUI_BREAK;
	return TUI_HANDLED | TUI_REDRAW;
}
