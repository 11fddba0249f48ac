/* daemon.h — the start-up skeleton every inkan daemon goes through, in one
 * fixed order: close inherited fds -> no core dumps -> parse config -> refuse
 * root without `user` -> open sockets / PKCS#11 (init; sockets may come from
 * systemd socket activation) -> drop privileges and every capability ->
 * NO_NEW_PRIVS + Landlock (fs_paths) -> start worker threads (start_threads)
 * -> seccomp (all threads) -> sd_notify READY=1 -> serve, with watchdog
 * pings. Each main() fills a daemon_desc and calls
 * daemon_main(). */
#ifndef INKAN_DAEMON_H
#define INKAN_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

#include "sandbox.h"

struct daemon_desc {
	const char *name;                 /* "inkan-scm" */
	const char *section;              /* config section: "scm" */
	/* One key of the daemon's section; return 0, or -EINVAL for an unknown
	 * key or a bad value (start-up then fails naming the key). The
	 * skeleton handles `user` and `fs_paths` itself. */
	int (*config_key)(void *app, const char *key, const char *value);
	/* After the whole file parsed: check required keys; 0 or -errno. */
	int (*config_done)(void *app);
	/* Privileged initialisation: open sockets, load modules. */
	int (*init)(void *app);
	/* Optional: initialisation that must run as the service user, after
	 * privileges are dropped and before the sandbox: whatever creates
	 * files the daemon must later own (e.g. objects in a token store). */
	int (*init_user)(void *app);
	/* Optional: start the daemon's own threads. Runs after the Landlock
	 * wall (a thread inherits it only when created after it) and before
	 * the seccomp filter (which then covers every thread: TSYNC), so the
	 * threads' start-up (clone, stacks, rseq) needs no rule of its own. */
	int (*start_threads)(void *app);
	const struct sandbox_policy *policy;
	/* Serve until *stop; return exit status. Call daemon_heartbeat() at
	 * least every second or so (the watchdog). */
	int (*serve)(void *app, volatile int *stop);
	/* Optional: run before exit (after serve returns). */
	void (*fini)(void *app);
	void *app;
};

/* Command line: --config FILE (required), --check-config,
 * --selftest-forbidden CALL (install the sandbox, then make CALL: for tests).
 * Exit status: 0 stopped cleanly, 1 failure, 2 usage; a selftest whose call
 * the sandbox refused with an error (Landlock) exits 4. */
int daemon_main(const struct daemon_desc *d, int argc, char **argv);

/* Parse the config file for d's section only (keys of other sections are
 * ignored; an unknown key in d's section is an error), then config_done.
 * For one-shot modes (inkan-scm --init-token, inkan-sam --init-db). */
int daemon_load_config(const struct daemon_desc *d, const char *path);
/* The same from a string (fuzzing, tests). Returns 0 or -errno. */
int daemon_load_config_string(const struct daemon_desc *d, const char *text);

/* A listening AF_UNIX SOCK_SEQPACKET socket for `path`: the one systemd
 * passed under FileDescriptorName=`name` (socket activation; it must be
 * bound to exactly `path`), else a new one made with ipc_listen(path, mode)
 * and handed to the daemon's user (daemon_chown_path). Call from init.
 * Returns the fd or -errno. */
int daemon_listen(const char *name, const char *path, mode_t mode);
/* fd came from systemd (its file mode and owner are the socket unit's). */
bool daemon_listen_activated(int fd);

/* Give a file created during init (a socket) to the user the daemon will
 * drop to (`user` in its section); no-op when none is configured. */
int daemon_chown_path(const char *path);

/* Path of systemd credential `name` (LoadCredential=) in
 * $CREDENTIALS_DIRECTORY; malloc'd into *out. -ENOENT when the service
 * manager passed no credentials, -EINVAL for a bad name. */
int daemon_credential_path(const char *name, char **out);

/* Watchdog: sends WATCHDOG=1 when half of WatchdogSec has passed since the
 * last ping. Cheap; call it from every turn of the serve loop. */
void daemon_heartbeat(void);

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
