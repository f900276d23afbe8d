/* The text of an event: the one place where the phase, epoch, evaluation
 * and progress lines every frontend shows are written. */
#include <stdio.h>
#include <string.h>

#include "thaw/run.h"

static int clamp(int n, size_t size)
{
	if (n < 0)
		return 0;
	return (size_t)n >= size ? (int)size - 1 : n;
}

int thaw_event_format_bar(const thaw_event *ev, int width, char *buf, size_t size)
{
	if (!buf || size == 0)
		return 0;
	buf[0] = 0;
	if (ev->kind != THAW_EV_BATCH || width <= 0 || (size_t)width >= size)
		return 0;
	const thaw_batch_stats *s = &ev->u.batch;
	int done = s->batches > 0 ? (int)((double)s->batch / s->batches * width) : 0;
	for (int i = 0; i < width; i++)
		buf[i] = i < done ? '#' : ' ';
	buf[width] = 0;
	return width;
}

int thaw_event_format(const thaw_event *ev, char *buf, size_t size)
{
	if (!buf || size == 0)
		return 0;
	buf[0] = 0;
	int n = 0;
	switch (ev->kind) {
	case THAW_EV_PHASE_BEGIN: {
		const thaw_phase_info *p = &ev->u.phase;
		n = snprintf(buf, size, "phase %d '%s': %d epochs, batch %d, %s lr %.3g; %zu trainable, %zu frozen parameters",
			     p->index, p->name, p->epochs, p->batch_size, p->optimizer, p->lr, p->trainable, p->frozen);
		if (p->first_epoch > 1 || p->skip_batches > 0) {
			int k = clamp(n, size);
			n = k + snprintf(buf + k, size - k, "; continues at epoch %d, batch %d", p->first_epoch,
					 p->skip_batches + 1);
		}
		break;
	}
	case THAW_EV_BATCH: {
		const thaw_batch_stats *s = &ev->u.batch;
		/* ETA of the phase from this epoch's pace */
		double per_batch = s->batch > 0 ? s->seconds / s->batch : 0;
		long left = (long)(s->batches - s->batch) + (long)(s->epochs - s->epoch) * s->batches;
		int eta = (int)(per_batch * left + 0.5);
		n = snprintf(buf, size, "%s epoch %d/%d batch %d/%d loss %.4f acc %.1f%% %.0f img/s ETA %d:%02d lr %.2g",
			     s->phase, s->epoch, s->epochs, s->batch, s->batches, s->loss, 100 * s->acc, s->img_s,
			     eta / 60, eta % 60, s->lr);
		break;
	}
	case THAW_EV_EPOCH: {
		const thaw_epoch_stats *s = &ev->u.epoch;
		double eta = s->seconds * (s->epochs - s->epoch);
		n = snprintf(buf, size, "%s epoch %d/%d  loss %.4f  acc %.2f%%", s->phase, s->epoch, s->epochs,
			     s->train_loss, 100 * s->train_acc);
		if (s->val_acc >= 0) {
			int k = clamp(n, size);
			n = k + snprintf(buf + k, size - k, "  val loss %.4f  val acc %.2f%%", s->val_loss, 100 * s->val_acc);
		}
		int k = clamp(n, size);
		n = k + snprintf(buf + k, size - k, "  %.0f img/s  %.1f s  ETA %.0f s", s->img_s, s->seconds, eta);
		break;
	}
	case THAW_EV_EVAL: {
		const thaw_eval_info *e = &ev->u.eval;
		n = snprintf(buf, size, "evaluate %s: loss %.4f  accuracy %.2f%%  (%ld images)", e->name,
			     thaw_metrics_loss(e->mt), 100 * thaw_metrics_accuracy(e->mt), e->mt->n);
		break;
	}
	case THAW_EV_PHASE_END: {
		const thaw_phase_info *p = &ev->u.phase;
		if (p->error < 0)
			n = snprintf(buf, size, "phase '%s' failed after %d epochs", p->name, p->epochs_done);
		else if (p->stopped)
			n = snprintf(buf, size, "phase '%s' stopped after %d of %d epochs", p->name, p->epochs_done,
				     p->epochs);
		else
			n = snprintf(buf, size, "phase '%s' done: %d epochs", p->name, p->epochs_done);
		break;
	}
	case THAW_EV_LOG:
		n = snprintf(buf, size, "%s", ev->u.line ? ev->u.line : "");
		break;
	}
	return clamp(n, size);
}

int thaw_event_format_brief(const thaw_event *ev, char *buf, size_t size)
{
	if (ev->kind != THAW_EV_EPOCH || !buf || size == 0)
		return thaw_event_format(ev, buf, size);
	const thaw_epoch_stats *s = &ev->u.epoch;
	int n = snprintf(buf, size, "%s %d/%d  loss %.3f acc %.1f%%", s->phase, s->epoch, s->epochs, s->train_loss,
			 100 * s->train_acc);
	if (s->val_acc >= 0) {
		int k = clamp(n, size);
		n = k + snprintf(buf + k, size - k, "  val %.3f %.1f%%", s->val_loss, 100 * s->val_acc);
	}
	return clamp(n, size);
}
