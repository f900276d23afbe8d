/* The LR finder's curve as a PNG: the loss of every step against its
 * learning rate on a log axis, with the suggested rate marked. */
#include <math.h>
#include <stdio.h>

#include "thaw/finetune.h"
#include "thaw/plot.h"

int thaw_plot_lrfind(const char *path, const struct thaw_lrfind_result *r, const char *title)
{
	if (!path || !r || r->n < 0 || (r->n > 0 && (!r->lr || !r->loss || !r->smooth)))
		return thaw_error(THAW_EINVAL, "lr_find plot: needs a path and a curve");
	/* the y range: from below the lowest smoothed loss up to the start of
	 * the curve (or a little above); a diverging tail runs off the top */
	double lo = INFINITY, hi = -INFINITY;
	for (int i = 0; i < r->n; i++) {
		if (isfinite(r->smooth[i])) {
			lo = fmin(lo, r->smooth[i]);
			hi = fmax(hi, r->smooth[i]);
		}
		if (isfinite(r->loss[i]))
			lo = fmin(lo, r->loss[i]);
	}
	thaw_plot_spec spec = {.title = title ? title : "learning-rate finder",
			       .xlabel = "learning rate (log scale)",
			       .ylabel = "loss",
			       .log_x = 1};
	if (lo < hi) {
		double start = isfinite(r->smooth[0]) ? r->smooth[0] : hi;
		double top = fmin(hi, fmax(start * 1.5, lo + 1e-3));
		double pad = (top - lo) * 0.08;
		spec.y_min = lo - pad > 0 ? lo - pad : 0;
		spec.y_max = top + pad;
	}
	thaw_plot_series s[2] = {
		{"batch loss", (thaw_rgb){170, 190, 215}, r->lr, r->loss, r->n},
		{"smoothed", THAW_PLOT_BLUE, r->lr, r->smooth, r->n},
	};
	spec.series = s;
	spec.n_series = 2;
	char label[64];
	thaw_plot_marker mk = {r->suggested, label};
	if (r->suggested > 0) {
		snprintf(label, sizeof label, "suggested %.2g", r->suggested);
		spec.markers = &mk;
		spec.n_markers = 1;
	}
	return thaw_plot_lines(path, &spec);
}
