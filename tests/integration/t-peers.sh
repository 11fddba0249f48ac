#!/usr/bin/env bash
# t-peers.sh — issue 2 test (e): who may talk to whom. inkan-scm obeys only
# the SAM's uid; the SAM's signer socket admits only inkan-sic and its admin
# socket only the operator; a message type outside a socket's interface
# closes the connection. Needs distinct uids, so it runs as root (CI does).
. "$INKAN_SRC/tests/integration/lib.sh"
inkan_separate_uids || skip_all "needs root to run the daemons as distinct uids"
t_start
probe="$INKAN_BUILD/tests/ipc-probe"
as_sic() { setpriv --reuid="$INKAN_UID_SIC" --regid="$INKAN_GID" --clear-groups "$@"; }
as_sam() { setpriv --reuid="$INKAN_UID_SAM" --regid="$INKAN_GID" --clear-groups "$@"; }
scm_sock=$INKAN_STATE/scm/scm.sock
sam_sock=$INKAN_STATE/sam/sam.sock
admin_sock=$INKAN_STATE/sam/admin.sock

# Under the SAM's own uid a request is answered (the key id is unknown, so a
# refusal status comes back, but the SCM does listen to that peer).
out=$(as_sam "$probe" "$scm_sock" crypto-sign)
ok "the SAM's uid is answered by inkan-scm ($out)" test "${out%% *}" = answered
out=$(as_sic "$probe" "$scm_sock" crypto-sign); rc=$?
is "(e) inkan-sic's uid is refused by inkan-scm ($out)" "$rc" 3
out=$("$probe" "$scm_sock" crypto-keygen); rc=$?
is "(e) root (the operator) is refused by inkan-scm ($out)" "$rc" 3
out=$(setpriv --reuid=64199 --regid=64199 --clear-groups "$probe" "$scm_sock" crypto-sign); rc=$?
ok "(e) an unrelated uid cannot even connect or is refused ($out)" test "$rc" -eq 3 -o "$rc" -eq 4
ok "inkan-scm logged the refusal" grep -q "refused peer" "$INKAN_STATE/log/inkan-scm.log"

out=$(as_sic "$probe" "$sam_sock" signer-list)
is "inkan-sic's uid is answered on the signer socket" "$out" "answered status=2"
out=$(as_sic "$probe" "$sam_sock" admin-user-list); rc=$?
is "an admin message on the signer socket closes the connection" "$rc" 3
out=$(as_sic "$probe" "$sam_sock" crypto-sign); rc=$?
is "a crypto message on the signer socket closes the connection" "$rc" 3
out=$(as_sic "$probe" "$admin_sock" admin-user-list); rc=$?
ok "inkan-sic's uid cannot use the admin socket ($out)" test "$rc" -eq 3 -o "$rc" -eq 4
out=$("$probe" "$admin_sock" admin-user-list)
is "the operator (root) is answered on the admin socket" "$out" "answered status=0"
out=$("$probe" "$sam_sock" signer-list); rc=$?
is "the operator cannot use the signer socket" "$rc" 3

# After all that, the service still works end to end.
new_signer dave p256
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$(digest sha256 after)"
is "service unaffected by the refused peers" "$HTTP" 200
done_testing
