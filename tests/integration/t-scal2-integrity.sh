#!/usr/bin/env bash
# t-scal2-integrity.sh — issue 3 item 5 (R36): the rows that link a signer to
# a key, the signer's factor hashes and TOTP secret, access tokens and SADs
# carry an HMAC made by a key that lives in the HSM (inkan-scm). Someone with
# write access to the database file (sqlite3 here) moves a credential to
# another signer, puts in a PIN hash or TOTP secret they know, forges a token
# or stretches a SAD: each is refused, and inkan-sam logs an ALERT line.
. "$INKAN_SRC/tests/integration/lib.sh"
. "$INKAN_SRC/tests/integration/t-scal2-lib.sh"
t2_start
ECDSA=1.2.840.10045.4.3.2
alerts() { count_log "ALERT integrity"; }
h=$(digest sha256 "integrity")

new_signer mallory p256
M_PIN=$PIN M_SECRET=$SECRET M_TOKEN=$TOKEN M_PW=$PW M_OTP_STEP=-1
mid=$(db "SELECT id FROM users WHERE name = 'mallory'")

# --- a victim's credential moved to mallory
new_signer victim1 p256
V1_CRED=$CRED V1_TOKEN=$TOKEN V1_PIN=$PIN V1_SECRET=$SECRET V1_STEP=$OTP_STEP
v1id=$(db "SELECT id FROM users WHERE name = 'victim1'")
db "UPDATE credentials SET user_id = $mid WHERE id = '$V1_CRED'"
csc v2 credentials/list '{}' "$M_TOKEN"
ok "moved: the row now says mallory owns it" test -n "$(jget ".credentialIDs[] | select(. == \"$V1_CRED\")")"
n=$(alerts)
SECRET=$M_SECRET OTP_STEP=$M_OTP_STEP; next_otp; M_OTP_STEP=$OTP_STEP
authorize "$V1_CRED" "$M_TOKEN" "$OTP" "$M_PIN" "$h"
is "moved: mallory's authorize on the victim's key: refused" "$HTTP" 500
is "moved: ... no SAD" "$SAD" ""
ok "moved: ALERT in the log naming the credential" grep -q "ALERT integrity: credential $V1_CRED: row MAC mismatch" "$SAMLOG"
csc v2 credentials/info "{\"credentialID\":\"$V1_CRED\"}" "$M_TOKEN"
is "moved: credentials/info refused too" "$HTTP" 500
db "UPDATE credentials SET user_id = $v1id WHERE id = '$V1_CRED'"
SECRET=$V1_SECRET OTP_STEP=$V1_STEP; next_otp; V1_STEP=$OTP_STEP
authorize "$V1_CRED" "$V1_TOKEN" "$OTP" "$V1_PIN" "$h"
is "moved back: the signer's own row verifies again" "$HTTP" 200
SAD_V1=$SAD

# --- a SAD stretched in the database
db "UPDATE sads SET expires = expires + 86400 WHERE user_id = $v1id"
sign_hash "$V1_CRED" "$V1_TOKEN" "$SAD_V1" $ECDSA "" "$h"
is "SAD edited: signHash refused" "$HTTP" 500
ok "SAD edited: ALERT" grep -q "ALERT integrity: SAD of credential $V1_CRED" "$SAMLOG"

# --- a forged access token row
forged=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
fh=$(printf '%s' "$forged" | openssl dgst -sha256 -binary | od -An -tx1 -v | tr -d ' \n')
db "INSERT INTO tokens (hash, user_id, expires, created) VALUES (x'$fh', $v1id, strftime('%s','now') + 3600, strftime('%s','now'))"
csc v2 credentials/list '{}' "$forged"
ok "forged token: refused ($HTTP)" test "$HTTP" != 200
ok "forged token: ALERT (no MAC)" grep -q "ALERT integrity: access token of user $v1id (victim1) carries no MAC" "$SAMLOG"

# --- a PIN hash the attacker knows (mallory's own)
new_signer victim2 p256
db "UPDATE users SET pin_hash = (SELECT pin_hash FROM users WHERE name = 'mallory') WHERE name = 'victim2'"
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$M_PIN" "$h"
is "PIN hash replaced: authorize with the known PIN refused" "$HTTP" 500
is "PIN hash replaced: ... no SAD" "$SAD" ""
ok "PIN hash replaced: ALERT naming the user" grep -q "ALERT integrity: user [0-9]* (victim2): row MAC mismatch" "$SAMLOG"
is "PIN hash replaced: login as the victim refused too" "$(login victim2 "$PW")" ""

# --- a TOTP secret the attacker knows (mallory's)
new_signer victim3 p256
db "UPDATE users SET totp_secret = (SELECT totp_secret FROM users WHERE name = 'mallory') WHERE name = 'victim3'"
SECRET=$M_SECRET OTP_STEP=$M_OTP_STEP; next_otp; M_OTP_STEP=$OTP_STEP
authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h"
is "TOTP secret replaced: authorize with the known secret refused" "$HTTP" 500
ok "TOTP secret replaced: ALERT naming the user" grep -q "ALERT integrity: user [0-9]* (victim3): row MAC mismatch" "$SAMLOG"

# --- a password hash the attacker knows
db "UPDATE users SET pw_hash = (SELECT pw_hash FROM users WHERE name = 'mallory') WHERE name = 'victim1'"
is "password hash replaced: login with the known password refused" "$(login victim1 "$M_PW")" ""
ok "password hash replaced: ALERT" grep -q "login refused (user=victim1)" "$SAMLOG"

ok "one ALERT line per refused attempt at least" test "$(alerts)" -ge 8
# The signer's key is never touched by any of this.
is "mallory's own service is unaffected" "$(login mallory "$M_PW" | wc -c)" 44

done_testing
