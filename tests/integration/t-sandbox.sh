#!/usr/bin/env bash
# t-sandbox.sh — issues 2 (f) and 6: each daemon runs under its seccomp
# allowlist with NO_NEW_PRIVS, without a capability, a core file or a ptrace
# handle, and a call outside the allowlist kills it; inkan-scm and inkan-sam,
# which must open files (token store, audit trail), are held to their state
# directories by Landlock (fs_paths).
. "$INKAN_SRC/tests/integration/lib.sh"
t_start

for d in inkan-scm inkan-sam inkan-sic; do
  pid=$(inkan_pid $d)
  is "$d is in seccomp filter mode" "$(awk '/^Seccomp:/{print $2}' /proc/$pid/status)" 2
  is "$d has NoNewPrivs" "$(awk '/^NoNewPrivs:/{print $2}' /proc/$pid/status)" 1
  # every thread (libmicrohttpd's workers, the SCM's signing threads): the
  # filter is installed with TSYNC, which also sets NO_NEW_PRIVS on each
  tasks=$(ls /proc/$pid/task | wc -l) bad=0
  for t in /proc/$pid/task/*; do
    [ "$(awk '/^Seccomp:/{print $2}' $t/status)/$(awk '/^NoNewPrivs:/{print $2}' $t/status)" = 2/1 ] || bad=$((bad + 1))
  done
  is "$d: all its $tasks threads are under the filter with NoNewPrivs" "$bad" 0
  is "$d has a zero core-file limit" "$(awk '/^Max core file size/{print $5}' /proc/$pid/limits)" 0
  for set in CapEff CapPrm CapInh CapAmb; do
    is "$d has no capability ($set)" "$(awk "/^$set:/{print \$2}" /proc/$pid/status)" 0000000000000000
  done
  if inkan_is_root; then
    ok "$d runs without root" test "$(awk '/^Uid:/{print $2}' /proc/$pid/status)" -ne 0
    is "$d emptied its bounding set" "$(awk '/^CapBnd:/{print $2}' /proc/$pid/status)" 0000000000000000
    # A non-dumpable process's /proc files belong to root, not to its uid.
    is "$d is not dumpable" "$(stat -c %u /proc/$pid/environ)" 0
  fi
done
landlock=1
grep -q 'Landlock is not available' "$INKAN_STATE/log/inkan-scm.log" && landlock=0
if [ $landlock = 1 ]; then
  ok "inkan-sic confined to no file at all" grep -q 'file system restricted to: (nothing)' "$INKAN_STATE/log/inkan-sic.log"
else
  T_N=$((T_N + 1)); echo "ok $T_N - # SKIP no Landlock in this kernel"
fi
inkan_stop

# The selftest mode runs the daemon's full initialisation, installs its real
# filter and then makes one forbidden call: the kernel must kill it (SIGSYS).
outside=$T_TMP/outside-the-state-dir
for d in inkan-scm inkan-sam inkan-sic; do
  for call in execve socket-inet socket-unix ptrace fork mmap-exec mprotect-exec setuid \
              open-read "write:$outside"; do
    "$(inkan_bin $d)" --config "$INKAN_STATE/inkan.conf" --selftest-forbidden "$call" \
      >>"$INKAN_STATE/log/selftest.log" 2>&1
    rc=$?
    case $d:$call in
      inkan-scm:open-read|inkan-scm:write:*|inkan-sam:open-read|inkan-sam:write:*)
        # SoftHSM's token store and the SAM's audit trail need openat:
        # Landlock, not seccomp, refuses (EACCES).
        if [ $landlock = 1 ]; then
          is "$d: $call outside fs_paths is refused by Landlock" "$rc" 4
        else
          T_N=$((T_N + 1)); echo "ok $T_N - # SKIP $d: $call (no Landlock in this kernel)"
        fi ;;
      inkan-scm:socket-unix)
        # SoftHSM's syslog() on an error path: refused (EPERM), not killed.
        is "$d: an AF_UNIX socket is refused" "$rc" 4 ;;
      *) is "$d: forbidden ${call%%:*} kills the process with SIGSYS" "$rc" $((128 + 31)) ;;
    esac
  done
done
# inkan-scm's signing threads may give pages back (madvise MADV_DONTNEED)
# and nothing else. A sanitizer build adds any madvise for the ASan runtime.
if ldd "$(inkan_bin inkan-scm)" 2>/dev/null | grep -q libasan; then
  T_N=$((T_N + 1)); echo "ok $T_N - # SKIP inkan-scm: madvise-dontfork (sanitizer build: the ASan runtime's madvise rule)"
else
  "$(inkan_bin inkan-scm)" --config "$INKAN_STATE/inkan.conf" --selftest-forbidden madvise-dontfork \
    >>"$INKAN_STATE/log/selftest.log" 2>&1
  is "inkan-scm: madvise other than MADV_DONTNEED kills the process with SIGSYS" "$?" $((128 + 31))
fi
ok "no file was written outside the state directory" test ! -e "$outside"
ok "no selftest reported a call getting through" sh -c "! grep -q 'let forbidden call' '$INKAN_STATE/log/selftest.log'"
done_testing
