/* thaw diff: how far apart the weights of two models of the same graph
 * are — the largest absolute difference of every parameter and statistic,
 * and overall. For reproducibility checks: a resumed run against an
 * uninterrupted one, N MPI ranks against one process. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: thaw diff A B [--tolerance X] [--quiet]\n"
	"Compares the parameters and statistics of two models of the same graph\n"
	"(.thaw or .onnx): one line per tensor with the largest absolute difference\n"
	"and where, then the largest overall. Exit 0 when every difference is at\n"
	"most X (default 0: the same bits), 1 otherwise or on an error.\n";

int cmd_diff(int argc, char **argv)
{
	static const struct option lo[] = {{"tolerance", required_argument, NULL, 't'},
					   {"quiet", no_argument, NULL, 'q'},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	double tol = 0;
	int quiet = 0, c;
	while ((c = cli_getopt("diff", argc, argv, "hq", lo)) != -1) {
		switch (c) {
		case 't': {
			char *end;
			tol = strtod(optarg, &end);
			if (*end || !(tol >= 0))
				return cli_usage_error("diff", "--tolerance: expected a number >= 0, got '%s'", optarg);
			break;
		}
		case 'q': quiet = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return CLI_EUSAGE;
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("diff", "needs two models (got %d)", argc - optind);
	const char *pa = argv[optind], *pb = argv[optind + 1];
	thaw_model *a = cli_load_model(pa, NULL, NULL), *b = a ? cli_load_model(pb, NULL, NULL) : NULL;
	int rc = 1;
	if (!a || !b) {
		cli_errorf("diff", "%s", thaw_errmsg());
		goto done;
	}
	if (a->n != b->n) {
		cli_errorf("diff", "%s has %d nodes, %s has %d: not the same graph", pa, a->n, pb, b->n);
		goto done;
	}
	double worst = 0;
	const char *wn = "-", *wp = "-";
	for (int i = 0; i < a->n; i++) {
		const thaw_node *x = a->nodes[i], *y = b->nodes[i];
		if (x->np != y->np || strcmp(x->name, y->name)) {
			cli_errorf("diff", "node %d is '%s' in %s but '%s' in %s: not the same graph", i, x->name, pa,
				   y->name, pb);
			goto done;
		}
		for (int k = 0; k < x->np; k++) {
			const thaw_param *p = &x->p[k], *q = &y->p[k];
			if (p->size != q->size) {
				cli_errorf("diff", "%s.%s: %zu values in %s, %zu in %s", x->name, p->name, p->size, pa,
					   q->size, pb);
				goto done;
			}
			double m = 0, scale = 0;
			size_t at = 0;
			for (size_t j = 0; j < p->size; j++) {
				double d = fabs((double)p->w[j] - (double)q->w[j]);
				if (d > m || d != d)
					m = d, at = j;
				if (fabs(p->w[j]) > scale)
					scale = fabs(p->w[j]);
			}
			if (!quiet)
				printf("%-24s %-13s max |a-b| %.3g at %zu (max |a| %.3g)\n", x->name, p->name, m, at, scale);
			if (m > worst || m != m)
				worst = m, wn = x->name, wp = p->name;
		}
	}
	if (worst > 0 || worst != worst)
		printf("largest difference: %.3g (%s.%s); tolerance %.3g: %s\n", worst, wn, wp, tol,
		       worst <= tol ? "same" : "DIFFERENT");
	else
		printf("largest difference: 0 (every value has the same bits); tolerance %.3g: same\n", tol);
	rc = worst <= tol ? 0 : 1;
done:
	thaw_model_free(a);
	thaw_model_free(b);
	return rc;
}
