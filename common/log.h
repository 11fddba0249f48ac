/* log.h — one line per event to stderr (journald in production), prefixed
 * with the process name. Only the daemon layer logs; library code returns
 * codes. Never pass a PIN, OTP, password, token, SAD or key. */
#ifndef INKAN_LOG_H
#define INKAN_LOG_H

void log_init(const char *progname);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_err + exit(1) */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
