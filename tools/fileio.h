/* fileio.h — whole-file helpers for the command-line tools: bounded reads and
 * writes that appear atomically (FILE.tmp, fsync, rename). Library code:
 * returns 0 or -errno, never logs. */
#ifndef INKAN_TOOLS_FILEIO_H
#define INKAN_TOOLS_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Write data to path through path.tmp (created exclusively, mode, not
 * following symlinks), fsync, then rename. Unless overwrite is set, an
 * existing path is never replaced (-EEXIST), checked atomically with
 * RENAME_NOREPLACE. A stale path.tmp gives -EEXIST as well (*tmp_exists set
 * when tmp_exists is non-NULL) so the caller can say which file is in the way. */
int file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, int overwrite, int *tmp_exists);

/* Read a regular file of at most max bytes into a malloc'd buffer (one extra
 * NUL byte after the data). -EFBIG when larger. */
int file_read(const char *path, size_t max, uint8_t **out, size_t *len);

#endif
