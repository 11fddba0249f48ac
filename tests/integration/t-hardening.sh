#!/usr/bin/env bash
# t-hardening.sh — issue 6, least privilege and the service manager: no
# inherited file descriptor survives start-up; a daemon started as root
# without `user` refuses to run; the token PIN can come from a systemd
# credential; sockets can come from socket activation (matched by name, an
# unused one closed, a wrongly bound one refused); READY=1, watchdog pings
# and STOPPING=1 reach the notification socket through the sandbox.
. "$INKAN_SRC/tests/integration/lib.sh"
. "$INKAN_SRC/tests/integration/hardening-lib.sh"

# An open descriptor the daemons inherit from this shell.
exec 9>"$T_TMP/inherited-marker"
t_start
exec 9>&-

# ---- inherited descriptors ---------------------------------------------------
if inkan_is_root; then
  for d in inkan-scm inkan-sam inkan-sic; do
    pid=$(inkan_pid $d)
    is "$d closed the descriptor it inherited" \
      "$(find /proc/$pid/fd -lname '*inherited-marker' 2>/dev/null | wc -l)" 0
    ok "$d keeps stdin/stdout/stderr" test -e /proc/$pid/fd/2
  done
else
  T_N=$((T_N + 1)); echo "ok $T_N - # SKIP reading another non-dumpable process's fds needs root"
fi

# ---- stopped and continued (a debugger attach, a job stop) ------------------
# A sleep interrupted by SIGSTOP resumes through restart_syscall: a policy
# without it would kill the daemon at SIGCONT.
for d in inkan-scm inkan-sam inkan-sic; do
  pid=$(inkan_pid $d)
  kill -STOP "$pid"; sleep 0.3; kill -CONT "$pid"; sleep 0.3
  ok "$d survives SIGSTOP/SIGCONT under its seccomp policy" inkan_running "$pid"
done
ok "... and the whole set runs" inkan_alive
csc v2 info '{}'
is "... inkan-sic answers" "$HTTP" 200
is "... inkan-sam answers inkanctl" "$(inkanctl user list >/dev/null 2>&1; echo $?)" 0

# ---- root without `user` ---------------------------------------------------
if inkan_is_root; then
  grep -v '^user *=' "$INKAN_STATE/inkan.conf" >"$T_TMP/nouser.conf"
  for d in inkan-scm inkan-sam inkan-sic; do
    "$(inkan_bin $d)" --config "$T_TMP/nouser.conf" >"$T_TMP/nouser-$d.log" 2>&1
    is "$d started as root without 'user' refuses to run" "$?" 1
    ok "$d says why" grep -q "refusing to run as root" "$T_TMP/nouser-$d.log"
  done
  ok "the running set was not disturbed" inkan_alive
  is "inkanctl still reaches the SAM" "$(inkanctl user list >/dev/null 2>&1; echo $?)" 0
else
  T_N=$((T_N + 1)); echo "ok $T_N - # SKIP root refusal needs root"
fi

# ---- the token PIN as a systemd credential -----------------------------------
d_kill inkan-scm
mkdir -p "$T_TMP/creds"
cp "$INKAN_STATE/scm/token.pin" "$T_TMP/creds/token-pin"
chmod 0400 "$T_TMP/creds/token-pin"
chmod 0500 "$T_TMP/creds"
[ -n "$(d_owner inkan-scm)" ] && chown -R "$(d_owner inkan-scm)" "$T_TMP/creds"
sed 's|^pin_file *=.*|pin_credential = token-pin|' "$INKAN_STATE/inkan.conf" >"$T_TMP/cred.conf"
ok "the credential config has no pin_file" sh -c "! grep -q '^pin_file' '$T_TMP/cred.conf'"
D_CONFIG=$T_TMP/cred.conf d_start inkan-scm "CREDENTIALS_DIRECTORY=$T_TMP/creds"
ok "inkan-scm logs in to the token with the PIN from CREDENTIALS_DIRECTORY" inkan_running "$(inkan_pid inkan-scm)"
new_signer credsigner p256
ok "a key is generated through it" test -n "$CRED"
d_kill inkan-scm
"$(inkan_bin inkan-scm)" --config "$T_TMP/cred.conf" >"$T_TMP/nocred.log" 2>&1
is "without CREDENTIALS_DIRECTORY it refuses to start" "$?" 1
ok "... naming the missing credential directory" grep -q "CREDENTIALS_DIRECTORY is not set" "$T_TMP/nocred.log"
sed 's|^pin_file *=.*|pin_credential = ../token.pin|' "$INKAN_STATE/inkan.conf" >"$T_TMP/badcred.conf"
CREDENTIALS_DIRECTORY=$T_TMP/creds "$(inkan_bin inkan-scm)" --config "$T_TMP/badcred.conf" >"$T_TMP/badcred.log" 2>&1
is "a credential name with a path in it is refused" "$?" 1
chmod 0700 "$T_TMP/creds"

# ---- socket activation -------------------------------------------------------
d_kill inkan-sam
owner_scm=() owner_sam=()
[ -n "$(d_owner inkan-scm)" ] && owner_scm=(--owner "$(d_owner inkan-scm)")
[ -n "$(d_owner inkan-sam)" ] && owner_sam=(--owner "$(d_owner inkan-sam)")
ok "inkan-scm starts on a socket passed as 'crypto'" \
  d_start inkan-scm -- "$D_TOOLS/listen-exec" "${owner_scm[@]}" "crypto=$INKAN_STATE/scm/scm.sock" --
ok "... and says so" grep -q "crypto: socket-activated listener" "$INKAN_STATE/log/inkan-scm.log"
ok "inkan-sam starts on sockets passed as 'signer' and 'admin' (and one extra)" \
  d_start inkan-sam -- "$D_TOOLS/listen-exec" "${owner_sam[@]}" "signer=$INKAN_STATE/sam/sam.sock" \
    "admin=$INKAN_STATE/sam/admin.sock" "stray=$T_TMP/stray.sock" --
ok "... takes both by name" test "$(grep -c 'socket-activated listener' "$INKAN_STATE/log/inkan-sam.log")" -eq 2
ok "... and closes the one nobody claimed" grep -q "closing unused fd 5 (stray)" "$INKAN_STATE/log/inkan-sam.log"
# Once its last holder closed it, a listening socket leaves /proc/net/unix.
is "the stray socket is not held open" "$(grep -c "$T_TMP/stray.sock" /proc/net/unix)" 0
new_signer activated p256
cert_pubkey "$CRED" "$TOKEN" "$T_TMP/act.pub"
h=$(digest sha256 "socket activated")
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h"
sign_hash "$CRED" "$TOKEN" "$SAD" 1.2.840.10045.4.3.2 "" "$h"
is "a signature through socket-activated SAM and SCM" "$HTTP" 200
ok "OpenSSL verifies it" verify_sig "$T_TMP/act.pub" "$h" "$(jget '.signatures[0]')" ecdsa sha256
d_kill inkan-scm
"$D_TOOLS/listen-exec" "crypto=$T_TMP/elsewhere.sock" -- "$(inkan_bin inkan-scm)" \
  --config "$INKAN_STATE/inkan.conf" >"$T_TMP/wrongsock.log" 2>&1
is "a 'crypto' socket bound to another path is refused" "$?" 1
ok "... with the reason" grep -q "is not a listening SOCK_SEQPACKET socket bound to" "$T_TMP/wrongsock.log"
d_start inkan-scm

# ---- notification socket and watchdog ------------------------------------------
for d in inkan-scm inkan-sam inkan-sic; do
  d_kill $d
  sock=$T_TMP/notify-$d.sock
  "$D_TOOLS/notify-listen" "$sock" 120 STOPPING=1 >"$T_TMP/notify-$d.out" &
  lp=$!
  for i in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.02; done
  d_start $d "NOTIFY_SOCKET=$sock" WATCHDOG_USEC=1000000
  if [ -n "${INKAN_VALGRIND_LOGDIR:-}" ]; then sleep 8; else sleep 2; fi
  ok "$d still runs with NOTIFY_SOCKET and the watchdog set" inkan_running "$(inkan_pid $d)"
  d_kill $d TERM
  is "$d stops cleanly on SIGTERM" "$D_RC" 0
  wait $lp
  is "$d: READY=1 first" "$(head -n 1 "$T_TMP/notify-$d.out")" "READY=1|STATUS=serving"
  ok "$d: watchdog pings while serving" test "$(grep -c '^WATCHDOG=1$' "$T_TMP/notify-$d.out")" -ge 3
  is "$d: STOPPING=1 last" "$(tail -n 1 "$T_TMP/notify-$d.out")" "STOPPING=1"
  d_start $d
done
ok "the whole set serves again" inkan_alive
done_testing
