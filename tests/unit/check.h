/* A tiny test framework (after redis' testhelp.h): CHECK counts, failures
 * print file:line, and check_done() prints the `N passed, N failed` line. */
#ifndef THAW_CHECK_H
#define THAW_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_pass, check_fail;

#define CHECKF(c, ...)                                                                     \
	do {                                                                               \
		if (c) {                                                                   \
			check_pass++;                                                      \
		} else {                                                                   \
			check_fail++;                                                      \
			fprintf(stdout, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #c);       \
			fprintf(stdout, __VA_ARGS__);                                      \
			fprintf(stdout, "\n");                                             \
		}                                                                          \
	} while (0)
#define CHECK(c) CHECKF(c, "%s", "")
#define CHECK_NEAR(a, b, tol)                                                              \
	CHECKF(fabs((double)(a) - (double)(b)) <= (tol), "%.8g vs %.8g (tol %g)", (double)(a), \
	       (double)(b), (double)(tol))
#define CHECK_OK(expr)                                                                     \
	do {                                                                               \
		int rc_ = (expr);                                                          \
		CHECKF(rc_ >= 0, "returned %d: %s", rc_, thaw_errmsg());                   \
	} while (0)
#define CHECK_ERR(expr, substr)                                                            \
	do {                                                                               \
		int rc_ = (expr);                                                          \
		CHECKF(rc_ < 0 && strstr(thaw_errmsg(), substr), "rc %d, message '%s', wanted '%s'", \
		       rc_, thaw_errmsg(), substr);                                       \
	} while (0)

#define RUN(fn)                                                                            \
	do {                                                                               \
		int f0_ = check_fail;                                                      \
		fn();                                                                      \
		printf("%s %s\n", check_fail == f0_ ? "ok  " : "FAIL", #fn);               \
	} while (0)

static inline int check_done(void)
{
	printf("%d passed, %d failed\n", check_pass, check_fail);
	return check_fail ? 1 : 0;
}

#endif
