/* daemon.h — the start-up skeleton every inkan daemon goes through, in one
 * fixed order: close inherited fds -> no core dumps -> parse config -> open
 * sockets / PKCS#11 (init) -> drop privileges -> NO_NEW_PRIVS + seccomp ->
 * sd_notify READY=1 -> serve. Each main() fills a daemon_desc and calls
 * daemon_main(). */
#ifndef INKAN_DAEMON_H
#define INKAN_DAEMON_H

#include "sandbox.h"

struct daemon_desc {
	const char *name;                 /* "inkan-scm" */
	const char *section;              /* config section: "scm" */
	/* One key of the daemon's section; return 0, or -EINVAL for an unknown
	 * key or a bad value (start-up then fails naming the key). */
	int (*config_key)(void *app, const char *key, const char *value);
	/* After the whole file parsed: check required keys; 0 or -errno. */
	int (*config_done)(void *app);
	/* Privileged initialisation: open sockets, load modules. */
	int (*init)(void *app);
	const struct sandbox_policy *policy;
	/* Serve until *stop; return exit status. */
	int (*serve)(void *app, volatile int *stop);
	/* Optional: run before exit (after serve returns). */
	void (*fini)(void *app);
	void *app;
};

/* Command line: --config FILE (required), --check-config,
 * --selftest-forbidden CALL (install the sandbox, then make CALL: for tests). */
int daemon_main(const struct daemon_desc *d, int argc, char **argv);

/* Parse the config file for d's section only (keys of other sections are
 * ignored; an unknown key in d's section is an error), then config_done.
 * For one-shot modes (inkan-scm --init-token, inkan-sam --init-db). */
int daemon_load_config(const struct daemon_desc *d, const char *path);

/* Give a file created during init (a socket) to the user the daemon will
 * drop to (`user` in its section); no-op when none is configured. */
int daemon_chown_path(const char *path);

/* Parse "true"/"false"/"yes"/"no"/"1"/"0". */
int cfg_bool(const char *v, int *out);
/* Parse an unsigned integer in [min, max]. */
int cfg_uint(const char *v, unsigned long min, unsigned long max,
    unsigned long *out);
/* Parse a uid: a number or a user name. */
int cfg_uid(const char *v, unsigned *out);
/* strdup or die */
char *cfg_strdup(const char *v);

#endif
