/* thaw options: the table of training options (thaw/options.h) — what
 * thaw.fit takes and thaw train's flags — as text or as the Markdown table
 * docs/lua.md carries (tests/cli checks that the two agree). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "thaw/options.h"

static const char usage[] = "usage: thaw options [--markdown]\n"
			    "Lists the training options: name, type, default, range and meaning.\n"
			    "--markdown prints the table docs/lua.md carries.\n";

int cmd_options(int argc, char **argv)
{
	static const struct option lo[] = {
		{"markdown", no_argument, NULL, 'm'}, {"help", no_argument, NULL, 'h'}, {0}};
	int markdown = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'm') {
			markdown = 1;
		} else if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		} else {
			cli_errorf("options", "unknown option '%s'", argv[optind - 1]);
			fputs(usage, stderr);
			return 1;
		}
	}
	if (optind < argc) {
		cli_errorf("options", "unexpected argument '%s'", argv[optind]);
		return 1;
	}
	char *md = thaw_options_markdown();
	if (!md) {
		cli_errorf("options", "out of memory");
		return 1;
	}
	if (markdown) {
		fputs(md, stdout);
	} else {
		int n;
		const thaw_option *t = thaw_options(&n);
		for (int k = 0; k < n; k++)
			printf("%-13s %-8s %s\n", t[k].name,
			       (const char *const[]){"integer", "number", "boolean", "seed", "choice", "string", "data",
						     "function"}[t[k].type],
			       t[k].doc);
	}
	free(md);
	return 0;
}
