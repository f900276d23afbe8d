/* The command line's shared parsing: getopt_long with GNU's messages, and
 * the number parsers every command uses for its option values, so that
 * `--top 2.5` and `--batch 0` are refused the same way everywhere. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "thaw/data.h"

static const char *cur_cmd = "", *cur_opt = "";
static char prog[64], optname[64];

int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	/* getopt_long prints "PROG: unrecognized option '--frob'" with argv[0]
	 * as PROG: naming it "thaw CMD" gives GNU's messages as they are. A
	 * new argv starts a new scan (optind 0 makes glibc reinitialise). */
	if (argv[0] != prog) {
		snprintf(prog, sizeof prog, "thaw %s", cmd);
		argv[0] = prog;
		optind = 0;
	}
	cur_cmd = cmd;
	opterr = 1;
	int idx = -1;
	int c = getopt_long(argc, argv, shortopts, longopts, &idx);
	if (c == '?') {
		fprintf(stderr, "Try 'thaw %s --help' for more information.\n", cmd);
		return '?';
	}
	if (idx >= 0)
		snprintf(optname, sizeof optname, "--%s", longopts[idx].name);
	else
		snprintf(optname, sizeof optname, "-%c", c);
	cur_opt = optname;
	return c;
}

static void report(const char *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "thaw %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_errorf(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report(cmd, fmt, ap);
	va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report(cmd, fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'thaw %s --help' for more information.\n", cmd);
	return CLI_EUSAGE;
}

int cli_dashdash(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--"))
			return i;
	return argc;
}

int cli_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno == ERANGE || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno == ERANGE || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int cli_int(const char *s, long lo, long hi, int *out)
{
	long v;
	if (hi > INT_MAX)
		hi = INT_MAX;
	if (cli_parse_long(s, lo, hi, &v) == 0) {
		*out = (int)v;
		return 0;
	}
	if (hi == INT_MAX && lo == 1)
		cli_errorf(cur_cmd, "%s: expected a positive whole number, got '%s'", cur_opt, s);
	else if (hi == INT_MAX)
		cli_errorf(cur_cmd, "%s: expected a whole number >= %ld, got '%s'", cur_opt, lo, s);
	else
		cli_errorf(cur_cmd, "%s: expected a whole number from %ld to %ld, got '%s'", cur_opt, lo, hi, s);
	return -1;
}

int cli_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	/* strtoull takes "-1" as 2^64-1: a seed is written without a sign */
	if (end == s || *end || errno == ERANGE || s[strspn(s, " \t")] == '-') {
		cli_errorf(cur_cmd, "%s: expected a whole number >= 0, got '%s'", cur_opt, s);
		return -1;
	}
	*out = (uint64_t)v;
	return 0;
}

int cli_positive(const char *s, double hi, double *out)
{
	double v;
	if (cli_parse_double(s, &v) < 0 || !(v > 0) || v > hi) {
		cli_errorf(cur_cmd, "%s: expected a number above 0 and at most %g, got '%s'", cur_opt, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_resize(const char *s, int *mode)
{
	thaw_resize_mode m;
	if (thaw_resize_mode_parse(s, &m) < 0) {
		cli_errorf(cur_cmd, "%s: expected stretch, crop or pad, got '%s'", cur_opt, s);
		return -1;
	}
	*mode = (int)m;
	return 0;
}

const char *cli_option(void) { return cur_opt; }
