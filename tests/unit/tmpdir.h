/* A scratch directory for one test program: tmpdir_make("thaw-onnx") at the
 * start, tpath("x.thaw") for paths inside it (eight rotating buffers, so one
 * call can take several), tmpdir_remove() at the end. */
#ifndef THAW_TMPDIR_H
#define THAW_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static char dir[256];

static const char *tpath(const char *name)
{
	static char buf[8][512];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

static int tmpdir_make(const char *tag)
{
	snprintf(dir, sizeof dir, "/tmp/%s.XXXXXX", tag);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

static int tmpdir_rm(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(path);
}

static void tmpdir_remove(void)
{
	if (dir[0] && nftw(dir, tmpdir_rm, 16, FTW_DEPTH | FTW_PHYS) != 0)
		printf("note: could not remove %s\n", dir);
}

#endif
