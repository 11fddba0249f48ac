#!/usr/bin/env bash
# t-sandbox.sh — issue 2 test (f): each daemon runs under its seccomp
# allowlist with NO_NEW_PRIVS, and a call outside the allowlist kills it.
. "$INKAN_SRC/tests/integration/lib.sh"
t_start

for d in inkan-scm inkan-sam inkan-sic; do
  pid=$(inkan_pid $d)
  is "$d is in seccomp filter mode" "$(awk '/^Seccomp:/{print $2}' /proc/$pid/status)" 2
  is "$d has NoNewPrivs" "$(awk '/^NoNewPrivs:/{print $2}' /proc/$pid/status)" 1
  is "$d has a zero core-file limit" "$(awk '/^Max core file size/{print $5}' /proc/$pid/limits)" 0
  if inkan_separate_uids; then
    ok "$d runs without root" test "$(awk '/^Uid:/{print $2}' /proc/$pid/status)" -ne 0
    # A non-dumpable process's /proc files belong to root, not to its uid.
    is "$d is not dumpable" "$(stat -c %u /proc/$pid/environ)" 0
  fi
done
inkan_stop

# The selftest mode runs the daemon's full initialisation, installs its real
# filter and then makes one forbidden call: the kernel must kill it (SIGSYS).
for d in inkan-scm inkan-sam inkan-sic; do
  for call in execve socket-inet ptrace fork mmap-exec; do
    "$(inkan_bin $d)" --config "$INKAN_STATE/inkan.conf" --selftest-forbidden $call \
      >>"$INKAN_STATE/log/selftest.log" 2>&1
    rc=$?
    is "$d: forbidden $call kills the process with SIGSYS" "$rc" $((128 + 31))
  done
done
ok "no selftest reported a call getting through" sh -c "! grep -q 'let forbidden call' '$INKAN_STATE/log/selftest.log'"
done_testing
