/* sandbox.h — seccomp allowlists. Each process's table lives in policy/ as a
 * sorted array of {syscall name, reason}; anything else kills the process
 * (or, built with -Dseccomp_mode=log, is logged by the kernel). */
#ifndef INKAN_SANDBOX_H
#define INKAN_SANDBOX_H

#include <stddef.h>

/* Argument filters the table can ask for. */
enum sandbox_arg {
	SB_ANY = 0,
	SB_SOCKET_UNIX,         /* socket(): first argument must be AF_UNIX */
	SB_NO_EXEC,             /* mmap()/mprotect(): PROT_EXEC must be clear */
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

/* PR_SET_NO_NEW_PRIVS, then load the filter for all threads (TSYNC).
 * Returns 0 or -errno. */
int sandbox_install(const struct sandbox_policy *p);

/* For tests: after sandbox_install, perform a call the policy must forbid.
 * Returns only if the kernel let it through (a sandbox failure). */
int sandbox_selftest(const char *what);

#endif
