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

int cli_image_flag(const char *cmd, int argc, char **argv, int *i, int *resize, int *skip_bad)
{
	const char *a = argv[*i];
	if (!strcmp(a, "--skip-bad")) {
		*skip_bad = 1;
		return 1;
	}
	if (strcmp(a, "--resize"))
		return 0;
	thaw_resize_mode mode;
	if (*i + 1 >= argc || thaw_resize_mode_parse(argv[*i + 1], &mode) < 0) {
		cli_errorf(cmd, "--resize takes stretch, crop or pad");
		return -1;
	}
	*resize = (int)mode;
	++*i;
	return 1;
}

void cli_print_notes(const char *cmd, const thaw_dataset *d)
{
	for (const char *s = d ? d->notes : NULL; s && *s;) {
		const char *e = strchr(s, '\n');
		int n = e ? (int)(e - s) : (int)strlen(s);
		fprintf(stderr, "thaw %s: note: %.*s\n", cmd, n, s);
		s = e ? e + 1 : NULL;
	}
}
