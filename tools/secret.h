/* secret.h — secrets typed by a person or handed in through the environment,
 * for the command-line tools. Every buffer returned here is sodium_malloc'd
 * (guarded, locked, not in core dumps) and must be released with
 * secret_free(), which wipes it. Library code: returns 0 or -errno, never logs. */
#ifndef INKAN_TOOLS_SECRET_H
#define INKAN_TOOLS_SECRET_H

#include <stddef.h>

/* Longest secret accepted (password, PIN, OTP): the SAM's limit. */
#define SECRET_MAX 128

/* A NUL-terminated secret in sodium_malloc'd memory. */
struct secret {
	char *buf;      /* SECRET_MAX + 1 bytes */
	size_t len;
};

/* Allocate an empty secret. 0 or -ENOMEM. */
int secret_alloc(struct secret *s);
/* Wipe and release (safe on a zeroed or already freed struct). */
void secret_free(struct secret *s);

/* Copy the value of environment variable name into s, then wipe the value in
 * the process environment and unset it (so it does not linger in
 * /proc/self/environ nor reach children). Returns 0, -ENOENT when unset,
 * -EINVAL when empty, -E2BIG when longer than SECRET_MAX. */
int secret_from_env(const char *name, struct secret *s);

/* Prompt on /dev/tty with echo off and read one line. When confirm is set,
 * ask a second time and require the same answer. Returns 0, -ENXIO when there
 * is no terminal, -EINVAL when empty, -E2BIG when too long, -EILSEQ when the
 * two entries differ, -EINTR when interrupted, or another -errno. */
int secret_prompt(const char *prompt, int confirm, struct secret *s);

/* Environment first, else the terminal. */
int secret_get(const char *env, const char *prompt, int confirm,
    struct secret *s);

/* Text for the codes above, for the one-line error of the tool. */
const char *secret_strerror(int err);

#endif
