/* secret.c — reading passwords, PINs and OTPs without echo or copies.
 * SECURITY: a secret only ever lives in sodium_malloc'd memory here; the
 * terminal is always restored, even when reading fails or is interrupted by
 * SIGINT/SIGTERM/SIGHUP/SIGTSTP (the handlers restore, then re-raise). */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

int secret_alloc(struct secret *s)
{
	s->len = 0;
	if (sodium_init() < 0)
		return -ENOMEM;
	s->buf = sodium_malloc(SECRET_MAX + 1);
	if (s->buf == NULL)
		return -ENOMEM;
	sodium_memzero(s->buf, SECRET_MAX + 1);
	return 0;
}

void secret_free(struct secret *s)
{
	if (s->buf != NULL) {
		sodium_memzero(s->buf, SECRET_MAX + 1);
		sodium_free(s->buf);
	}
	s->buf = NULL;
	s->len = 0;
}

int secret_from_env(const char *name, struct secret *s)
{
	char *v = getenv(name);
	size_t n;

	if (v == NULL)
		return -ENOENT;
	n = strlen(v);
	if (n == 0)
		return -EINVAL;
	if (n > SECRET_MAX) {
		sodium_memzero(v, n);
		unsetenv(name);
		return -E2BIG;
	}
	memcpy(s->buf, v, n);
	s->buf[n] = '\0';
	s->len = n;
	/* getenv returns the environment's own storage: wipe it in place. */
	sodium_memzero(v, n);
	unsetenv(name);
	return 0;
}

/* Terminal state to restore from a signal handler. */
static volatile sig_atomic_t tty_saved;
static int tty_fd = -1;
static struct termios tty_orig;

static void tty_restore(void)
{
	if (tty_saved) {
		(void)tcsetattr(tty_fd, TCSAFLUSH, &tty_orig);
		tty_saved = 0;
	}
}

static const int tty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
#define N_TTY_SIGNALS (sizeof(tty_signals) / sizeof(tty_signals[0]))

static void tty_on_signal(int sig)
{
	tty_restore();
	if (write(tty_fd, "\n", 1) < 0) {
		/* nothing more to do in a handler */
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static int write_all(int fd, const char *p, size_t n)
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

/* One line, echo off, into s. */
static int read_line_noecho(int fd, const char *prompt, struct secret *s)
{
	struct sigaction sa, old[N_TTY_SIGNALS];
	struct termios t;
	size_t n = 0;
	int r = 0, too_long = 0;
	size_t i;

	if (tcgetattr(fd, &tty_orig) < 0)
		return -errno;
	r = write_all(fd, prompt, strlen(prompt));
	if (r < 0)
		return r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < N_TTY_SIGNALS; i++)
		sigaction(tty_signals[i], &sa, &old[i]);

	t = tty_orig;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	t.c_lflag |= ICANON;
	tty_fd = fd;
	if (tcsetattr(fd, TCSAFLUSH, &t) < 0) {
		r = -errno;
		goto out;
	}
	tty_saved = 1;

	for (;;) {
		char c;
		ssize_t got = read(fd, &c, 1);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (got == 0 || c == '\n' || c == '\r')
			break;
		if (n < SECRET_MAX)
			s->buf[n++] = c;
		else
			too_long = 1;
	}
	tty_restore();
	(void)write_all(fd, "\n", 1);
out:
	for (i = 0; i < N_TTY_SIGNALS; i++)
		sigaction(tty_signals[i], &old[i], NULL);
	tty_fd = -1;
	if (r == 0 && too_long)
		r = -E2BIG;
	if (r == 0 && n == 0)
		r = -EINVAL;
	if (r < 0) {
		sodium_memzero(s->buf, SECRET_MAX + 1);
		s->len = 0;
		return r;
	}
	s->buf[n] = '\0';
	s->len = n;
	return 0;
}

int secret_prompt(const char *prompt, int confirm, struct secret *s)
{
	struct secret again = { 0 };
	int fd, r;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -ENXIO;
	r = read_line_noecho(fd, prompt, s);
	if (r == 0 && confirm) {
		r = secret_alloc(&again);
		if (r == 0)
			r = read_line_noecho(fd, "Again: ", &again);
		if (r == 0 && (again.len != s->len ||
		    sodium_memcmp(again.buf, s->buf, s->len) != 0))
			r = -EILSEQ;
		secret_free(&again);
		if (r < 0) {
			sodium_memzero(s->buf, SECRET_MAX + 1);
			s->len = 0;
		}
	}
	close(fd);
	return r;
}

int secret_get(const char *env, const char *prompt, int confirm,
    struct secret *s)
{
	int r = secret_from_env(env, s);

	if (r != -ENOENT)
		return r;
	return secret_prompt(prompt, confirm, s);
}

const char *secret_strerror(int err)
{
	switch (err) {
	case -ENOENT: return "not set";
	case -ENXIO: return "no terminal to ask on (set the environment variable)";
	case -EINVAL: return "empty";
	case -E2BIG: return "longer than 128 bytes";
	case -EILSEQ: return "the two entries differ";
	case -ENOMEM: return "out of secure memory";
	default: return strerror(-err);
	}
}
