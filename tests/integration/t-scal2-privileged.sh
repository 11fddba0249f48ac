#!/usr/bin/env bash
# t-scal2-privileged.sh — issue 3 items 7 and 8. Privileged users cannot
# sign: every administrator, security-officer and auditor message the schema
# defines (bodies filled from the descriptors, chosen data in every field)
# goes to every role socket, and no answer holds a signature over the chosen
# digest by the signer's key, nor is any SAD or token made; signer and crypto
# messages on the role sockets close the connection. Roles: each socket
# admits its own uids / group (SO_PEERCRED + SO_PEERGROUPS, not only file
# modes), a peer that would be both administrator/SO and auditor is refused,
# and such a configuration does not start.
. "$INKAN_SRC/tests/integration/lib.sh"
. "$INKAN_SRC/tests/integration/t-scal2-lib.sh"
t2_start
probe="$INKAN_BUILD/sam/scal2-probe"
S=$INKAN_STATE/sam
ECDSA=1.2.840.10045.4.3.2
hexd() { printf '%s' "$1" | base64 -d | od -An -tx1 -v | tr -d ' \n'; }

new_signer victim p256
cert_pubkey "$CRED" "$TOKEN" "$T_TMP/v.pub"
jget '.cert.certificates[0]' | base64 -d | openssl x509 -inform DER -out "$T_TMP/v.pem"
chmod 0644 "$T_TMP/v.pub" "$T_TMP/v.pem"
chosen=$(digest sha256 "chosen by the operator")

# The scanner finds a real signature (positive control): the victim signs a
# digest through the CSC API; the answer's bytes are scanned.
ctl=$(digest sha256 "the victim's own document")
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$ctl"
sign_hash "$CRED" "$TOKEN" "$SAD" $ECDSA "" "$ctl"
jget '.signatures[0]' | base64 -d >"$T_TMP/ctl.sig"
is "control: the scanner finds the victim's real signature" "$("$probe" scan "$T_TMP/ctl.sig" "$(hexd "$ctl")" "$T_TMP/v.pub")" "signatures=1"
is "control: ... and it is not over the chosen digest" "$("$probe" scan "$T_TMP/ctl.sig" "$(hexd "$chosen")" "$T_TMP/v.pub")" "signatures=0"

sads=$(db "SELECT count(*) FROM sads") tokens=$(db "SELECT count(*) FROM tokens")
operator() {   # operator SOCKET [COMMAND PREFIX...] -> OUT, RC
  local sock=$1; shift
  OUT=$("$@" "$probe" operator "$sock" victim "$CRED" "$T_TMP/v.pem" "$(hexd "$chosen")" "$T_TMP/v.pub" 2>&1); RC=$?
  SUMMARY=$(printf '%s\n' "$OUT" | tail -n 1)
}
operator "$S/admin.sock"
is "R20: every admin message on the administrator's socket: no signature over the chosen digest ($SUMMARY)" "$RC" 0
ok "R20: ... and the administrator was answered (the probe reached the handlers)" \
  test "$(printf '%s' "$SUMMARY" | sed -n 's/answered=\([0-9]*\).*/\1/p')" -ge 6
operator "$S/so.sock"
is "R20: every admin message on the security officer's socket: none ($SUMMARY)" "$RC" 0
ok "R20: ... the security officer was answered" \
  test "$(printf '%s' "$SUMMARY" | sed -n 's/answered=\([0-9]*\).*/\1/p')" -ge 3
if inkan_separate_uids; then
  as_aud() { setpriv --reuid="$INKAN_UID_AUD" --regid="$INKAN_GID" --clear-groups "$@"; }
  operator "$S/auditor.sock" as_aud
  is "R20: every admin message on the auditor's socket: none ($SUMMARY)" "$RC" 0
fi
[ "$RC" -eq 0 ] || printf '%s\n' "$OUT" | sed 's/^/# /'
# (fewer is fine: terminating the victim or revoking its credential, with
# chosen data, deletes its tokens and SADs: issue 7)
n=$(db "SELECT count(*) FROM sads")
ok "R20: no SAD was made by any of it ($n, before $sads)" test "$n" -le "$sads"
n=$(db "SELECT count(*) FROM tokens")
ok "R20: no access token was made by any of it ($n, before $tokens)" test "$n" -le "$tokens"

# Signer and crypto messages on the operator sockets: closed, unanswered.
out=$("$probe" refuse "$S/admin.sock"); rc=$?; out=${out##*$'\n'}
is "R20: signer/crypto messages on the administrator's socket: all closed ($out)" "$rc" 0
out=$("$probe" refuse "$S/so.sock"); rc=$?; out=${out##*$'\n'}
is "R20: signer/crypto messages on the security officer's socket: all closed ($out)" "$rc" 0

inkan_separate_uids || { done_testing; exit $?; }

# ---- item 8: role sockets (distinct uids: root is administrator and SO)
out=$(as_aud "$probe" refuse "$S/auditor.sock"); rc=$?; out=${out##*$'\n'}
is "R20: signer/crypto messages on the auditor's socket: all closed ($out)" "$rc" 0
is "roles: root on the administrator's socket is answered" "$("$probe" one "$S/admin.sock" ADMIN_USER_LIST_REQ)" "answered status=0"
is "roles: the auditor uid on the administrator's socket: refused" "$(as_aud "$probe" one "$S/admin.sock" ADMIN_USER_LIST_REQ)" closed
ok "roles: ... at admission (logged)" grep -q "admin socket: refused peer pid [0-9]* uid $INKAN_UID_AUD" "$SAMLOG"
is "roles: the auditor uid on the security officer's socket: refused" "$(as_aud "$probe" one "$S/so.sock" ADMIN_USER_SHOW_REQ)" closed
ok "roles: ... at admission (logged)" grep -q "so socket: refused peer pid [0-9]* uid $INKAN_UID_AUD" "$SAMLOG"
is "roles: root (administrator) on the auditor's socket: refused" "$("$probe" one "$S/auditor.sock" ADMIN_USER_LIST_REQ)" closed
ok "roles: ... at admission (logged)" grep -q "auditor socket: refused peer pid [0-9]* uid 0 " "$SAMLOG"
out=$(as_aud "$(inkan_bin inkanctl)" --config "$INKAN_STATE/inkan.conf" user list 2>&1); rc=$?
ok "roles: inkanctl run by the auditor cannot list users ($out)" test "$rc" -ne 0

# Admission by one uid alone (auditor_uid, no group): the socket is that
# user's, mode 0600 — the auditor reaches it with none of inkan's groups, and
# another uid of the daemons' group does not get past the file system.
is "roles: auditor_uid alone: auditor.sock is the auditor's, 0600" "$(stat -c '%u %a' "$S/auditor.sock")" "$INKAN_UID_AUD 600"
chmod o+x "$S"    # as /run/inkan is (0755); the harness keeps sockets here
out=$(setpriv --reuid="$INKAN_UID_AUD" --regid="$INKAN_UID_AUD" --clear-groups \
  "$(inkan_bin inkanctl)" --config "$INKAN_STATE/inkan.conf" audit verify 2>&1); rc=$?
is "roles: the auditor in none of inkan's groups verifies the trail ($(printf '%s' "$out" | head -1))" "$rc" 0
conn_err() {  # conn_err SOCKET as the current user: the errno name of connect(), or "ok"
  python3 -c 'import errno, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
try:
    s.connect(sys.argv[1]); print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))' "$1"
}
is "roles: another uid of the daemons' group: refused by the file system" \
  "$(setpriv --reuid=64199 --regid="$INKAN_GID" --clear-groups bash -c "$(declare -f conn_err); conn_err $S/auditor.sock")" EACCES
# Several uids other than root, no group: they could only share the socket
# through a group, so the SAM says so and does not start.
sed "/^auditor_uid *=/d; /^\[sam\]/a auditor_uid = $INKAN_UID_AUD,64198" "$INKAN_STATE/inkan.conf" >"$T_TMP/uids.conf"
out=$("$(inkan_bin inkan-sam)" --config "$T_TMP/uids.conf" --check-config 2>&1); rc=$?
ok "roles: auditor_uid with two users and no group: refused ($(printf '%s' "$out" | grep -o 'several uids.*' | head -1))" \
  test "$rc" -ne 0 -a -n "$(printf '%s' "$out" | grep 'set auditor_group')"
chmod o-x "$S"

# Admission by group: so_group = 64150 (the peer's supplementary or primary
# group); the socket is opened to everyone so that only the SAM decides.
sam_conf so_group 64150
sam_conf auditor_group 64170
restart_sam || bail "inkan-sam restart"
chmod 0666 "$S/so.sock" "$S/admin.sock"
peer() { local g=$1; shift; setpriv --reuid=64160 --regid="$g" --groups="$1" "${@:2}"; }
is "roles: uid 64160 with supplementary group 64150: security officer" \
  "$(peer 64160 64150,$INKAN_GID "$probe" one "$S/so.sock" ADMIN_USER_SHOW_REQ)" "answered status=19"
is "roles: uid 64160 with primary group 64150: security officer" \
  "$(peer 64150 $INKAN_GID "$probe" one "$S/so.sock" ADMIN_USER_SHOW_REQ)" "answered status=19"
is "roles: uid 64160 without the group: refused by the SAM (socket mode 0666)" \
  "$(peer 64160 $INKAN_GID "$probe" one "$S/so.sock" ADMIN_USER_SHOW_REQ)" closed
ok "roles: ... logged" grep -q "so socket: refused peer pid [0-9]* uid 64160" "$SAMLOG"
# root (admin_uid = 0) carrying the auditor group 64170: both roles at once
is "roles: a peer that is administrator and auditor at once: refused" \
  "$(setpriv --groups=64170 "$probe" one "$S/admin.sock" ADMIN_USER_LIST_REQ)" closed
ok "roles: ... logged as a role conflict" grep -q "would hold the administrator role and the auditor role" "$SAMLOG"

# Start-up refuses a configuration that gives one account both roles.
cp "$INKAN_STATE/inkan.conf" "$T_TMP/both.conf"
sed -i "/^auditor_uid *=/d; /^\[sam\]/a auditor_uid = 0" "$T_TMP/both.conf"
out=$("$(inkan_bin inkan-sam)" --config "$T_TMP/both.conf" --check-config 2>&1); rc=$?
ok "R32: admin_uid = auditor_uid = 0: the SAM refuses the configuration" test "$rc" -ne 0
ok "R32: ... and says why" sh -c "printf '%s' \"\$1\" | grep -q 'uid 0 is admitted as administrator and as auditor'" _ "$out"
cp "$INKAN_STATE/inkan.conf" "$T_TMP/group.conf"
sed -i "/^auditor_group *=/d; /^\[sam\]/a auditor_group = 64150" "$T_TMP/group.conf"
out=$("$(inkan_bin inkan-sam)" --config "$T_TMP/group.conf" --check-config 2>&1); rc=$?
ok "R32: so_group = auditor_group: refused ($out)" test "$rc" -ne 0
"$(inkan_bin inkan-sam)" --config "$INKAN_STATE/inkan.conf" --check-config >/dev/null 2>&1
is "the running configuration itself checks fine" "$?" 0

done_testing
