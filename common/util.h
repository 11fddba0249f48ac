/* util.h — small helpers shared by all processes. No logging, no secrets kept. */
#ifndef INKAN_UTIL_H
#define INKAN_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Lower-case hex; out must hold 2*len+1. */
void hex_encode(const uint8_t *in, size_t len, char *out);
/* Returns decoded length or -EINVAL. */
int hex_decode(const char *in, uint8_t *out, size_t outmax);

/* Milliseconds / seconds since the epoch (CLOCK_REALTIME). */
int64_t now_ms(void);
int64_t now_s(void);

/* Read a whole small file (<= max bytes) into a NUL-terminated malloc'd
 * buffer, trailing newlines stripped. Returns 0 or -errno. */
int read_small_file(const char *path, size_t max, char **out, size_t *len);

/* Read fd to its end (at most max bytes, else -EFBIG) into a malloc'd
 * buffer. The input may be secret: a buffer outgrown is wiped before it is
 * freed, and so is everything on an error. Returns 0 or -errno. */
int read_fd_wiped(int fd, size_t max, uint8_t **out, size_t *len);
/* explicit_bzero(p, n), then free(p); p may be NULL. */
void free_wiped(void *p, size_t n);

#endif
