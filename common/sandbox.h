/* sandbox.h — seccomp allowlists and the Landlock file-system wall. Each
 * process's table lives in policy/ as a sorted array of {syscall name,
 * argument filter, reason}; anything else kills the process (or, built with
 * -Dseccomp_mode=log, is logged by the kernel). policy/test-seccomp-lint.c
 * keeps the tables sorted, unique, explained and free of the calls no inkan
 * process may ever make. */
#ifndef INKAN_SANDBOX_H
#define INKAN_SANDBOX_H

#include <stddef.h>

/* Argument filters the table can ask for. */
enum sandbox_arg {
	SB_ANY = 0,
	SB_SOCKET_UNIX,         /* socket(): AF_UNIX, SOCK_SEQPACKET only */
	SB_NO_EXEC,             /* mmap()/mprotect(): PROT_EXEC must be clear */
	SB_FCNTL,               /* fcntl(): fd flags, status flags, record locks */
	SB_SOCKOPT_UNIX,        /* setsockopt(): SOL_SOCKET buffer sizes, timeouts */
	SB_SOCKOPT_TCP,         /* setsockopt(): the above + TCP_NODELAY/TCP_CORK */
	SB_PEERCRED,            /* getsockopt(): SOL_SOCKET SO_PEERCRED, SO_PEERGROUPS */
	SB_SOCKET_UNIX_FAIL,    /* socket(): AF_UNIX fails with EPERM instead of
				 * killing (a library's syslog); others kill */
	SB_MADV_DONTNEED,       /* madvise(): MADV_DONTNEED only */
	SB_ARG_MAX              /* (not a filter: the lint test's bound) */
};

struct sandbox_rule {
	const char *name;       /* syscall name as libseccomp knows it */
	enum sandbox_arg arg;
	const char *why;        /* one reason; the lint test requires it */
};

struct sandbox_policy {
	const char *process;
	const struct sandbox_rule *rules;
	size_t n_rules;
};

/* Tables, defined in policy/seccomp-*.c */
extern const struct sandbox_policy sandbox_policy_scm;
extern const struct sandbox_policy sandbox_policy_sam;
extern const struct sandbox_policy sandbox_policy_sic;
/* Added to every table in a sanitizer build only (policy/seccomp-sanitizer.c;
 * empty otherwise): what the ASan/UBSan runtime calls while a daemon serves. */
extern const struct sandbox_policy sandbox_policy_sanitizer;

/* PR_SET_NO_NEW_PRIVS, then load the filter for all threads (TSYNC).
 * Returns 0 or -errno; in a -Dseccomp_mode=log build only, 1 when the
 * kernel (or valgrind) has no seccomp(2): no filter, a warning. */
int sandbox_install(const struct sandbox_policy *p);

/* Landlock: from now on this process may open, create, truncate or unlink
 * files only beneath the n directories in paths (n == 0: nowhere). Already
 * open files are unaffected. -ENOSYS/-EOPNOTSUPP when the kernel has no
 * Landlock; else 0 or -errno. Sets NO_NEW_PRIVS. */
int sandbox_restrict_fs(const char *const *paths, size_t n);

/* For tests: after the sandbox is installed, perform a call it must forbid:
 * execve, socket-inet, socket-unix (a datagram socket), ptrace, fork,
 * mmap-exec, mprotect-exec, madvise-dontfork (inkan-scm only: the others
 * allow any madvise), setuid, open-read (/etc/passwd), write:PATH
 * (create PATH for writing). Returns 0 if the kernel let it through (a
 * sandbox failure), -errno if it refused with an error, -EINVAL for an
 * unknown name; a seccomp kill does not return. */
int sandbox_selftest(const char *what);

#endif
