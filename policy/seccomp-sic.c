/* seccomp-sic.c — the system calls inkan-sic may make once its sandbox is
 * installed, measured with strace -f while serving every CSC route (v1 and
 * v2, errors, 405/413, keep-alive, chunked bodies), losing and reconnecting
 * to the SAM, and stopping on SIGTERM. The TCP listening socket and
 * libmicrohttpd's threads exist before the sandbox (sic/main.c waits until
 * every worker has finished its start-up), so there is no bind, listen,
 * clone or prctl here, and socket() is for AF_UNIX only. It opens no file
 * after start-up (no open/openat at all): the TLS certificate, key and
 * client CA are read in init. Issue 4 added getrandom (GnuTLS handshakes,
 * measured with TLS 1.2/1.3, client certificates, the OAuth2 pages).
 * Sorted by name. */
#include "sandbox.h"

static const struct sandbox_rule rules[] = {
	{ "accept4", SB_ANY, "libmicrohttpd accepts HTTP connections" },
	{ "brk", SB_ANY, "malloc grows the main heap" },
	{ "clock_gettime", SB_ANY, "vDSO fallback: MHD timeouts, log timestamps" },
	{ "clock_nanosleep", SB_ANY, "serve() waits for the stop flag" },
	{ "close", SB_ANY, "end of HTTP connections and of SAM connections" },
	{ "connect", SB_ANY, "connect to the SAM's signer socket (AF_UNIX)" },
	{ "epoll_ctl", SB_ANY, "MHD registers connections with its epoll set" },
	{ "epoll_wait", SB_ANY, "MHD worker event loop" },
	{ "exit", SB_ANY, "MHD worker threads end at shutdown" },
	{ "exit_group", SB_ANY, "process exit" },
	{ "futex", SB_ANY, "mutexes and condition variables, thread join" },
	{ "getpid", SB_ANY, "log line prefix" },
	{ "getrandom", SB_ANY, "GnuTLS handshake nonces and keys; libsodium (CSRF cookies)" },
	{ "getuid", SB_ANY, "the skeleton logs the uid it runs as" },
	{ "madvise", SB_ANY, "malloc trimming, freed thread stacks, sodium_malloc" },
	{ "mlock", SB_ANY, "sodium_malloc locks pages holding a PIN or password" },
	{ "mmap", SB_NO_EXEC, "malloc of large blocks (IPC frames), sodium_malloc; never PROT_EXEC" },
	{ "mprotect", SB_NO_EXEC, "sodium_malloc guard pages, thread arena growth; never PROT_EXEC" },
	{ "munlock", SB_ANY, "sodium_free" },
	{ "munmap", SB_ANY, "free of large blocks, sodium_free, thread stacks" },
	{ "read", SB_ANY, "drain MHD's inter-thread eventfd" },
	{ "recvfrom", SB_ANY, "HTTP request bytes (MHD), SAM replies (recv)" },
	{ "restart_syscall", SB_ANY, "resume a sleep interrupted by SIGSTOP/SIGCONT" },
	{ "rt_sigprocmask", SB_ANY, "glibc masks signals around thread exit" },
	{ "rt_sigreturn", SB_ANY, "return from the SIGTERM/SIGINT handler" },
	{ "sendmsg", SB_ANY, "MHD sends response header and body together" },
	{ "sendto", SB_ANY, "MHD send(), requests to the SAM (send), READY/WATCHDOG to the service manager" },
	{ "setsockopt", SB_SOCKOPT_TCP, "MHD TCP_NODELAY/TCP_CORK; SAM socket buffers and timeouts" },
	{ "shutdown", SB_ANY, "MHD closes HTTP connections" },
	{ "socket", SB_SOCKET_UNIX, "reconnect to the SAM; AF_UNIX SOCK_SEQPACKET only" },
	{ "write", SB_ANY, "log lines to stderr, MHD's inter-thread eventfd" },
};

const struct sandbox_policy sandbox_policy_sic = {
	"inkan-sic", rules, sizeof rules / sizeof rules[0]
};
