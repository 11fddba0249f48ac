/* log.c — one line per event on stderr: "<time> <prog>[pid]: <level>: msg".
 * journald captures stderr under systemd. Callers never pass secrets. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *prog = "inkan";

void
log_init(const char *progname)
{
	prog = progname;
	/* Load the zone data now: the first log line may come after the
	 * sandbox, which forbids opening /etc/localtime. */
	tzset();
}

__attribute__((format(printf, 2, 0)))
static void
vlog(const char *level, const char *fmt, va_list ap)
{
	char msg[1024], ts[32];
	struct timespec tv;
	struct tm tm;
	size_t i;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One event, one line: a newline in a value must not forge a record. */
	for (i = 0; msg[i] != '\0'; i++)
		if (msg[i] == '\n' || msg[i] == '\r')
			msg[i] = ' ';
	clock_gettime(CLOCK_REALTIME, &tv);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s[%d]: %s: %s\n", ts, tv.tv_nsec / 1000000,
	    prog, (int)getpid(), level, msg);
}

#define LOGFN(fn, level) \
void fn(const char *fmt, ...) { va_list ap; va_start(ap, fmt); vlog(level, fmt, ap); va_end(ap); }
LOGFN(log_info, "info")
LOGFN(log_warn, "warning")
LOGFN(log_err, "error")

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap);
	va_end(ap);
	exit(1);
}
