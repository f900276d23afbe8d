/* Training progress on stderr, shared by thaw run and thaw train: on a
 * terminal one line that updates every batch, and a line per epoch. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "thaw/run.h"

static int line_open; /* an updating line is on screen (CLI: one thread) */

void cli_progress_end_line(void)
{
	if (line_open) {
		fprintf(stderr, "\r\033[K");
		line_open = 0;
	}
}

int cli_progress_event(const thaw_event *ev, int tty)
{
	char line[1024], bar[32];
	if (ev->kind == THAW_EV_BATCH) {
		if (!tty)
			return 0;
		thaw_event_format(ev, line, sizeof line);
		thaw_event_format_bar(ev, 20, bar, sizeof bar);
		fprintf(stderr, "\r\033[K%s [%s]", line, bar);
		line_open = 1;
		return 0;
	}
	if (thaw_event_format(ev, line, sizeof line) > 0) {
		cli_progress_end_line();
		fprintf(stderr, "%s\n", line);
	}
	return 0;
}

/* "loading images 512/2000" on one updating line; small folders load
 * before anyone could read it */
void cli_load_progress(int done, int total, void *user)
{
	(void)user;
	if (total < 200)
		return;
	fprintf(stderr, "\r\033[Kloading images %d/%d", done, total);
	if (done == total)
		fprintf(stderr, "\r\033[K");
}

void cli_print_notes(const char *cmd, const thaw_dataset *d)
{
	const char *pos = d ? d->notes : NULL, *line;
	for (int n; (line = thaw_note_next(&pos, &n));)
		fprintf(stderr, "thaw %s: note: %.*s\n", cmd, n, line);
}
