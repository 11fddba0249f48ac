/* fileio.c — see fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, int overwrite, int *tmp_exists)
{
	char *tmp = NULL;
	int fd, r;

	if (tmp_exists != NULL)
		*tmp_exists = 0;
	if (!overwrite && access(path, F_OK) == 0)
		return -EEXIST;
	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		r = -errno;
		if (r == -EEXIST && tmp_exists != NULL)
			*tmp_exists = 1;
		free(tmp);
		return r;
	}
	r = write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0)      /* umask must not widen or narrow it */
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0) {
		if (overwrite) {
			if (rename(tmp, path) < 0)
				r = -errno;
		} else if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path,
		    RENAME_NOREPLACE) < 0) {
			r = -errno;
			/* File systems without RENAME_NOREPLACE: link() also
			 * refuses an existing target. */
			if (r == -EINVAL || r == -ENOSYS) {
				r = link(tmp, path) < 0 ? -errno : 0;
				if (r == 0)
					unlink(tmp);
			}
		}
	}
	if (r < 0)
		unlink(tmp);
	free(tmp);
	return r;
}

int file_read(const char *path, size_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t n = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if ((uintmax_t)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	buf = malloc(max + 1);
	if (buf == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t got = read(fd, buf + n, max + 1 - n);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > max) {
			r = -EFBIG;
			goto out;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}
