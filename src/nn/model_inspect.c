/* Freezing, selecting nodes by name, glob, range or upto:NAME, and the
 * model's summary and counts: what the frontends ask of a built graph. */
#include "thaw/layer.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- freezing */
int thaw_model_set_trainable(thaw_model *m, int from, int to, int trainable)
{
	if (!m || from < 0 || to >= m->n || from > to)
		return thaw_error(THAW_EINVAL, "node range %d..%d outside 0..%d", from, to,
				  m ? m->n - 1 : -1);
	int changed = 0;
	for (int i = from; i <= to; i++) {
		changed += m->nodes[i]->trainable != !!trainable;
		m->nodes[i]->trainable = !!trainable;
	}
	return changed;
}

int thaw_model_set_trainable_glob(thaw_model *m, const char *pattern, int trainable)
{
	if (!m || !pattern)
		return thaw_error(THAW_EINVAL, "freeze: no pattern");
	char *mark = thaw_calloc((size_t)m->n + 1, 1);
	int rc = mark ? thaw_model_select(m, pattern, mark) : THAW_ENOMEM, changed = 0;
	for (int i = 0; rc >= 0 && i < m->n; i++)
		if (mark[i]) {
			changed += m->nodes[i]->trainable != !!trainable;
			m->nodes[i]->trainable = !!trainable;
		}
	free(mark);
	return rc < 0 ? rc : changed;
}

int thaw_model_freeze_upto(thaw_model *m, const char *name)
{
	int k = thaw_model_find(m, name);
	if (k < 0)
		return thaw_error(THAW_EINVAL, "freeze: no node named '%s'", name ? name : "(null)");
	int changed = thaw_model_set_trainable(m, 0, k, 0);
	if (k + 1 < m->n)
		changed += thaw_model_set_trainable(m, k + 1, m->n - 1, 1);
	return changed;
}

int thaw_model_set_lr_mult(thaw_model *m, int index, float mult)
{
	if (!m || index < 0 || index >= m->n)
		return thaw_error(THAW_EINVAL, "node index %d outside 0..%d", index, m ? m->n - 1 : -1);
	if (!(mult >= 0.0f) || !isfinite(mult))
		return thaw_error(THAW_EINVAL, "node '%s': lr multiplier %g must be >= 0",
				  m->nodes[index]->name, mult);
	m->nodes[index]->lr_mult = mult;
	return 0;
}

int thaw_model_select(const thaw_model *m, const char *sel, char *mark)
{
	if (!m || !sel || !mark)
		return thaw_error(THAW_EINVAL, "select: no model or no selector");
	int a, b, hit = 0;
	char tail;
	if (!strncmp(sel, "upto:", 5)) {
		if ((b = thaw_model_find(m, sel + 5)) < 0)
			return thaw_error(THAW_EINVAL, "no node named '%s'", sel + 5);
		a = 0;
	} else if (sscanf(sel, "%d-%d%c", &a, &b, &tail) != 2 && sscanf(sel, "%d%c", &a, &tail) == 1) {
		b = a;
	} else if (sscanf(sel, "%d-%d%c", &a, &b, &tail) != 2) {
		for (int i = 0; i < m->n; i++)
			if (fnmatch(sel, m->nodes[i]->name, 0) == 0)
				mark[i] = 1, hit++;
		return hit ? hit : thaw_error(THAW_EINVAL, "no node name matches '%s'", sel);
	}
	if (a < 0 || b >= m->n || a > b)
		return thaw_error(THAW_EINVAL, "node range %d..%d outside 0..%d", a, b, m->n - 1);
	for (int i = a; i <= b; i++)
		mark[i] = 1, hit++;
	return hit;
}

int thaw_model_lowest_trainable(const thaw_model *m)
{
	for (int i = 0; i < m->n; i++)
		if (m->nodes[i]->trainable && thaw_node_has_weights(m->nodes[i]))
			return i;
	return m->n;
}

/* ---- inspection */
thaw_param_counts thaw_model_count(const thaw_model *m)
{
	thaw_param_counts c = {0, 0};
	for (int i = 0; m && i < m->n; i++) {
		size_t k = thaw_node_param_count(m->nodes[i]);
		if (m->nodes[i]->trainable)
			c.trainable += k;
		else
			c.frozen += k;
	}
	return c;
}


char *thaw_model_summary(const thaw_model *m)
{
	if (!m) {
		thaw_error(THAW_EINVAL, "summary: no model");
		return NULL;
	}
	thaw_sbuf b = {0};
	char in[64], sh[64], desc[96];
	thaw_shape is = {1, m->input.c, m->input.h, m->input.w};
	thaw_sbuf_printf(&b, "input %s\n", thaw_shape_str(is, in, sizeof in));
	thaw_sbuf_printf(&b, "%3s  %-18s %-12s %-24s %-14s %10s  %s\n", "#", "name", "kind", "details", "output",
		  "params", "state");
	for (int i = 0; i < m->n; i++) {
		const thaw_node *n = m->nodes[i];
		thaw_node_describe(n, desc, sizeof desc);
		const char *state = !thaw_node_has_weights(n) ? "-" : n->trainable ? "trainable" : "frozen";
		if (n->kind == THAW_BATCHNORM && !n->trainable)
			state = "frozen (running stats)";
		thaw_sbuf_printf(&b, "%3d  %-18s %-12s %-24s %-14s %10zu  %s", i, n->name, thaw_kind_name(n->kind),
			  desc, thaw_shape_str(n->out, sh, sizeof sh), thaw_node_param_count(n), state);
		if (n->lr_mult != 1.0f)
			thaw_sbuf_printf(&b, "  lr x%g", n->lr_mult);
		if (n->n_in != 1 || n->in[0] != i - 1) {
			thaw_sbuf_printf(&b, "  <-");
			for (int j = 0; j < n->n_in; j++)
				thaw_sbuf_printf(&b, " %s", n->in[j] < 0 ? "input" : m->nodes[n->in[j]]->name);
		}
		thaw_sbuf_printf(&b, "\n");
	}
	thaw_param_counts c = thaw_model_count(m);
	thaw_sbuf_printf(&b, "total params: %zu  trainable: %zu  frozen: %zu\n", c.trainable + c.frozen,
		  c.trainable, c.frozen);
	if (b.oom || !b.s) {
		free(b.s);
		thaw_error(THAW_ENOMEM, "out of memory");
		return NULL;
	}
	return b.s;
}
