/* Where thaw's shipped files are: the Lua library (lua/), the examples and
 * the assets (assets/fashion-base.thaw). Found from the executable's own
 * path, never from the working directory, so `thaw` works from anywhere:
 *
 *   char p[4096];
 *   if (thaw_asset_path("fashion-base.thaw", p, sizeof p) < 0)
 *           ... thaw_errmsg() lists every place that was tried ...
 *
 * The roots searched, in order:
 *   $THAW_SHARE_DIR              when set (a relocated or unusual install)
 *   <dir of the executable>      a build tree: ./thaw beside lua/ and assets/
 *   <dir of the executable>/../share/thaw   what `make install` makes
 * Strings returned are owned by this module and live for the whole run. */
#ifndef THAW_PATHS_H
#define THAW_PATHS_H

#include <stddef.h>

#define THAW_MAX_SHARE_DIRS 3

/* Fills dirs[0..n-1] with the roots above (only those that can be named:
 * without /proc/self/exe only $THAW_SHARE_DIR); returns n. Whether each
 * exists is not checked. */
int thaw_share_dirs(const char *dirs[THAW_MAX_SHARE_DIRS]);

/* The directory of the running executable ("" when it cannot be found). */
const char *thaw_exe_dir(void);

/* Writes <root>/assets/<name> of the first root where that file exists into
 * buf; 0, or THAW_EIO with a message naming every path tried (THAW_EINVAL
 * for an empty name or a buf too small). */
int thaw_asset_path(const char *name, char *buf, size_t size);

#endif
