/* Atomic file writing: every file thaw writes (models, checkpoints, ONNX,
 * PNG and JPEG, metrics, plots, summaries) goes to a temporary file beside
 * its target, <path>.tmp.XXXXXX, is flushed, fsynced and renamed over the
 * target. A crash, a kill -9 or a full disk leaves either the old file or
 * the new one, never half of one; a failed write names the file and the
 * reason, and the previous file stays as it was.
 *
 *   thaw_atomic a;
 *   FILE *f = thaw_atomic_open(&a, "runs/x/summary.json");  // NULL: see thaw_errmsg()
 *   fprintf(f, "{...}\n");
 *   if (thaw_atomic_commit(&a) < 0)      // closes f in every case
 *           ... thaw_errmsg(): "runs/x/summary.json: write failed: No space left on device ..."
 *
 * The writer holds an flock on its temporary file while it writes, so a
 * temporary file nobody holds is stale (its writer was killed): opening a
 * target removes the stale temporary files of that target (a folder this
 * thread already found clean is not read again), and
 * thaw_atomic_sweep_dir clears a whole folder (a resumed run's). */
#ifndef THAW_ATOMIC_H
#define THAW_ATOMIC_H

#include <stddef.h>
#include <stdio.h>

typedef struct thaw_atomic {
	FILE *f; /* owned until commit or abort */
	int err; /* an errno a caller recorded (thaw_atomic_fail); commit then fails */
	char path[4096];
	char tmp[4120];
} thaw_atomic;

/* Creates the temporary file for path (after removing stale ones of the
 * same target) and returns it open for writing, or NULL with a message
 * naming path. */
FILE *thaw_atomic_open(thaw_atomic *a, const char *path);
/* Records a write error the caller saw (errno value; EIO when 0): commit
 * will fail and remove the temporary file. */
void thaw_atomic_fail(thaw_atomic *a, int err);
/* Flushes, fsyncs, closes and renames the file into place, then fsyncs the
 * folder. 0, or THAW_EIO with the temporary file removed, the target
 * untouched and a message naming the target and the reason. */
int thaw_atomic_commit(thaw_atomic *a);
/* Closes and removes the temporary file; the target stays as it was.
 * Safe on an atomic never opened or already finished. */
void thaw_atomic_abort(thaw_atomic *a);
/* The whole of buf as path, atomically. 0 or THAW_EIO. */
int thaw_atomic_write(const char *path, const void *buf, size_t len);
/* Removes the stale temporary files of one target (<path>.tmp.XXXXXX that
 * no live writer holds); returns how many were removed. */
int thaw_atomic_sweep(const char *path);
/* Bulk writing of many new files (an exported class folder): between
 * begin and end, commits on this thread skip their fsyncs (each file still
 * lands whole by its rename, the previous one stays until then); end syncs
 * the file system of dir once (syncfs). 0 or THAW_EIO. */
void thaw_atomic_batch_begin(void);
int thaw_atomic_batch_end(const char *dir);
/* The same for every target in a folder whose name is of a kind thaw
 * writes (.thaw .onnx .png .jpg .jpeg .json .jsonl .csv .lua); returns how
 * many were removed. */
int thaw_atomic_sweep_dir(const char *dir);

#endif
