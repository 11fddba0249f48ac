/* daemon.c — the one start-up order for every inkan daemon:
 *   close inherited fds -> no core dumps, umask -> parse config -> refuse
 *   root without `user` -> init (sockets, possibly socket-activated; PKCS#11;
 *   database) -> drop privileges, bounding set and every capability ->
 *   NO_NEW_PRIVS + Landlock -> the daemon's own threads -> seccomp (for all
 *   threads) -> READY=1 -> serve (watchdog pings) -> stop.
 * SECURITY: nothing a daemon does after the sandbox is installed can reopen
 * what it gave up before. A daemon never runs as root: started as root it
 * must be told which user to become, and refuses otherwise. The systemd
 * notification socket is created before the sandbox so that READY/WATCHDOG
 * need only sendto() afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "ipc.h"
#include "log.h"

#define FS_PATHS_MAX 8

static volatile int stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct cfg_state {
	const struct daemon_desc *d;
	char *user;
	char *fs_paths;           /* NULL: key absent */
	int error;
};

static int
ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_state *st = user;
	int r;

	if (strcmp(section, st->d->section) != 0)
		return 1;       /* other daemons' sections */
	if (strcmp(name, "user") == 0) {
		free(st->user);
		st->user = cfg_strdup(value);
		return 1;
	}
	if (strcmp(name, "fs_paths") == 0) {
		free(st->fs_paths);
		st->fs_paths = cfg_strdup(value);
		return 1;
	}
	r = st->d->config_key(st->d->app, name, value);
	if (r < 0) {
		log_err("config [%s] %s: %s", section, name,
		    r == -EINVAL ? "unknown key or invalid value" : strerror(-r));
		st->error = r;
		return 0;
	}
	return 1;
}

static void
cfg_state_free(struct cfg_state *st)
{
	free(st->user);
	free(st->fs_paths);
	st->user = st->fs_paths = NULL;
}

/* r: ini_parse's result. */
static int
finish_config(const struct daemon_desc *d, const char *what,
    struct cfg_state *st, int r)
{
	if (r < 0) {
		log_err("cannot read config %s", what);
		return -ENOENT;
	}
	if (r > 0) {
		if (st->error == 0)
			log_err("config %s: syntax error at line %d", what, r);
		else
			log_err("config %s: error at line %d", what, r);
		return -EINVAL;
	}
	if (d->config_done != NULL && (r = d->config_done(d->app)) < 0)
		return r;
	return 0;
}

int
daemon_load_config(const struct daemon_desc *d, const char *path)
{
	struct cfg_state st = { d, NULL, NULL, 0 };
	int r = finish_config(d, path, &st, ini_parse(path, ini_cb, &st));

	cfg_state_free(&st);
	return r;
}

int
daemon_load_config_string(const struct daemon_desc *d, const char *text)
{
	struct cfg_state st = { d, NULL, NULL, 0 };
	int r = finish_config(d, "(string)", &st,
	    ini_parse_string(text, ini_cb, &st));

	cfg_state_free(&st);
	return r;
}

/* user = NAME | UID[:GID] */
static int
resolve_user(const char *spec, uid_t *uidp, gid_t *gidp)
{
	uid_t uid;
	gid_t gid;
	char *end;

	if (spec[0] >= '0' && spec[0] <= '9') {
		unsigned long u, g;

		errno = 0;
		u = strtoul(spec, &end, 10);
		g = u;
		if (*end == ':') {
			if (end[1] < '0' || end[1] > '9')
				return -EINVAL;
			g = strtoul(end + 1, &end, 10);
		}
		if (errno != 0 || *end != '\0' || u == 0 || u > 0xfffffffe ||
		    g > 0xfffffffe)
			return -EINVAL;
		uid = (uid_t)u;
		gid = (gid_t)g;
	} else {
		struct passwd *pw = getpwnam(spec);
		if (pw == NULL)
			return -ENOENT;
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (uid == 0)
		return -EPERM;
	*uidp = uid;
	*gidp = gid;
	return 0;
}

/* The `user` of the running daemon, known once its config is parsed. */
static char *drop_user;

int
daemon_chown_path(const char *path)
{
	uid_t uid;
	gid_t gid;
	int r;

	if (drop_user == NULL)
		return 0;
	if ((r = resolve_user(drop_user, &uid, &gid)) < 0)
		return r;
	return chown(path, uid, gid) < 0 ? -errno : 0;
}

/* ---- capabilities -------------------------------------------------------- */

/* Empty the bounding set (needs CAP_SETPCAP: root only), so that nothing
 * run later could regain a capability. */
static int
bounding_clear(void)
{
	int c;

	for (c = 0; c < 64; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	return 0;
}

/* Empty the permitted, effective, inheritable and ambient sets (always
 * allowed: it only gives up), then check that nothing is left. */
static int
caps_clear(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct cd[2];
	int c;

	bool any = false;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return -errno;
	memset(cd, 0, sizeof cd);
	if (syscall(SYS_capget, &h, cd) < 0)
		return -errno;
	for (c = 0; c < 2; c++)
		any |= cd[c].effective || cd[c].permitted || cd[c].inheritable;
	if (!any)
		return 0;       /* the usual case; capset may be filtered */
	memset(cd, 0, sizeof cd);
	if (syscall(SYS_capset, &h, cd) < 0)
		return -errno;
	memset(cd, 0, sizeof cd);
	if (syscall(SYS_capget, &h, cd) < 0)
		return -errno;
	for (c = 0; c < 2; c++)
		if (cd[c].effective || cd[c].permitted || cd[c].inheritable)
			return -EPERM;
	return 0;
}

static int
drop_privileges(const char *spec)
{
	uid_t uid;
	gid_t gid;
	int r;

	if ((r = resolve_user(spec, &uid, &gid)) < 0)
		return r;
	if (getuid() != 0 && geteuid() != 0) {
		/* Started as the service user already (systemd User=): fine
		 * when it is the configured one; anything else is an error. */
		if (getuid() != uid || geteuid() != uid)
			return -EPERM;
		return caps_clear();
	}
	if (setgroups(0, NULL) < 0)
		return -errno;
	/* While CAP_SETPCAP is still ours. */
	if ((r = bounding_clear()) < 0)
		return r;
	if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	/* Must be irreversible. */
	if (setuid(0) == 0 || seteuid(0) == 0)
		return -EPERM;
	if ((r = caps_clear()) < 0)
		return r;
	/* setuid resets dumpable; set it again. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}

/* ---- inherited fds, socket activation ----------------------------------- */

static unsigned n_listen;         /* fds 3..3+n_listen-1 from systemd */
static char **listen_names;
static bool listen_used[16];

static void
close_inherited(void)
{
	unsigned keep = 0;
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");

	/* systemd socket activation passes fds 3.. for this pid only. */
	if (pid != NULL && n != NULL && strtol(pid, NULL, 10) == getpid())
		keep = (unsigned)strtoul(n, NULL, 10);
	if (keep > 16)
		keep = 16;
	close_range(3 + keep, ~0U, 0);
}

static void
listen_collect(void)
{
	int n = sd_listen_fds_with_names(1, &listen_names);

	if (n < 0) {
		log_warn("ignoring malformed socket activation variables: %s",
		    strerror(-n));
		n = 0;
	}
	n_listen = n > 16 ? 16 : (unsigned)n;
}

int
daemon_listen(const char *name, const char *path, mode_t mode)
{
	unsigned i;
	int fd, r;

	for (i = 0; i < n_listen; i++) {
		if (listen_used[i] || listen_names == NULL ||
		    listen_names[i] == NULL || strcmp(listen_names[i], name) != 0)
			continue;
		fd = SD_LISTEN_FDS_START + (int)i;
		/* Peers find the socket by the configured path: a socket
		 * bound elsewhere is a configuration error, not a fallback. */
		r = sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, path, 0);
		if (r <= 0) {
			log_err("socket activation: fd %d (%s) is not a "
			    "listening SOCK_SEQPACKET socket bound to %s", fd,
			    name, path);
			return r < 0 ? r : -ENOTSOCK;
		}
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
			return -errno;
		listen_used[i] = true;
		log_info("%s: socket-activated listener %s", name, path);
		return fd;
	}
	fd = ipc_listen(path, mode);
	if (fd < 0)
		return fd;
	if ((r = daemon_chown_path(path)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

bool
daemon_listen_activated(int fd)
{
	return fd >= SD_LISTEN_FDS_START &&
	    fd < SD_LISTEN_FDS_START + (int)n_listen;
}

/* After init: a passed socket nobody claimed is closed, not kept. */
static void
listen_finish(void)
{
	unsigned i;

	for (i = 0; i < n_listen; i++) {
		if (!listen_used[i]) {
			log_warn("socket activation: closing unused fd %d (%s)",
			    SD_LISTEN_FDS_START + (int)i,
			    listen_names && listen_names[i] ? listen_names[i] :
			    "?");
			close(SD_LISTEN_FDS_START + (int)i);
		}
		if (listen_names)
			free(listen_names[i]);
	}
	free(listen_names);
	listen_names = NULL;
}

int
daemon_credential_path(const char *name, char **out)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	size_t i, n = strlen(name);

	*out = NULL;
	if (n == 0 || n > 255 || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return -EINVAL;
	}
	if (dir == NULL || dir[0] != '/') {
		log_err("credential '%s': CREDENTIALS_DIRECTORY is not set "
		    "(systemd LoadCredential=)", name);
		return -ENOENT;
	}
	if (asprintf(out, "%s/%s", dir, name) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* ---- systemd notification and watchdog ----------------------------------- */

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_len;
static uint64_t watchdog_usec, watchdog_last;

/* Before the sandbox: resolve $NOTIFY_SOCKET and make the datagram socket.
 * Not connected: each sendto() looks the path up again, so a re-executed
 * service manager (new socket at the same path) still hears us. */
static void
notify_open(void)
{
	const char *e = getenv("NOTIFY_SOCKET");
	uint64_t usec = 0;
	size_t n;

	if (sd_watchdog_enabled(1, &usec) > 0)
		watchdog_usec = usec;
	if (e == NULL || e[0] == '\0')
		return;
	n = strlen(e);
	if ((e[0] != '/' && e[0] != '@') || n >= sizeof notify_addr.sun_path) {
		log_warn("ignoring unusable NOTIFY_SOCKET");
		unsetenv("NOTIFY_SOCKET");
		return;
	}
	memset(&notify_addr, 0, sizeof notify_addr);
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, e, n);
	if (e[0] == '@')
		notify_addr.sun_path[0] = '\0';     /* abstract namespace */
	notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (e[0] == '/'));
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (notify_fd < 0)
		log_warn("cannot create the notification socket: %s",
		    strerror(errno));
	unsetenv("NOTIFY_SOCKET");
}

static void
notify(const char *msg)
{
	if (notify_fd < 0)
		return;
	/* Never block the serve loop on a full service-manager queue. */
	(void)sendto(notify_fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT,
	    (const struct sockaddr *)&notify_addr, notify_len);
}

void
daemon_heartbeat(void)
{
	struct timespec ts;
	uint64_t now;

	if (watchdog_usec == 0 || notify_fd < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	/* A quarter of the period: the loops wake at least every 0.5 s, so
	 * a ping is never later than half the period for WatchdogSec >= 2s. */
	if (watchdog_last != 0 && now - watchdog_last < watchdog_usec / 4)
		return;
	watchdog_last = now;
	notify("WATCHDOG=1");
}

/* ---- Landlock ------------------------------------------------------------- */

/* fs_paths = DIR [DIR...]: after start-up the daemon may touch files only
 * beneath these; empty: no file at all. */
static int
apply_fs_paths(const struct daemon_desc *d, const char *spec)
{
	char *copy = cfg_strdup(spec), *save = NULL, *tok;
	const char *paths[FS_PATHS_MAX];
	size_t n = 0;
	int r;

	for (tok = strtok_r(copy, " \t,", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t,", &save)) {
		if (tok[0] != '/' || n == FS_PATHS_MAX) {
			log_err("config [%s] fs_paths: at most %d absolute "
			    "directories", d->section, FS_PATHS_MAX);
			free(copy);
			return -EINVAL;
		}
		paths[n++] = tok;
	}
	r = sandbox_restrict_fs(paths, n);
	if (r == -ENOSYS || r == -EOPNOTSUPP) {
		log_warn("Landlock is not available in this kernel: fs_paths "
		    "not enforced (seccomp and the service manager still are)");
		r = 0;
	} else if (r < 0) {
		log_err("cannot restrict the file system to fs_paths: %s",
		    strerror(-r));
	} else {
		log_info("file system restricted to: %s",
		    n ? spec : "(nothing)");
	}
	free(copy);
	return r;
}

/* ---- main --------------------------------------------------------------- */

static void
usage(const struct daemon_desc *d)
{
	fprintf(stderr, "usage: %s --config FILE [--check-config] "
	    "[--selftest-forbidden CALL]\n"
	    "  CALL: execve socket-inet socket-unix ptrace fork mmap-exec "
	    "mprotect-exec\n"
	    "        madvise-dontfork (inkan-scm)\n"
	    "        setuid open-read write:PATH\n", d->name);
}

int
daemon_main(const struct daemon_desc *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "selftest-forbidden", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *selftest = NULL;
	struct cfg_state st = { d, NULL, NULL, 0 };
	struct rlimit nocore = { 0, 0 };
	struct sigaction sa;
	int check_only = 0, c, r;
	bool root;

	close_inherited();
	log_init(d->name);
	/* Secrets live in this process's memory: no core files, no ptrace
	 * attach by same-uid processes. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &nocore);
	umask(0077);

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'k': check_only = 1; break;
		case 's': selftest = optarg; break;
		case 'h': usage(d); return 0;
		default: usage(d); return 2;
		}
	}
	if (config == NULL || optind != argc) {
		usage(d);
		return 2;
	}
	r = finish_config(d, config, &st, ini_parse(config, ini_cb, &st));
	if (r < 0) {
		cfg_state_free(&st);
		return 1;
	}
	root = getuid() == 0 || geteuid() == 0;
	if (check_only) {
		printf("%s: configuration OK\n", d->name);
		if (root && st.user == NULL)
			printf("%s: note: started as root it would refuse to "
			    "run: set 'user' in [%s]\n", d->name, d->section);
		cfg_state_free(&st);
		return 0;
	}
	if (root && st.user == NULL) {
		log_err("refusing to run as root: set 'user' in [%s] (or start "
		    "as the service user, e.g. systemd User=)", d->section);
		cfg_state_free(&st);
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;      /* no SA_RESTART: poll returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	notify_open();
	listen_collect();
	drop_user = st.user;
	if ((r = d->init(d->app)) < 0) {
		log_err("initialisation failed: %s", strerror(-r));
		return 1;
	}
	listen_finish();
	if (st.user != NULL)
		r = drop_privileges(st.user);
	else
		r = caps_clear();
	if (r < 0)
		fatal("cannot drop privileges%s%s: %s", st.user ? " to " : "",
		    st.user ? st.user : "", strerror(-r));
	if (d->init_user != NULL && (r = d->init_user(d->app)) < 0) {
		log_err("initialisation failed: %s", strerror(-r));
		return 1;
	}
	if (st.fs_paths != NULL) {
		r = apply_fs_paths(d, st.fs_paths);
		free(st.fs_paths);
		st.fs_paths = NULL;
		if (r < 0)
			return 1;
	}
	/* After Landlock, which binds only the calling thread and the threads
	 * it creates later; before seccomp, whose TSYNC covers them all. */
	if (d->start_threads != NULL && (r = d->start_threads(d->app)) < 0) {
		log_err("cannot start threads: %s", strerror(-r));
		return 1;
	}
	if ((r = sandbox_install(d->policy)) < 0)
		fatal("cannot install the seccomp sandbox: %s", strerror(-r));
	if (r == 1)
		log_warn("seccomp(2) is not available: running WITHOUT a filter "
		    "(log-mode build)");
	if (selftest != NULL) {
		log_info("selftest: attempting forbidden call '%s'", selftest);
		r = sandbox_selftest(selftest);
		if (r == -EINVAL)
			fatal("unknown selftest '%s'", selftest);
		if (r < 0) {
			log_info("selftest: '%s' refused: %s", selftest,
			    strerror(-r));
			return 4;
		}
		fatal("sandbox let forbidden call '%s' through", selftest);
	}
	notify("READY=1\nSTATUS=serving");
	log_info("started (pid %d, uid %u)", (int)getpid(), (unsigned)getuid());
	daemon_heartbeat();
	r = d->serve(d->app, &stop_flag);
	notify("STOPPING=1");
	if (d->fini != NULL)
		d->fini(d->app);
	log_info("stopped");
	return r < 0 ? 1 : r;
}

int
cfg_bool(const char *v, int *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

int
cfg_uint(const char *v, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long n;
	char *end;

	if (v[0] < '0' || v[0] > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -EINVAL;
	*out = n;
	return 0;
}

int
cfg_uid(const char *v, unsigned *out)
{
	unsigned long n;
	struct passwd *pw;

	if (cfg_uint(v, 0, 0xfffffffe, &n) == 0) {
		*out = (unsigned)n;
		return 0;
	}
	pw = getpwnam(v);
	if (pw == NULL)
		return -EINVAL;
	*out = pw->pw_uid;
	return 0;
}

char *
cfg_strdup(const char *v)
{
	char *s = strdup(v);

	if (s == NULL)
		fatal("out of memory");
	return s;
}
