#!/usr/bin/env bash
# t-scal2-crash.sh — issue 3 item 2: hash use is reserved before signing and
# committed after, in the database. SIGKILL of inkan-scm, or of inkan-sam,
# between reserve and commit never lets a hash be signed twice and leaves the
# signer a retry with the same SAD: a reservation whose signatures were never
# released goes back to the SAD (at once when the SCM fails, at the next start
# when the SAM died). The window is held open with the test-only [sam]
# test_fault key (off by default; docs/security.md).
. "$INKAN_SRC/tests/integration/lib.sh"
. "$INKAN_SRC/tests/integration/t-scal2-lib.sh"
t2_start test_fault=sign-after-reserve:2
ECDSA=1.2.840.10045.4.3.2
hex() { printf '%s' "$1" | base64 -d | od -An -tx1 -v | tr -d ' \n'; }
# state SAD DIGEST_B64 -> used column (0 authorised, 1 signed, 2 reserved)
state() { db "SELECT h.used FROM sad_hashes h WHERE h.digest = x'$(hex "$2")'"; }
left() { db "SELECT s.remaining FROM sads s JOIN sad_hashes h ON h.sad_hash = s.hash WHERE h.digest = x'$(hex "$1")'"; }
# bg_sign NAME CRED TOKEN SAD HASH — signHash in the background; the answer
# lands in $T_TMP/NAME.http and NAME.body
bg_sign() {
  ( sign_hash "$2" "$3" "$4" $ECDSA "" "$5"; printf '%s' "$HTTP" >"$T_TMP/$1.http"; printf '%s' "$BODY" >"$T_TMP/$1.body" ) &
  BG=$!
}

new_signer fay p256
cert_pubkey "$CRED" "$TOKEN" "$T_TMP/f.pub"
h1=$(digest sha256 "crash one") h2=$(digest sha256 "crash two") h3=$(digest sha256 "crash three")
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h1" "$h2"
SAD12=$SAD
is "a SAD for two hashes" "$HTTP" 200 || echo "# $BODY"

# --- A: inkan-scm killed between reserve and commit
bg_sign a "$CRED" "$TOKEN" "$SAD12" "$h1"
sleep 0.8
is "A: h1 is reserved while the SAM waits" "$(state "$SAD12" "$h1")" 2
is "A: ... and the SAD's count is down by one" "$(left "$h1")" 1
stop_one inkan-scm KILL
wait "$BG"
is "A: the signer gets 503 (retry)" "$(cat "$T_TMP/a.http")" 503
is "A: ... temporarily_unavailable" "$(jq -r .error "$T_TMP/a.body")" temporarily_unavailable
is "A: h1 went back to the SAD" "$(state "$SAD12" "$h1")" 0
is "A: ... with its count" "$(left "$h1")" 2
ok "A: the SAM logged the give-back" grep -q "no signature released, 1 hashes given back" "$SAMLOG"
start_one inkan-scm || bail "inkan-scm restart"
sign_hash "$CRED" "$TOKEN" "$SAD12" $ECDSA "" "$h1"
is "A: the retry with the same SAD signs" "$HTTP" 200
ok "A: ... verified by OpenSSL" verify_sig "$T_TMP/f.pub" "$h1" "$(jget '.signatures[0]')" ecdsa sha256
sig1=$(jget '.signatures[0]')
sign_hash "$CRED" "$TOKEN" "$SAD12" $ECDSA "" "$h1"
is "A: h1 never signs twice: asked again, the same signature (ECDSA is randomised)" "$HTTP/$(jget '.signatures[0]')" "200/$sig1"

# --- B: inkan-sam killed after the SCM signed, before the commit
sam_conf test_fault sign-after-scm:3
restart_sam || bail "inkan-sam restart"
bg_sign b "$CRED" "$TOKEN" "$SAD12" "$h2"
sleep 1.2
ok "B: the SCM has answered (the SAM holds the signature)" grep -q "TEST FAULT: pausing 3 s with the signatures" "$SAMLOG"
is "B: h2 is reserved, not signed" "$(state "$SAD12" "$h2")" 2
stop_one inkan-sam KILL
wait "$BG"
ok "B: no success for the signer ($(cat "$T_TMP/b.http"))" test "$(cat "$T_TMP/b.http")" != 200
is "B: ... and no signature in the answer" "$(jq -r '.signatures // empty' "$T_TMP/b.body" 2>/dev/null)" ""
sam_conf test_fault -
start_one inkan-sam || bail "inkan-sam start"
ok "B: at start the SAM gave the reservation back" grep -q "recovered 1 reserved hashes" "$SAMLOG"
is "B: h2 is authorised again" "$(state "$SAD12" "$h2")" 0
is "B: ... the count is back" "$(left "$h2")" 1
sign_hash "$CRED" "$TOKEN" "$SAD12" $ECDSA "" "$h2"
is "B: the retry with the same SAD signs" "$HTTP" 200
ok "B: ... verified by OpenSSL" verify_sig "$T_TMP/f.pub" "$h2" "$(jget '.signatures[0]')" ecdsa sha256
sig2=$(jget '.signatures[0]')
sign_hash "$CRED" "$TOKEN" "$SAD12" $ECDSA "" "$h2"
is "B: h2 never signs twice: asked again, the same signature" "$HTTP/$(jget '.signatures[0]')" "200/$sig2"
is "B: the SAD is used up" "$(left "$h2")" 0

# --- C: inkan-sam killed after reserving, before asking the SCM
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h3"
SAD3=$SAD
sam_conf test_fault sign-after-reserve:3
restart_sam || bail "inkan-sam restart"
bg_sign c "$CRED" "$TOKEN" "$SAD3" "$h3"
reserved() { [ "$(state "$SAD3" "$h3")" = 2 ]; }
eventually reserved
is "C: h3 is reserved" "$(state "$SAD3" "$h3")" 2
stop_one inkan-sam KILL
wait "$BG"
ok "C: no success for the signer" test "$(cat "$T_TMP/c.http")" != 200
sam_conf test_fault -
start_one inkan-sam || bail "inkan-sam start"
is "C: h3 is authorised again after the restart" "$(state "$SAD3" "$h3")" 0
sign_hash "$CRED" "$TOKEN" "$SAD3" $ECDSA "" "$h3"
is "C: the retry signs" "$HTTP" 200
ok "C: ... verified by OpenSSL" verify_sig "$T_TMP/f.pub" "$h3" "$(jget '.signatures[0]')" ecdsa sha256

# Exactly one signature made per hash: three "sign ok" lines for fay (the
# repeats above are "sign redelivered").
is "one signature made per hash, in all" "$(count_log 'sign ok op=[0-9a-f]* user=fay')" 3
is "... and two redelivered" "$(count_log 'sign redelivered user=fay')" 2
ok "the kept signature is in the database with its hash" \
  test "$(db "SELECT count(*) FROM sad_hashes WHERE used = 1 AND sig IS NOT NULL")" -ge 3

# The strict deployment: redeliver = no refuses a signed hash outright.
sam_conf redeliver no
restart_sam || bail "inkan-sam restart"
ok "redeliver = no is in the SAM's start line" eventually grep -q "redeliver=no" "$SAMLOG"
sign_hash "$CRED" "$TOKEN" "$SAD12" $ECDSA "" "$h1"
is "redeliver = no: a signed hash is refused (here: the SAD is used up)" "$HTTP/$(jget .error_description)" "400/Numbers of signatures is too high"
sam_conf redeliver -

done_testing
