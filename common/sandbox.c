/* sandbox.c — installs a process's seccomp allowlist (policy/seccomp-*.c)
 * and its Landlock file-system wall.
 * Default action: kill the whole process (or log, when built with
 * -Dseccomp_mode=log to develop a policy). An unknown syscall name in a table
 * is an error, so a typo cannot silently drop a rule. Argument filters narrow
 * the calls whose arguments decide what they can reach (socket families,
 * executable mappings, socket options, fcntl commands). */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "inkan-config.h"
#include "sandbox.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

/* One comparison (libseccomp's SCMP_CMP macros leave datum_b implicit,
 * which clang warns about). */
static struct scmp_arg_cmp
cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp c = { .arg = arg, .op = op, .datum_a = a,
	    .datum_b = b };

	return c;
}

/* Each rule added is OR'ed with the others of the same call: a call is
 * allowed when one of its rules matches. */
static int
allow(scmp_filter_ctx ctx, int nr, unsigned n, const struct scmp_arg_cmp *c)
{
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, c);
}

static int
allow_values(scmp_filter_ctx ctx, int nr, unsigned arg, const int *v, size_t n)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < n; i++) {
		struct scmp_arg_cmp c = cmp(arg, SCMP_CMP_EQ,
		    (scmp_datum_t)v[i], 0);
		r = allow(ctx, nr, 1, &c);
	}
	return r;
}

/* setsockopt(fd, level, name, ...) with level/name from a list. */
static int
allow_sockopts(scmp_filter_ctx ctx, int nr, int level, const int *names,
    size_t n)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < n; i++) {
		struct scmp_arg_cmp c[2] = {
			cmp(1, SCMP_CMP_EQ, (scmp_datum_t)level, 0),
			cmp(2, SCMP_CMP_EQ, (scmp_datum_t)names[i], 0),
		};
		r = allow(ctx, nr, 2, c);
	}
	return r;
}

static int
add_rule(scmp_filter_ctx ctx, const struct sandbox_rule *rule)
{
	/* SO_RCVTIMEO/SO_SNDTIMEO as glibc passes them on this ABI. */
	static const int sol_socket[] = {
		SO_RCVBUF, SO_SNDBUF, SO_RCVTIMEO, SO_SNDTIMEO,
	};
	static const int tcp[] = { TCP_NODELAY, TCP_CORK };
	static const int fcntl_cmds[] = {
		F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK, F_SETLK, F_SETLKW,
		F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW,
	};
	int nr = seccomp_syscall_resolve_name(rule->name), r;

	if (nr == __NR_SCMP_ERROR)
		return -ENOENT;
	switch (rule->arg) {
	case SB_ANY:
		return allow(ctx, nr, 0, NULL);
	case SB_NO_EXEC: {
		/* No new executable mappings once running: code injected into
		 * data cannot be made runnable. */
		struct scmp_arg_cmp c = cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
		return allow(ctx, nr, 1, &c);
	}
	case SB_SOCKET_UNIX: {
		/* The type argument carries SOCK_CLOEXEC/SOCK_NONBLOCK in its
		 * high bits; the low nibble is the type. */
		struct scmp_arg_cmp c[2] = {
			cmp(0, SCMP_CMP_EQ, AF_UNIX, 0),
			cmp(1, SCMP_CMP_MASKED_EQ, 0xf, SOCK_SEQPACKET),
		};
		return allow(ctx, nr, 2, c);
	}
	case SB_FCNTL:
		return allow_values(ctx, nr, 1, fcntl_cmds,
		    sizeof fcntl_cmds / sizeof fcntl_cmds[0]);
	case SB_SOCKOPT_TCP:
		r = allow_sockopts(ctx, nr, IPPROTO_TCP, tcp,
		    sizeof tcp / sizeof tcp[0]);
		if (r < 0)
			return r;
		__attribute__((fallthrough));
	case SB_SOCKOPT_UNIX:
		return allow_sockopts(ctx, nr, SOL_SOCKET, sol_socket,
		    sizeof sol_socket / sizeof sol_socket[0]);
	case SB_PEERCRED: {
		static const int peercred[] = { SO_PEERCRED, SO_PEERGROUPS };
		return allow_sockopts(ctx, nr, SOL_SOCKET, peercred,
		    sizeof peercred / sizeof peercred[0]);
	}
	case SB_MADV_DONTNEED: {
		/* Giving pages back is all glibc's allocator and thread exit
		 * need; no other advice (MADV_DONTFORK, _WIPEONFORK, _HWPOISON,
		 * merging...) may change how memory behaves. */
		struct scmp_arg_cmp c = cmp(2, SCMP_CMP_EQ, MADV_DONTNEED, 0);
		return allow(ctx, nr, 1, &c);
	}
	case SB_SOCKET_UNIX_FAIL: {
		struct scmp_arg_cmp c = cmp(0, SCMP_CMP_EQ, AF_UNIX, 0);
		return seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
		    &c);
	}
	case SB_ARG_MAX:
		break;
	}
	return -EINVAL;
}

static int
add_table(scmp_filter_ctx ctx, const struct sandbox_policy *p)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < p->n_rules; i++)
		r = add_rule(ctx, &p->rules[i]);
	return r;
}

int
sandbox_install(const struct sandbox_policy *p)
{
	scmp_filter_ctx ctx;
	int r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	ctx = seccomp_init(INKAN_SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL)
		/* Log mode needs seccomp(2); see below. */
		return INKAN_SECCOMP_LOG && seccomp_api_get() < 3 ? 1 : -ENOMEM;
	/* All threads (inkan-sic starts libmicrohttpd's before this). */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r == 0)
		r = add_table(ctx, p);
	if (r == 0)
		r = add_table(ctx, &sandbox_policy_sanitizer);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
#if INKAN_SECCOMP_LOG
	/* A log-mode build enforces nothing anyway; under valgrind (which
	 * does not implement seccomp(2)) it runs without a filter. */
	if (r == -ENOSYS)
		return 1;
#endif
	return r;
}

int
sandbox_restrict_fs(const char *const *paths, size_t n)
{
	struct landlock_ruleset_attr ra;
	struct landlock_path_beneath_attr pb;
	__u64 handled, granted;
	long abi;
	int rfd, fd, r = 0;
	size_t i;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0)
		return errno == ENOSYS || errno == EOPNOTSUPP ? -ENOSYS : -errno;
	handled = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
	    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
	    LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	    LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (abi >= 2)
		handled |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
	/* What a token store or a database needs: read, write, create and
	 * remove regular files; never execute, never make devices, links,
	 * sockets or directories. */
	granted = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
	    LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_REG;
	if (abi >= 3)
		granted |= LANDLOCK_ACCESS_FS_TRUNCATE;

	memset(&ra, 0, sizeof ra);
	ra.handled_access_fs = handled;
	rfd = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof ra, 0);
	if (rfd < 0)
		return -errno;
	for (i = 0; r == 0 && i < n; i++) {
		fd = open(paths[i], O_PATH | O_CLOEXEC | O_DIRECTORY);
		if (fd < 0) {
			r = -errno;
			break;
		}
		memset(&pb, 0, sizeof pb);
		pb.allowed_access = granted;
		pb.parent_fd = fd;
		if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH,
		    &pb, 0) < 0)
			r = -errno;
		close(fd);
	}
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno;
	if (r == 0 && syscall(SYS_landlock_restrict_self, rfd, 0) < 0)
		r = -errno;
	close(rfd);
	return r;
}

/* The selftest's forbidden calls. Each returns 0 if the call succeeded. */
int
sandbox_selftest(const char *what)
{
	int fd;

	if (strcmp(what, "execve") == 0) {
		char *argv[] = { (char *)"/bin/true", NULL };
		char *envp[] = { NULL };
		execve(argv[0], argv, envp);
		return -errno;
	} else if (strcmp(what, "socket-inet") == 0) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
	} else if (strcmp(what, "socket-unix") == 0) {
		/* Datagram: the one AF_UNIX type no table allows. */
		fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	} else if (strcmp(what, "ptrace") == 0) {
		return ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0 ? -errno : 0;
	} else if (strcmp(what, "mmap-exec") == 0) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		munmap(p, 4096);
		return 0;
	} else if (strcmp(what, "mprotect-exec") == 0) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		if (mprotect(p, 4096, PROT_READ | PROT_EXEC) < 0)
			return -errno;
		return 0;
	} else if (strcmp(what, "madvise-dontfork") == 0) {
		/* Advice other than MADV_DONTNEED (inkan-scm's filter). */
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		if (madvise(p, 4096, MADV_DONTFORK) < 0)
			return -errno;
		return 0;
	} else if (strcmp(what, "fork") == 0) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		return pid < 0 ? -errno : 0;
	} else if (strcmp(what, "setuid") == 0) {
		return setuid(0) < 0 ? -errno : 0;
	} else if (strcmp(what, "open-read") == 0) {
		fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	} else if (strncmp(what, "write:", 6) == 0 && what[6] == '/') {
		fd = open(what + 6, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);
	} else {
		return -EINVAL;
	}
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}
