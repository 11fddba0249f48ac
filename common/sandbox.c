/* sandbox.c — installs a process's seccomp allowlist (policy/seccomp-*.c).
 * Default action: kill the whole process (or log, when built with
 * -Dseccomp_mode=log to develop a policy). An unknown syscall name in a table
 * is an error, so a typo cannot silently drop a rule. */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inkan-config.h"
#include "sandbox.h"

int
sandbox_install(const struct sandbox_policy *p)
{
	scmp_filter_ctx ctx;
	size_t i;
	int r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	ctx = seccomp_init(INKAN_SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL)
		return -ENOMEM;
	/* All threads (inkan-sic starts libmicrohttpd's before this). */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (i = 0; r == 0 && i < p->n_rules; i++) {
		int nr = seccomp_syscall_resolve_name(p->rules[i].name);
		if (nr == __NR_SCMP_ERROR) {
			r = -ENOENT;
			break;
		}
		switch (p->rules[i].arg) {
		case SB_ANY:
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
			break;
		case SB_NO_EXEC:
			/* No new executable mappings once running: code
			 * injected into data cannot be made runnable. */
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
			    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
			break;
		case SB_SOCKET_UNIX:
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
			    SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
			break;
		}
	}
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

int
sandbox_selftest(const char *what)
{
	if (strcmp(what, "execve") == 0) {
		char *argv[] = { (char *)"/bin/true", NULL };
		char *envp[] = { NULL };
		execve(argv[0], argv, envp);
	} else if (strcmp(what, "socket-inet") == 0) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0)
			close(fd);
	} else if (strcmp(what, "ptrace") == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	} else if (strcmp(what, "mmap-exec") == 0) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED)
			munmap(p, 4096);
	} else if (strcmp(what, "fork") == 0) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
	} else {
		return -EINVAL;
	}
	return 0;
}
