/* util.c — hex, clocks and bounded file reads shared by all processes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void
hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(const char *in, uint8_t *out, size_t outmax)
{
	size_t n = strlen(in), i;

	if (n % 2 != 0 || n / 2 > outmax)
		return -EINVAL;
	for (i = 0; i < n / 2; i++) {
		int hi = nibble(in[2 * i]), lo = nibble(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
now_s(void)
{
	return now_ms() / 1000;
}

int
read_small_file(const char *path, size_t max, char **out, size_t *lenp)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = errno ? -errno : -EINVAL;
		close(fd);
		return r ? r : -EINVAL;
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	buf = calloc(1, max + 1);
	if (buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (len < max && (n = read(fd, buf + len, max - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			explicit_bzero(buf, max);
			free(buf);
			close(fd);
			return r;
		}
		len += (size_t)n;
	}
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	*out = buf;
	if (lenp != NULL)
		*lenp = len;
	return 0;
}

void
free_wiped(void *p, size_t n)
{
	if (p != NULL) {
		explicit_bzero(p, n);
		free(p);
	}
}

int
read_fd_wiped(int fd, size_t max, uint8_t **out, size_t *lenp)
{
	size_t cap = 1 << 16, n = 0;
	uint8_t *b = malloc(cap), *nb;
	ssize_t k;

	*out = NULL;
	*lenp = 0;
	if (b == NULL)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			if (cap >= max) {
				free_wiped(b, n);
				return -EFBIG;
			}
			if ((nb = malloc(2 * cap)) == NULL) {
				free_wiped(b, n);
				return -ENOMEM;
			}
			memcpy(nb, b, n);
			free_wiped(b, cap);
			b = nb;
			cap *= 2;
		}
		k = read(fd, b + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = -errno;
			free_wiped(b, n);
			return e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > max) {
			free_wiped(b, cap);
			return -EFBIG;
		}
	}
	*out = b;
	*lenp = n;
	return 0;
}
