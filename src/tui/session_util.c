/* Small pieces of the session that need no lock of their own: naming a
 * phase from the freezing flags, and saving a model without its
 * optimizer state. Called with the session's mutex held. */
#include "session.h"

#include <stdio.h>
#include <string.h>

#include "thaw/modelfile.h"
#include "thaw/run.h"

const char *tui_phase_name(const thaw_model *m, int phases_before)
{
	int weighted = 0, trainable = 0, last = -1;
	for (int i = 0; i < m->n; i++)
		if (thaw_node_has_weights(m->nodes[i])) {
			weighted++;
			last = i;
			trainable += m->nodes[i]->trainable != 0;
		}
	if (weighted == 0 || trainable == weighted)
		return phases_before ? "fine-tune" : "train";
	if (trainable == 0)
		return "frozen";
	if (trainable == 1 && m->nodes[last]->trainable)
		return "head";
	return "partial";
}

int tui_save_model(thaw_model *m, const char *path, int with_optimizer, const thaw_position *pos)
{
	if (with_optimizer)
		return thaw_checkpoint_save(path, m, pos, 0, NULL);
	/* the file stores moments for the nodes that have them (omem): hide
	 * them for the save, for a file about a third the size */
	float *held[m->n > 0 ? m->n : 1];
	for (int i = 0; i < m->n; i++) {
		held[i] = m->nodes[i]->omem;
		m->nodes[i]->omem = NULL;
	}
	int rc = thaw_checkpoint_save(path, m, pos, 0, NULL);
	for (int i = 0; i < m->n; i++)
		m->nodes[i]->omem = held[i];
	return rc;
}

void tui_scratch_summary(const tui_session *s, char *out, size_t size)
{
	out[0] = 0;
	if (!s->sv_acc.n)
		return;
	float sc = s->sv_acc.y[s->sv_acc.n - 1];
	if (!s->v_acc.n) {
		snprintf(out, size, "scratch %.1f%% (validation); transfer not trained yet", 100 * sc);
		return;
	}
	float tr = s->v_acc.y[s->v_acc.n - 1], d = 100 * (tr - sc);
	snprintf(out, size, "transfer %.1f%% vs scratch %.1f%% (validation): %s", 100 * tr, 100 * sc,
		 d > 0.05f ? "transfer ahead" : d < -0.05f ? "scratch ahead (negative transfer)" : "even");
	size_t n = strlen(out);
	if (d > 0.05f || d < -0.05f)
		snprintf(out + n, size - n, " by %.1f points", d > 0 ? d : -d);
}
