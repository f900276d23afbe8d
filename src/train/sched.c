/* Learning-rate schedules: constant, step, cosine, one-cycle, with an
 * optional linear warm-up in front of any of them. */
#include <math.h>
#include <string.h>

#include "thaw/train.h"

static const char *const sched_names[] = {"constant", "step", "cosine", "onecycle"};

const char *thaw_sched_name(thaw_sched_kind k)
{
	return (k >= THAW_SCHED_CONSTANT && k <= THAW_SCHED_ONECYCLE) ? sched_names[k] : "?";
}

int thaw_sched_from_name(const char *name)
{
	for (int k = 0; name && k < 4; k++)
		if (strcmp(name, sched_names[k]) == 0)
			return k;
	return -1;
}

thaw_sched thaw_sched_default(thaw_sched_kind kind)
{
	thaw_sched s = {.kind = kind, .gamma = 0.1f, .pct_start = 0.3f, .div = 25.0f, .final_div = 1e4f};
	return s;
}

int thaw_sched_check(const thaw_sched *s)
{
	if (!s || s->kind < THAW_SCHED_CONSTANT || s->kind > THAW_SCHED_ONECYCLE)
		return thaw_error(THAW_EINVAL, "schedule: unknown kind");
	if (s->warmup_steps < 0)
		return thaw_error(THAW_EINVAL, "schedule: warm-up steps %ld < 0", s->warmup_steps);
	if (s->kind == THAW_SCHED_STEP && (s->step_size <= 0 || !(s->gamma > 0)))
		return thaw_error(THAW_EINVAL, "schedule 'step': step_size (%ld) and gamma (%g) must be > 0",
				  s->step_size, s->gamma);
	if ((s->kind == THAW_SCHED_COSINE || s->kind == THAW_SCHED_ONECYCLE) && s->total_steps <= 0)
		return thaw_error(THAW_EINVAL, "schedule '%s': needs the total number of steps",
				  thaw_sched_name(s->kind));
	if (s->kind == THAW_SCHED_ONECYCLE &&
	    (!(s->pct_start > 0 && s->pct_start < 1) || !(s->div >= 1) || !(s->final_div >= 1)))
		return thaw_error(THAW_EINVAL, "schedule 'onecycle': pct_start in (0,1), div and final_div >= 1");
	return 0;
}

static float cosine(float from, float to, double t) /* t in [0, 1] */
{
	return to + (from - to) * 0.5f * (1.0f + (float)cos(M_PI * t));
}

float thaw_sched_lr(const thaw_sched *s, float lr, long step)
{
	if (!s)
		return lr;
	if (step < 0)
		step = 0;
	float v = lr;
	switch (s->kind) {
	case THAW_SCHED_CONSTANT:
		break;
	case THAW_SCHED_STEP:
		v = lr * powf(s->gamma, (float)(step / s->step_size));
		break;
	case THAW_SCHED_COSINE: {
		double t = s->total_steps > 1 ? (double)step / (double)(s->total_steps - 1) : 1.0;
		v = cosine(lr, s->min_lr, t > 1 ? 1 : t);
		break;
	}
	case THAW_SCHED_ONECYCLE: {
		double up = s->pct_start * (double)(s->total_steps - 1);
		float lo = lr / s->div, end = lr / s->final_div;
		if (step <= up && up > 0) {
			v = cosine(lr, lo, 1.0 - step / up); /* rising: lo at step 0, lr at `up` */
		} else {
			double t = (step - up) / ((double)(s->total_steps - 1) - up);
			v = cosine(lr, end, t > 1 ? 1 : t);
		}
		break;
	}
	}
	if (s->warmup_steps > 0 && step < s->warmup_steps)
		v *= (float)(step + 1) / (float)s->warmup_steps;
	return v;
}
