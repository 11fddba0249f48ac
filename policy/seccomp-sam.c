/* seccomp-sam.c — the system calls inkan-sam may make once its sandbox is in
 * place: serve inkan-sic and inkanctl over the already-open AF_UNIX sockets,
 * (re)connect to inkan-scm, run Argon2id and libsodium's guarded memory, keep
 * its SQLite database (WAL: shm mmap, fcntl locks, pread/pwrite, fdatasync;
 * checkpoint truncation and -wal/-shm removal at close), log to stderr, tell
 * systemd it is ready and alive (sendto on a socket made before the
 * sandbox), exit. Measured with strace -f while serving login, list, info,
 * authorize, sign (all key types and algorithms, SCM down and restarted) and
 * every admin call, with NOTIFY_SOCKET and WATCHDOG_USEC set. SQLite's PRNG
 * seeding and first WAL directory sync happen in init (sam/store.c), so the
 * database opens no file after the sandbox; the audit trail (issue 5) does:
 * openat/read/getdents64 to start a file at rotation, write audit-key.pem
 * and read the trail back for the auditor (Landlock fs_paths, when set,
 * confines them to the state directories). Not here, on purpose: open,
 * execve, fork/clone, ptrace, bind/listen, and socket() for anything but
 * AF_UNIX. mprotect stays: sodium_malloc's guard pages need it. Sorted by
 * name; one reason each. */
#include "sandbox.h"

static const struct sandbox_rule rules[] = {
	{ "accept4", SB_ANY, "accept inkan-sic and inkanctl connections" },
	{ "brk", SB_ANY, "malloc: grow/shrink the main heap" },
	{ "clock_gettime", SB_ANY, "token/SAD expiry, TOTP time, log stamps (vDSO fallback)" },
	{ "clock_nanosleep", SB_ANY, "SQLite busy handler waits for a lock held elsewhere" },
	{ "close", SB_ANY, "close connections; the database at exit" },
	{ "connect", SB_ANY, "(re)connect to inkan-scm" },
	{ "exit_group", SB_ANY, "process exit (return from main, fatal errors)" },
	{ "fcntl", SB_FCNTL, "SQLite POSIX locks on the database and -shm file" },
	{ "fdatasync", SB_ANY, "SQLite synchronous=FULL commits and checkpoints" },
	{ "fstat", SB_ANY, "SQLite checks file sizes (older libc path)" },
	{ "fsync", SB_ANY, "SQLite sync fallback" },
	{ "ftruncate", SB_ANY, "SQLite checkpoint truncates the database / WAL" },
	{ "futex", SB_ANY, "OpenSSL run-once locks, exit handlers" },
	{ "getdents64", SB_ANY, "audit trail: list audit_dir to verify or show it (auditor socket)" },
	{ "geteuid", SB_ANY, "SQLite opening a second connection (backup snapshot, restore marks)" },
	{ "getpid", SB_ANY, "SQLite fork detection; log lines" },
	{ "getrandom", SB_ANY, "libsodium randombytes: tokens, SADs, key ids, salts" },
	{ "getsockopt", SB_PEERCRED, "SO_PEERCRED (and SO_PEERGROUPS) of each connection" },
	{ "getuid", SB_ANY, "default peer uid; start-up log" },
	{ "madvise", SB_ANY, "sodium_free/malloc give pages back" },
	{ "mlock", SB_ANY, "sodium_malloc keeps secrets out of swap" },
	{ "mmap", SB_NO_EXEC, "malloc of large blocks, Argon2id memory, SQLite -shm; never PROT_EXEC" },
	{ "mprotect", SB_NO_EXEC, "sodium_malloc guard pages; never PROT_EXEC" },
	{ "mremap", SB_ANY, "realloc of large blocks" },
	{ "munlock", SB_ANY, "sodium_free" },
	{ "munmap", SB_ANY, "free of large blocks, Argon2id memory, -shm at close" },
	{ "newfstatat", SB_ANY, "SQLite checks file sizes and identity" },
	{ "openat", SB_ANY, "audit trail: create the next file at rotation, read files back for the auditor, write audit-key.pem" },
	{ "poll", SB_ANY, "the request loop" },
	{ "pread64", SB_ANY, "SQLite reads database and WAL pages" },
	{ "pwrite64", SB_ANY, "SQLite writes WAL frames and checkpoints" },
	{ "read", SB_ANY, "audit trail: read files back for the auditor (verify, show)" },
	{ "recvfrom", SB_ANY, "receive request frames and SCM replies" },
	{ "recvmsg", SB_ANY, "receive frames (alternative libc path)" },
	{ "restart_syscall", SB_ANY, "resume a sleep interrupted by SIGSTOP/SIGCONT (a debugger, a job stop)" },
	{ "rt_sigreturn", SB_ANY, "return from the SIGTERM/SIGINT handler" },
	{ "sendto", SB_ANY, "send reply frames and SCM requests; READY/WATCHDOG to the service manager" },
	{ "setsockopt", SB_SOCKOPT_UNIX, "frame buffer sizes and timeouts of the SCM connection" },
	{ "socket", SB_SOCKET_UNIX, "new connection to inkan-scm (AF_UNIX SOCK_SEQPACKET only)" },
	{ "sysinfo", SB_ANY, "glibc qsort() sizes its buffer by physical memory (sorting 256 digests)" },
	{ "unlink", SB_ANY, "SQLite removes -wal and -shm at close" },
	{ "write", SB_ANY, "log lines to stderr" },
};

const struct sandbox_policy sandbox_policy_sam = {
	"inkan-sam", rules, sizeof rules / sizeof rules[0],
};
