/* seccomp-sanitizer.c — extra system calls every inkan daemon may make, but
 * only in a build with -Db_sanitize=address,undefined (INKAN_SANITIZE): what
 * the AddressSanitizer/UBSan runtime itself calls while a daemon serves and
 * exits. A release build compiles this table empty, so the kill-mode filter
 * of a production daemon is exactly its own table. Measured with strace -f
 * on a sanitizer build in seccomp log mode serving logins, authorisations
 * and signatures of every kind, then stopping. Run with
 * ASAN_OPTIONS=detect_leaks=0:symbolize=0 (./run-tests does): LeakSanitizer
 * needs ptrace and the symbolizer needs to open files and exec, which no
 * daemon may ever do; leaks are valgrind's job (./run-tests --valgrind).
 * Sorted by name; one reason each. */
#include "inkan-config.h"
#include "sandbox.h"

#if INKAN_SANITIZE
static const struct sandbox_rule rules[] = {
	{ "madvise", SB_ANY, "the ASan allocator gives freed pages back, with advice of its own (inkan-scm's own rule: MADV_DONTNEED only)" },
	{ "sched_yield", SB_ANY, "the sanitizer runtime's spin locks back off under contention" },
	{ "sigaltstack", SB_ANY, "ASan removes a thread's alternate signal stack when the thread ends" },
};
const struct sandbox_policy sandbox_policy_sanitizer = {
	"sanitizer", rules, sizeof rules / sizeof rules[0],
};
#else
const struct sandbox_policy sandbox_policy_sanitizer = { "sanitizer", NULL, 0 };
#endif
