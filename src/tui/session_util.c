/* Small pieces of the session that need no lock of their own: naming a
 * phase from the freezing flags, and saving a model without its
 * optimizer state. Called with the session's mutex held. */
#include "session.h"

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
