/* Where the shipped files are: the roots derived from /proc/self/exe and
 * $THAW_SHARE_DIR, the asset lookup, and thaw_share_dir (core.h). */
#include "thaw/paths.h"
#include "thaw/core.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_CAP 4096

static char exe_dir[PATH_CAP];           /* "" when /proc/self/exe is unreadable */
static char build_root[PATH_CAP];        /* the executable's directory */
static char install_root[PATH_CAP + 16]; /* <exe dir>/../share/thaw, spelled without .. */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void find_roots(void)
{
	char exe[PATH_CAP];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k <= 0)
		return;
	exe[k] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = 0;
	snprintf(exe_dir, sizeof exe_dir, "%s", exe[0] ? exe : "/");
	snprintf(build_root, sizeof build_root, "%s", exe_dir);
	/* /proc/self/exe is already free of symlinks, so <exe dir>/.. is its
	 * textual parent; this spelling reads better in error messages */
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(install_root, sizeof install_root, "%s/share/thaw", exe);
}

const char *thaw_exe_dir(void)
{
	pthread_once(&once, find_roots);
	return exe_dir;
}

int thaw_share_dirs(const char *dirs[THAW_MAX_SHARE_DIRS])
{
	pthread_once(&once, find_roots);
	int n = 0;
	const char *env = getenv("THAW_SHARE_DIR");
	if (env && env[0])
		dirs[n++] = env;
	if (exe_dir[0]) {
		dirs[n++] = build_root;
		dirs[n++] = install_root;
	}
	return n;
}

static int is_dir(const char *root, const char *sub)
{
	char p[PATH_CAP + 64];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", root, sub);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *thaw_share_dir(void)
{
	const char *dirs[THAW_MAX_SHARE_DIRS];
	int n = thaw_share_dirs(dirs);
	for (int i = 0; i < n; i++)
		if (is_dir(dirs[i], "lua/thaw") || is_dir(dirs[i], "assets"))
			return dirs[i];
	return n ? dirs[n - 1] : ".";
}

int thaw_asset_path(const char *name, char *buf, size_t size)
{
	if (!name || !name[0])
		return thaw_error(THAW_EINVAL, "asset: an empty name");
	const char *dirs[THAW_MAX_SHARE_DIRS];
	int n = thaw_share_dirs(dirs);
	char tried[1024] = "";
	size_t len = 0;
	for (int i = 0; i < n; i++) {
		char p[PATH_CAP + 512];
		int w = snprintf(p, sizeof p, "%s/assets/%s", dirs[i], name);
		if (w < 0 || (size_t)w >= sizeof p)
			continue;
		struct stat st;
		if (stat(p, &st) == 0 && !S_ISDIR(st.st_mode)) {
			if ((size_t)w >= size)
				return thaw_error(THAW_EINVAL, "asset %s: path %s longer than %zu bytes", name, p,
						  size);
			memcpy(buf, p, (size_t)w + 1);
			return 0;
		}
		if (len < sizeof tried)
			len += (size_t)snprintf(tried + len, sizeof tried - len, "%s%s", len ? ", " : "", p);
	}
	if (!n)
		return thaw_error(THAW_EIO,
				  "asset '%s' not found: the executable's path is unknown (no /proc/self/exe); "
				  "set THAW_SHARE_DIR to thaw's share directory",
				  name);
	return thaw_error(THAW_EIO, "asset '%s' not found; looked in %s (THAW_SHARE_DIR adds a place)", name,
			  tried);
}
