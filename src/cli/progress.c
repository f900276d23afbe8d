/* Training progress on stderr, shared by thaw run and thaw train: on a
 * terminal one line that updates every batch, and a line per epoch. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int line_open; /* an updating line is on screen (CLI: one thread) */

void cli_progress_end_line(void)
{
	if (line_open) {
		fprintf(stderr, "\r\033[K");
		line_open = 0;
	}
}

void cli_progress_batch(const thaw_batch_stats *s)
{
	int w = 20, done = (int)((double)s->batch / s->batches * w);
	/* ETA of the phase from this epoch's pace */
	double per_batch = s->seconds / s->batch;
	long left = (long)(s->batches - s->batch) + (long)(s->epochs - s->epoch) * s->batches;
	int eta = (int)(per_batch * left + 0.5);
	fprintf(stderr, "\r\033[K%s epoch %d/%d [%.*s%*s] batch %d/%d loss %.4f acc %.1f%% %.0f img/s ETA %d:%02d lr %.2g",
		s->phase, s->epoch, s->epochs, done, "####################", w - done, "", s->batch,
		s->batches, s->loss, 100 * s->acc, s->img_s, eta / 60, eta % 60, s->lr);
	line_open = 1;
}

void cli_progress_epoch(const thaw_epoch_stats *s)
{
	cli_progress_end_line();
	double eta = s->seconds * (s->epochs - s->epoch);
	fprintf(stderr, "%s epoch %d/%d  loss %.4f  acc %.2f%%", s->phase, s->epoch, s->epochs,
		s->train_loss, 100 * s->train_acc);
	if (s->val_acc >= 0)
		fprintf(stderr, "  val loss %.4f  val acc %.2f%%", s->val_loss, 100 * s->val_acc);
	fprintf(stderr, "  %.0f img/s  %.1f s  ETA %.0f s\n", s->img_s, s->seconds, eta);
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
