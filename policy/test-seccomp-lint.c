/* test-seccomp-lint.c — keeps the seccomp tables in policy/ honest: each is
 * sorted by name without duplicates, every rule has a reason and a known
 * argument filter, every name is a system call libseccomp knows on this
 * architecture, the calls no inkan process may ever make are absent, and the
 * calls whose arguments decide what they reach carry their argument filter.
 * TAP output. */
#include <seccomp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sandbox.h"

static int n_test, n_fail;

__attribute__((format(printf, 2, 3)))
static void
check(bool cond, const char *fmt, ...)
{
	va_list ap;

	n_test++;
	if (!cond)
		n_fail++;
	printf("%s %d - ", cond ? "ok" : "not ok", n_test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Never, in any process: code execution, debugging other processes,
 * kernel and namespace administration, identity changes after start-up. */
static const char *const never[] = {
	"acct", "add_key", "bpf", "chroot", "clone", "clone3", "delete_module",
	"execve", "execveat", "finit_module", "fork", "init_module", "ioperm",
	"iopl", "kexec_file_load", "kexec_load", "keyctl", "mount",
	"mount_setattr", "move_mount", "name_to_handle_at", "open_by_handle_at",
	"open_tree", "perf_event_open", "personality", "pivot_root",
	"process_vm_readv", "process_vm_writev", "ptrace", "reboot",
	"request_key", "setgid", "setgroups", "setns", "setresgid",
	"setresuid", "setuid", "swapoff", "swapon", "umount2", "unshare",
	"uselib", "userfaultfd", "vfork", "bind", "listen", "fsopen", "fsmount",
	"fspick", "pidfd_getfd", "process_madvise", "kcmp",
};

/* Opening files: only inkan-scm (SoftHSM's token store) and inkan-sam (the
 * audit trail) may, confined by Landlock (fs_paths); inkan-sic never. */
static const char *const no_open[] = { "creat", "open", "openat", "openat2" };

struct must {
	const char *name;
	enum sandbox_arg arg[2];   /* any of these (SB_ANY = unused slot) */
};

/* Calls that may appear only with their argument filter. */
static const struct must filtered[] = {
	{ "fcntl", { SB_FCNTL, SB_FCNTL } },
	{ "getsockopt", { SB_PEERCRED, SB_PEERCRED } },
	{ "mmap", { SB_NO_EXEC, SB_NO_EXEC } },
	{ "mprotect", { SB_NO_EXEC, SB_NO_EXEC } },
	{ "setsockopt", { SB_SOCKOPT_UNIX, SB_SOCKOPT_TCP } },
	{ "socket", { SB_SOCKET_UNIX, SB_SOCKET_UNIX_FAIL } },
};

static const struct sandbox_rule *
find(const struct sandbox_policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_rules; i++)
		if (strcmp(p->rules[i].name, name) == 0)
			return &p->rules[i];
	return NULL;
}

static void
lint(const struct sandbox_policy *p, bool may_open, bool may_be_empty)
{
	char what[160];
	size_t i;

	check(p->n_rules > 0 || may_be_empty, "%s: table is not empty", p->process);
	for (i = 0; i < p->n_rules; i++) {
		const struct sandbox_rule *r = &p->rules[i];

		snprintf(what, sizeof what, "%s", r->name);
		if (i > 0)
			check(strcmp(p->rules[i - 1].name, r->name) < 0,
			    "%s: '%s' sorted after the previous name, no "
			    "duplicate", p->process, what);
		check(r->why != NULL && strlen(r->why) >= 8,
		    "%s: '%s' has a reason", p->process, what);
		check(seccomp_syscall_resolve_name(r->name) != __NR_SCMP_ERROR,
		    "%s: '%s' is a system call on this architecture",
		    p->process, what);
		check(r->arg >= SB_ANY && r->arg < SB_ARG_MAX,
		    "%s: '%s' has a known argument filter", p->process, what);
	}
	for (i = 0; i < sizeof never / sizeof never[0]; i++)
		check(find(p, never[i]) == NULL, "%s: never allows %s",
		    p->process, never[i]);
	if (!may_open)
		for (i = 0; i < sizeof no_open / sizeof no_open[0]; i++)
			check(find(p, no_open[i]) == NULL,
			    "%s: opens no file after start-up (%s)",
			    p->process, no_open[i]);
	for (i = 0; i < sizeof filtered / sizeof filtered[0]; i++) {
		const struct sandbox_rule *r = find(p, filtered[i].name);

		if (r == NULL)
			continue;
		check(r->arg == filtered[i].arg[0] || r->arg == filtered[i].arg[1],
		    "%s: %s carries its argument filter", p->process,
		    filtered[i].name);
	}
}

int
main(void)
{
	lint(&sandbox_policy_scm, true, false);
	/* issue 5: the audit trail starts a new file at rotation and reads
	 * itself back for the auditor (confine with fs_paths / Landlock). */
	lint(&sandbox_policy_sam, true, false);
	lint(&sandbox_policy_sic, false, false);
	/* Empty unless this is a sanitizer build. */
	lint(&sandbox_policy_sanitizer, false, true);
	check(find(&sandbox_policy_scm, "socket") == NULL ||
	    find(&sandbox_policy_scm, "socket")->arg == SB_SOCKET_UNIX_FAIL,
	    "%s: makes no socket at all", "inkan-scm");
	/* Its signing threads' arenas and stacks: pages given back, nothing
	 * else (sodium_malloc, whose advice inkan-sam needs, runs before). */
	check(find(&sandbox_policy_scm, "madvise") == NULL ||
	    find(&sandbox_policy_scm, "madvise")->arg == SB_MADV_DONTNEED,
	    "%s: madvise only with MADV_DONTNEED", "inkan-scm");
	printf("1..%d\n", n_test);
	return n_fail != 0;
}
