/* Atomic file writing: temporary file, fsync, rename; stale temporary files
 * of killed writers recognised by their lock and removed. */
#include "thaw/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thaw/core.h"

#define TMP_SUFFIX ".tmp."
#define TMP_RANDOM 6 /* mkstemp's XXXXXX */

static void dir_base(const char *path, char *dir, size_t n, const char **base)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, n, ".");
	else if (slash == path)
		snprintf(dir, n, "/");
	else
		snprintf(dir, n, "%.*s", (int)(slash - path), path);
	*base = slash ? slash + 1 : path;
}

/* name is <target>.tmp.XXXXXX (target non-empty, and `base` when given) */
static int is_tmp_name(const char *name, const char *base)
{
	size_t len = strlen(name), sl = strlen(TMP_SUFFIX);
	if (len < sl + TMP_RANDOM + 1)
		return 0;
	const char *r = name + len - TMP_RANDOM;
	for (int i = 0; i < TMP_RANDOM; i++) {
		char c = r[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return 0;
	}
	size_t target = len - TMP_RANDOM - sl;
	if (memcmp(name + target, TMP_SUFFIX, sl) != 0)
		return 0;
	return !base || (strlen(base) == target && memcmp(name, base, target) == 0);
}

/* Removes dir/name when no writer holds its lock; 1 when removed. */
static int remove_if_stale(const char *dir, const char *name)
{
	char p[8300];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct stat st;
	int stale = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0;
	int removed = stale && unlink(p) == 0;
	close(fd);
	return removed;
}

/* The kinds of file thaw writes: a folder sweep leaves other names alone. */
static int thaw_kind(const char *name)
{
	static const char *const ext[] = {".thaw", ".onnx", ".png", ".jpg", ".jpeg", ".json", ".jsonl", ".csv", ".lua"};
	size_t len = strlen(name) - strlen(TMP_SUFFIX) - TMP_RANDOM;
	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		size_t el = strlen(ext[i]);
		if (len > el && !memcmp(name + len - el, ext[i], el))
			return 1;
	}
	return 0;
}

static int sweep(const char *dir, const char *base)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (is_tmp_name(e->d_name, base) && (base || thaw_kind(e->d_name)))
			n += remove_if_stale(dir, e->d_name);
	closedir(d);
	return n;
}

/* Folders this thread found without any temporary file (FNV-1a hashes of
 * their paths): a bulk writer (an exported class folder, thousands of
 * files) reads each folder once, not once per file. Its own temporary
 * files never outlive a commit or an abort, so the folder stays clean. */
enum { CLEAN_DIRS = 64 };
static _Thread_local uint64_t clean_dirs[CLEAN_DIRS];
static _Thread_local unsigned clean_next;
static _Thread_local int batch; /* inside thaw_atomic_batch_begin/end */

static uint64_t dir_hash(const char *dir)
{
	uint64_t h = 1469598103934665603ull;
	for (const unsigned char *p = (const unsigned char *)dir; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h | 1; /* never 0, the empty slot */
}

static int any_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int any = 0;
	struct dirent *e;
	while (!any && (e = readdir(d)))
		any = is_tmp_name(e->d_name, NULL);
	closedir(d);
	return any;
}

int thaw_atomic_sweep(const char *path)
{
	char dir[4096];
	const char *base;
	dir_base(path, dir, sizeof dir, &base);
	return *base ? sweep(dir, base) : 0;
}

/* thaw_atomic_sweep, skipped in a folder already seen clean */
static void sweep_target(const char *path)
{
	char dir[4096];
	const char *base;
	dir_base(path, dir, sizeof dir, &base);
	uint64_t h = dir_hash(dir);
	for (int i = 0; i < CLEAN_DIRS; i++)
		if (clean_dirs[i] == h)
			return;
	if (*base)
		sweep(dir, base);
	if (!any_tmp(dir)) {
		clean_dirs[clean_next] = h;
		clean_next = (clean_next + 1) % CLEAN_DIRS;
	}
}

void thaw_atomic_batch_begin(void) { batch = 1; }

int thaw_atomic_batch_end(const char *dir)
{
	batch = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return thaw_error(THAW_EIO, "%s: cannot open: %s", dir, strerror(errno));
	int rc = syncfs(fd);
	int e = errno;
	close(fd);
	return rc == 0 ? 0 : thaw_error(THAW_EIO, "%s: sync failed: %s", dir, strerror(e));
}

int thaw_atomic_sweep_dir(const char *dir) { return sweep(dir, NULL); }

FILE *thaw_atomic_open(thaw_atomic *a, const char *path)
{
	memset(a, 0, sizeof *a);
	if (!path || !*path || strlen(path) >= sizeof a->path) {
		thaw_error(THAW_EINVAL, "%s: bad file name", path ? path : "(null)");
		return NULL;
	}
	snprintf(a->path, sizeof a->path, "%s", path);
	struct stat st;
	/* a symbolic link: replace the file it points to, keep the link */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		char *real = realpath(path, NULL);
		if (real && strlen(real) < sizeof a->path)
			snprintf(a->path, sizeof a->path, "%s", real);
		free(real);
	}
	/* a device or a pipe (-o /dev/stdout): written straight, nothing to rename */
	if (stat(a->path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		if (!(a->f = fopen(a->path, "wb")))
			thaw_error(THAW_EIO, "%s: cannot write: %s", path, strerror(errno));
		return a->f;
	}
	sweep_target(a->path);
	snprintf(a->tmp, sizeof a->tmp, "%s" TMP_SUFFIX "XXXXXX", a->path);
	int fd = mkstemp(a->tmp);
	if (fd < 0) {
		int e = errno;
		char dir[4096];
		const char *base;
		dir_base(a->path, dir, sizeof dir, &base);
		thaw_error(THAW_EIO, "%s: cannot create a temporary file in '%s': %s", path, dir, strerror(e));
		a->tmp[0] = 0;
		return NULL;
	}
	/* the lock says "being written": a sweep leaves this file alone */
	flock(fd, LOCK_EX);
	fchmod(fd, stat(a->path, &st) == 0 && S_ISREG(st.st_mode) ? (st.st_mode & 07777) : 0644);
	if (!(a->f = fdopen(fd, "wb"))) {
		int e = errno;
		close(fd);
		unlink(a->tmp);
		a->tmp[0] = 0;
		thaw_error(THAW_ENOMEM, "%s: cannot open the temporary file: %s", path, strerror(e));
		return NULL;
	}
	return a->f;
}

void thaw_atomic_fail(thaw_atomic *a, int err)
{
	if (!a->err)
		a->err = err ? err : EIO;
}

void thaw_atomic_abort(thaw_atomic *a)
{
	if (a->f)
		fclose(a->f);
	a->f = NULL;
	if (a->tmp[0])
		unlink(a->tmp);
	a->tmp[0] = 0;
}

int thaw_atomic_commit(thaw_atomic *a)
{
	if (!a->f)
		return thaw_error(THAW_EIO, "%s: not open for writing", a->path);
	int e = a->err;
	if (!e && ferror(a->f))
		e = errno ? errno : EIO;
	if (!e && fflush(a->f) != 0)
		e = errno ? errno : EIO;
	/* a file system that cannot sync (EINVAL, ENOTSUP) is not a failed write */
	if (!e && !batch && a->tmp[0] && fsync(fileno(a->f)) != 0 && errno != EINVAL && errno != ENOTSUP)
		e = errno ? errno : EIO;
	if (fclose(a->f) != 0 && !e)
		e = errno ? errno : EIO;
	a->f = NULL;
	if (e && !a->tmp[0])
		return thaw_error(THAW_EIO, "%s: write failed: %s", a->path, strerror(e));
	if (!a->tmp[0])
		return 0; /* a device or a pipe, written straight */
	if (e) {
		thaw_atomic_abort(a);
		return thaw_error(THAW_EIO, "%s: write failed: %s (the previous file is untouched)", a->path,
				  strerror(e));
	}
	if (rename(a->tmp, a->path) != 0) {
		e = errno;
		thaw_atomic_abort(a);
		return thaw_error(THAW_EIO, "%s: cannot rename the temporary file into place: %s", a->path,
				  strerror(e));
	}
	a->tmp[0] = 0;
	if (batch)
		return 0;
	/* the rename itself must survive a power cut */
	char dir[4096];
	const char *base;
	dir_base(a->path, dir, sizeof dir, &base);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int thaw_atomic_write(const char *path, const void *buf, size_t len)
{
	thaw_atomic a;
	FILE *f = thaw_atomic_open(&a, path);
	if (!f)
		return THAW_EIO;
	if (len && fwrite(buf, 1, len, f) != len)
		thaw_atomic_fail(&a, errno);
	return thaw_atomic_commit(&a);
}
