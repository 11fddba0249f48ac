#!/usr/bin/env bash
# t-scal2-lockout.sh — issue 3 items 3 and 4: lock_after consecutive wrong
# factors lock the signer (every credential of theirs: the PIN and OTP are
# the signer's), for lock_seconds or, with 0, until the security officer
# unlocks; counters and locks survive a restart of inkan-sam; lock and unlock
# are logged; the answer is the CSC "locked" error. A TOTP step accepted once
# stays spent across a restart.
. "$INKAN_SRC/tests/integration/lib.sh"
. "$INKAN_SRC/tests/integration/t-scal2-lib.sh"
t2_start lock_after=3 lock_seconds=0
h=$(digest sha256 "lockout")
# One OTP per signer, held across restarts: the code of the next TOTP step
# stays acceptable 30 to 60 s (a wrong-PIN or locked attempt does not spend
# it); each block below has its own signer so that no test waits for a step.
held_otp() { OTP=$(inkan_totp "$SECRET" 1); wrongpin=$(printf '%06d' $(( (10#$PIN + 1) % 1000000 ))); }

new_signer dave p256
CRED2=$(inkan_add_credential dave p256 "dave two") || bail "second credential"

# --- locked after 3, until unlocked
held_otp
for i in 1 2; do
  authorize "$CRED" "$TOKEN" "$OTP" "$wrongpin" "$h"
  is "wrong PIN $i: invalid_authentication_data" "$(jget .error)" invalid_authentication_data
done
authorize "$CRED" "$TOKEN" "$OTP" "$wrongpin" "$h"
is "wrong PIN 3: still the PIN error" "$(jget .error_description)" "The PIN is invalid"
ok "the lock is logged" grep -q "lock: user=dave locked after 3 consecutive failures, until an operator unlocks" "$SAMLOG"
authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h"
is "R13: right PIN and OTP after 3 failures: refused" "$HTTP" 400
is "R13: ... as locked (CSC v2)" "$(jget .error_description)" "Credential locked"
csc v1 credentials/authorize "{\"credentialID\":\"$CRED2\",\"numSignatures\":1,\"hash\":[\"$h\"],\"PIN\":\"$PIN\",\"OTP\":\"$OTP\"}" "$TOKEN"
is "R13: the signer's other credential is locked too (CSC v1: invalid_pin)" "$(jget .error)" invalid_pin
is "R13: ... PIN locked" "$(jget .error_description)" "PIN locked"
show=$(inkanctl user show dave)
ok "user show: locked until unlocked" test -n "$(printf '%s' "$show" | grep 'locked: until unlocked')"

# --- R14: the lock survives a restart of inkan-sam
restart_sam || bail "inkan-sam restart"
authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h"
is "R14: after a restart: still locked" "$(jget .error_description)" "Credential locked"

# --- the security officer unlocks (by credential: its signer)
out=$(inkanctl credential unlock --credential "$CRED2")
ok "unlock by credential ($out)" test -n "$(printf '%s' "$out" | grep 'signer dave unlocked (was locked, 3 consecutive')"
ok "the unlock is logged" grep -q "unlock: user=dave unlocked by the security officer" "$SAMLOG"
authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h"
is "after the unlock: a SAD" "$HTTP" 200

# --- R14: the failure count survives a restart too
new_signer dora p256
held_otp
authorize "$CRED" "$TOKEN" "$OTP" "$wrongpin" "$h"
authorize "$CRED" "$TOKEN" "$OTP" "$wrongpin" "$h"
restart_sam || bail "inkan-sam restart"
authorize "$CRED" "$TOKEN" "$OTP" "$wrongpin" "$h"
authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h"
is "R14: 2 failures, restart, 1 failure: locked" "$(jget .error_description)" "Credential locked"
out=$(inkanctl user unlock dora)
ok "unlock by name ($out)" test -n "$(printf '%s' "$out" | grep 'user dora unlocked (was locked')"
authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h"
is "after the unlock: a SAD" "$HTTP" 200

# --- R13: a timed lock ends by itself (lock_seconds = 2)
LOCK_S=$((2 * T_SLOW))     # valgrind: 4 authorisations take longer than 2 s
sam_conf lock_seconds $LOCK_S
restart_sam || bail "inkan-sam restart"
new_signer doug p256
held_otp
for i in 1 2 3; do authorize "$CRED" "$TOKEN" "$OTP" "$wrongpin" "$h"; done
authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h"
is "lock_seconds = 2: locked at once" "$(jget .error_description)" "Credential locked"
ok "the timed lock is logged" grep -q "lock: user=doug locked after 3 consecutive failures, for $LOCK_S s" "$SAMLOG"
sleep $((LOCK_S + 1))
authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h"
is "lock_seconds = 2: three seconds later, a SAD" "$HTTP" 200

# --- item 4: a TOTP step is spent for good, across a restart (the code is
# still inside its window: only the stored last step refuses it)
new_signer erin p256
held_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h"
is "OTP: first use: a SAD" "$HTTP" 200
restart_sam || bail "inkan-sam restart"
authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$(digest sha256 other)"
is "R8/item 4: the same OTP after a restart: refused" "$HTTP" 400
is "R8/item 4: ... as a wrong OTP" "$(jget .error_description)" "The OTP is invalid"
ok "R8/item 4: ... by the replay rule (the step is stored)" \
  test "$(db "SELECT totp_last_step FROM users WHERE name = 'erin'")" -ge $(( $(date +%s) / 30 ))
csc v2 credentials/authorize "{\"credentialID\":\"$CRED\",\"numSignatures\":1,\"hashes\":[\"$h\"],\"authData\":[{\"id\":\"PIN\",\"value\":\"$PIN\"}]}" "$TOKEN"
is "R12: PIN alone after all that: no SAD" "$HTTP" 400

done_testing
