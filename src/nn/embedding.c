/* embedding: a lookup table from token ids to vectors.
 * x (B, 1, 1, T) token ids as floats, W (words, dim), y (B, dim, 1, T):
 * y[b, :, 0, t] = W[x[b, t]], laid out channels first so that a conv2d
 * with a 1 x k kernel is a 1-D convolution over time.
 * Id 0 is padding: its output is zero and its row gets no gradient (as
 * PyTorch's padding_idx); an id outside [0, words) or not whole reads as
 * <unk> (1). The weight gradient is row-sparse: backward writes only the
 * rows of the batch's words and lists them in n->rows, so a 100,000-word
 * table costs a step what its batch touches. */
#include <math.h>
#include <string.h>

#include "thaw/layer.h"

static int embedding_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	int rc = thaw_expect_inputs(n, n_in, 1);
	if (rc < 0)
		return rc;
	if (n->a.words < 2 || n->a.dim <= 0)
		return thaw_error(THAW_EINVAL,
				  "node '%s' (embedding): words (%d) must be at least 2 (padding and unknown) and dim (%d) positive",
				  n->name, n->a.words, n->a.dim);
	if (in[0].c != 1 || in[0].h != 1) {
		char b[64];
		return thaw_error(THAW_ESHAPE, "node '%s' (embedding): input %s is not a row of token ids (1x1xT)",
				  n->name, thaw_shape_str(in[0], b, sizeof b));
	}
	n->out = (thaw_shape){1, n->a.dim, 1, in[0].w};
	thaw_param_decl(n, 0, "weight", 0, n->a.words, n->a.dim, 0, 0);
	return 0;
}

static void embedding_init(thaw_node *n, thaw_rng *rng)
{
	/* N(0, 1) as PyTorch's nn.Embedding; the padding row zero */
	float *W = n->p[0].w;
	for (size_t i = 0; i < n->p[0].size; i++)
		W[i] = thaw_rng_normal(rng);
	memset(W, 0, sizeof *W * (size_t)n->a.dim);
}

static inline int token(float v, int words)
{
	if (!(v >= 0.0f) || v >= (float)words || v != floorf(v))
		return 1;
	return (int)v;
}

/* Tokens go 16 at a time: output row d of a block is 16 neighbouring
 * floats while the 16 table rows are read along, a transpose that keeps
 * both sides in cache (one token at a time wrote D floats T apart). */
enum { TB = 16 };

static void embedding_forward(thaw_node *n, const thaw_fwd *f)
{
	const int B = f->B, T = n->out.w, D = n->a.dim, V = n->a.words;
	const float *W = n->p[0].w; // (V, D)
	static const float zero_row[1] = {0};
	for (int b = 0; b < B; b++) {
		const float *ids = f->x[0] + (size_t)b * T;
		float *y = f->y + (size_t)b * D * T; // (D, T)
		for (int t0 = 0; t0 < T; t0 += TB) {
			int nt = T - t0 < TB ? T - t0 : TB;
			const float *row[TB];
			int step[TB];
			for (int k = 0; k < nt; k++) {
				int id = token(ids[t0 + k], V);
				row[k] = id ? W + (size_t)id * D : zero_row; /* padding: zeros */
				step[k] = id ? 1 : 0;
			}
			for (int d = 0; d < D; d++) {
				float *yd = y + (size_t)d * T + t0;
				for (int k = 0; k < nt; k++)
					yd[k] = row[k][d * step[k]];
			}
		}
	}
}

static void embedding_backward(thaw_node *n, const thaw_bwd *bw)
{
	if (!bw->weight_grad)
		return; /* token ids have no gradient */
	const int B = bw->B, T = n->out.w, D = n->a.dim, V = n->a.words;
	float *G = n->p[0].g; // (V, D)
	if (n->rows) { /* clear what the last step wrote, then list this step's rows */
		for (int i = 0; i < n->n_rows; i++)
			memset(G + (size_t)n->rows[i] * D, 0, sizeof *G * (size_t)D);
		n->n_rows = 0;
	} else {
		memset(G, 0, sizeof *G * n->p[0].size);
	}
	for (int b = 0; b < B; b++) {
		const float *ids = bw->x[0] + (size_t)b * T;
		const float *dy = bw->dy + (size_t)b * D * T; // (D, T)
		for (int t0 = 0; t0 < T; t0 += TB) {
			int nt = T - t0 < TB ? T - t0 : TB, m = 0;
			float *row[TB];
			int at[TB];
			for (int k = 0; k < nt; k++) {
				int id = token(ids[t0 + k], V);
				if (id == 0)
					continue;
				if (n->rows && !n->row_mark[id]) {
					n->row_mark[id] = 1;
					n->rows[n->n_rows++] = id;
				}
				row[m] = G + (size_t)id * D;
				at[m++] = t0 + k;
			}
			// dW[id_t] += dy[b, :, t]  (y[b, d, t] = W[id_t, d]); a word twice in a block adds twice
			for (int d = 0; d < D; d++) {
				const float *dyd = dy + (size_t)d * T;
				for (int k = 0; k < m; k++)
					row[k][d] += dyd[at[k]];
			}
		}
	}
	for (int i = 0; i < n->n_rows; i++)
		n->row_mark[n->rows[i]] = 0;
}

static void embedding_describe(const thaw_node *n, char *buf, size_t size)
{
	snprintf(buf, size, "%d words x %d", n->a.words, n->a.dim);
}

const thaw_layer_ops thaw_embedding_ops = {
	.name = "embedding",
	.setup = embedding_setup,
	.init = embedding_init,
	.forward = embedding_forward,
	.backward = embedding_backward,
	.describe = embedding_describe,
	.sparse_rows = 1,
};
