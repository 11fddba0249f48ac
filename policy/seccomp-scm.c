/* seccomp-scm.c — the system calls inkan-scm may make once its sandbox is in
 * place: serve the SAM over the already-open AF_UNIX socket, let SoftHSMv2
 * read, lock, rewrite, create and delete its token files, log to stderr, tell
 * systemd it is ready and alive (the notification socket is made before the
 * sandbox: only sendto), exit. Measured with strace -f on a real SoftHSMv2
 * token while serving keygen/pubkey/sign/sign-csr/destroy for every key type,
 * with NOTIFY_SOCKET and WATCHDOG_USEC set. The signing threads (scm/pool.c,
 * [scm] sign_threads) are started before the filter, so clone, rseq,
 * set_robust_list and the like are not here; what they need afterwards
 * (found with a -Dseccomp_mode=log build and the kernel audit log over
 * t-sign, t-backup and t-fault) is: futex, their own malloc arenas
 * (mprotect, never PROT_EXEC; madvise MADV_DONTNEED only) and, at stop,
 * rt_sigprocmask and exit. Not here, on purpose: a working socket() (it
 * makes no connection), execve, fork/clone, ptrace, an executable mprotect,
 * connect/bind/listen, mkdir/rename. Which files openat may reach is
 * Landlock's job (fs_paths). Sorted by name; one reason each. */
#include "sandbox.h"

static const struct sandbox_rule rules[] = {
	{ "accept4", SB_ANY, "accept the SAM's connections on the crypto socket" },
	{ "brk", SB_ANY, "malloc: grow/shrink the main heap" },
	{ "clock_gettime", SB_ANY, "log timestamps, OpenSSL/SoftHSM clocks (vDSO fallback)" },
	{ "close", SB_ANY, "close connections and SoftHSM token/lock files" },
	{ "exit", SB_ANY, "a signing thread ends (joined at stop)" },
	{ "exit_group", SB_ANY, "process exit (return from main, fatal errors)" },
	{ "fcntl", SB_FCNTL, "SoftHSM token file locks (F_SETLKW/F_UNLCK), F_GETFL" },
	{ "ftruncate", SB_ANY, "SoftHSM rewrites token and object files in place" },
	{ "futex", SB_ANY, "glibc/OpenSSL locks (SoftHSM OS locking, exit handlers)" },
	{ "getdents64", SB_ANY, "SoftHSM rescans the token directory for objects" },
	{ "getpid", SB_ANY, "log lines; OpenSSL fork detection" },
	{ "getrandom", SB_ANY, "OpenSSL DRBG reseeding (ECDSA nonces, PSS salts)" },
	{ "getsockopt", SB_PEERCRED, "SO_PEERCRED of each connection" },
	{ "getuid", SB_ANY, "start-up log line" },
	{ "lseek", SB_ANY, "SoftHSM reads/rewrites object files from the start" },
	{ "madvise", SB_MADV_DONTNEED, "glibc gives back a signing thread's arena pages and, at its end, its stack; MADV_DONTNEED only" },
	{ "mmap", SB_NO_EXEC, "malloc of large blocks (frames, signature buffers); never PROT_EXEC" },
	{ "mprotect", SB_NO_EXEC, "glibc grows a signing thread's malloc arena (PROT_NONE reserve made read/write); never PROT_EXEC" },
	{ "mremap", SB_ANY, "realloc of large blocks" },
	{ "munmap", SB_ANY, "free of large blocks; C_Finalize at exit" },
	{ "newfstatat", SB_ANY, "SoftHSM checks token/object files; stdio fstat" },
	{ "openat", SB_ANY, "SoftHSM opens and creates token object and lock files (Landlock: only beneath fs_paths)" },
	{ "poll", SB_ANY, "the request loop" },
	{ "read", SB_ANY, "SoftHSM reads token and object files" },
	{ "recvfrom", SB_ANY, "receive request frames" },
	{ "restart_syscall", SB_ANY, "resume a sleep interrupted by SIGSTOP/SIGCONT (a debugger, a job stop)" },
	{ "rt_sigprocmask", SB_ANY, "glibc blocks signals in a signing thread as it ends (joined at stop)" },
	{ "rt_sigreturn", SB_ANY, "return from the SIGTERM/SIGINT handler" },
	{ "sendto", SB_ANY, "send reply frames; READY/WATCHDOG/STOPPING to the service manager" },
	{ "socket", SB_SOCKET_UNIX_FAIL, "SoftHSM syslog()s its errors: AF_UNIX fails (EPERM) rather than killing; other families kill" },
	{ "unlink", SB_ANY, "SoftHSM deletes object and lock files on C_DestroyObject" },
	{ "write", SB_ANY, "log lines to stderr; SoftHSM writes token and object files" },
};

const struct sandbox_policy sandbox_policy_scm = {
	"inkan-scm", rules, sizeof rules / sizeof rules[0],
};
