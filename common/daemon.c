/* daemon.c — the one start-up order for every inkan daemon:
 *   close inherited fds -> no core dumps, umask -> parse config -> init
 *   (sockets, PKCS#11, database) -> drop privileges -> NO_NEW_PRIVS +
 *   seccomp -> READY=1 -> serve -> stop.
 * Nothing a daemon does after the sandbox is installed can reopen what it
 * gave up before. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

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
	r = st->d->config_key(st->d->app, name, value);
	if (r < 0) {
		log_err("config [%s] %s: %s", section, name,
		    r == -EINVAL ? "unknown key or invalid value" : strerror(-r));
		st->error = r;
		return 0;
	}
	return 1;
}

static int
load_config(const struct daemon_desc *d, const char *path, char **user)
{
	struct cfg_state st = { d, NULL, 0 };
	int r;

	r = ini_parse(path, ini_cb, &st);
	if (r < 0) {
		log_err("cannot read config %s", path);
		free(st.user);
		return -ENOENT;
	}
	if (r > 0) {
		if (st.error == 0)
			log_err("config %s: syntax error at line %d", path, r);
		else
			log_err("config %s: error at line %d", path, r);
		free(st.user);
		return -EINVAL;
	}
	if (d->config_done != NULL && (r = d->config_done(d->app)) < 0) {
		free(st.user);
		return r;
	}
	if (user != NULL)
		*user = st.user;
	else
		free(st.user);
	return 0;
}

int
daemon_load_config(const struct daemon_desc *d, const char *path)
{
	return load_config(d, path, NULL);
}

/* user = NAME | UID[:GID] */
static int
resolve_user(const char *spec, uid_t *uidp, gid_t *gidp)
{
	uid_t uid;
	gid_t gid;
	char *end;

	if (spec[0] >= '0' && spec[0] <= '9') {
		unsigned long u = strtoul(spec, &end, 10), g = u;
		if (*end == ':')
			g = strtoul(end + 1, &end, 10);
		if (*end != '\0' || u == 0 || u > 0xfffffffe || g > 0xfffffffe)
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

static int
drop_privileges(const char *spec)
{
	uid_t uid;
	gid_t gid;
	int r;

	if ((r = resolve_user(spec, &uid, &gid)) < 0)
		return r;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -errno;
	/* Must be irreversible. */
	if (setuid(0) == 0 || seteuid(0) == 0)
		return -EPERM;
	/* setuid resets dumpable; set it again. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}

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
usage(const struct daemon_desc *d)
{
	fprintf(stderr, "usage: %s --config FILE [--check-config] "
	    "[--selftest-forbidden execve|socket-inet|ptrace|fork|mmap-exec]\n", d->name);
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
	struct rlimit nocore = { 0, 0 };
	struct sigaction sa;
	int check_only = 0, c, r;
	char *user = NULL;

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
	if (load_config(d, config, &user) < 0)
		return 1;
	if (check_only) {
		printf("%s: configuration OK\n", d->name);
		free(user);
		return 0;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;      /* no SA_RESTART: poll returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	drop_user = user;
	if ((r = d->init(d->app)) < 0) {
		log_err("initialisation failed: %s", strerror(-r));
		return 1;
	}
	if (user != NULL) {
		if ((r = drop_privileges(user)) < 0)
			fatal("cannot drop privileges to '%s': %s", user,
			    strerror(-r));
	} else if (geteuid() == 0) {
		log_warn("running as root: set 'user' in [%s] to drop privileges",
		    d->section);
	}
	if ((r = sandbox_install(d->policy)) < 0)
		fatal("cannot install the seccomp sandbox: %s", strerror(-r));
	if (selftest != NULL) {
		log_info("selftest: attempting forbidden call '%s'", selftest);
		r = sandbox_selftest(selftest);
		if (r == -EINVAL)
			fatal("unknown selftest '%s'", selftest);
		fatal("sandbox let forbidden call '%s' through", selftest);
	}
	sd_notify(0, "READY=1");
	log_info("started (pid %d, uid %u)", (int)getpid(), (unsigned)getuid());
	r = d->serve(d->app, &stop_flag);
	sd_notify(0, "STOPPING=1");
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
