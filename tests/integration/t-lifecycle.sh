#!/usr/bin/env bash
# t-lifecycle.sh — issue 7, items 1-4 and 6: registration with the CA's
# one-time identification code, key generation instructed by the signer
# (both factors) through credentials/create, the CSR (proof of possession,
# subject from the registration, challengePassword = the code), certificate
# registration checks (key, chain to the trust anchor, validity, keyUsage),
# renewal, revocation, expiry and termination destroying keys in the HSM,
# each with its audit record; signing afterwards fails clearly. The test CA
# is `openssl` (x509 -req, and `ca` for an exact end date).
. "$INKAN_SRC/tests/integration/lib.sh"
. "$INKAN_SRC/tests/integration/hardening-lib.sh"
t_start
# One signer spends ~20 TOTP steps here: the widest window the SAM accepts
# (10) saves waiting for real 30 s steps.
sed -i 's/^totp_window = .*/totp_window = 10/' "$INKAN_STATE/inkan.conf"
inkan_stop; inkan_start || bail "restart with totp_window = 10"
ECDSA=1.2.840.10045.4.3.2
CA=$INKAN_STATE/ca
AUDIT=$INKAN_STATE/sam/audit
SCMLOG=$INKAN_STATE/log/inkan-scm.log
rec() { cat "$AUDIT"/audit-*.log | grep " event=$1 "; }
# has_rec EVENT REGEX: a record of that event matching the regex
has_rec() { rec "$1" | grep -q -- "$2"; }
csr_has_code() { openssl req -in "$1" -noout -text | grep -q "challengePassword *:$2"; }
not_in() { ! printf '%s' "$1" | grep -q -- "$2"; }

# ---- 1. registration: subject as verified, the CA's code, stored hashed ----
PW=pw-lc-$RANDOM$RANDOM PIN=$(printf '%06d' $((RANDOM % 1000000))) CODE=CA-CODE-$RANDOM$RANDOM
out=$(INKAN_PASSWORD=$PW INKAN_PIN=$PIN INKAN_ID_CODE=$CODE inkanctl user add hanako \
  --cn "Yamada Hanako" --o "inkan test" --c JP --serial ID-1234 --email hanako@example.jp 2>&1)
is "user add with subject and the CA's code" "$?" 0
SECRET=$(printf '%s\n' "$out" | sed -n 's/^totp-secret: *//p'); OTP_STEP=-1
ok "... the code is not echoed" not_in "$out" "$CODE"
is "... nor stored in clear" "$(sqlite3 "$INKAN_STATE/sam/inkan.db" "SELECT count(*) FROM registrations WHERE idcode_hash LIKE '%$CODE%' OR subject LIKE '%$CODE%'")" 0
ok "... stored as an Argon2id hash" test "$(sqlite3 "$INKAN_STATE/sam/inkan.db" "SELECT substr(idcode_hash,1,10) FROM registrations r JOIN users u ON u.id = r.user_id WHERE u.name = 'hanako'")" = '$argon2id$'
out=$(INKAN_PASSWORD=x INKAN_PIN=1234 inkanctl user add bad1 --c jp 2>&1); rc=$?
ok "a bad country code is a one-line usage error ($out)" test "$rc" -eq 2 -a "$(printf '%s\n' "$out" | wc -l)" -eq 1
TOKEN=$(login hanako "$PW"); [ -n "$TOKEN" ] || bail "login hanako"

create() {  # create CODE PIN OTP [REPLACES] [KEYALGO LEN] -> HTTP, BODY
  local rep=${4:+,\"replaces\":\"$4\"}
  csc v2 credentials/create "{\"keyAlgo\":\"${5:-1.2.840.10045.2.1}\",\"keyLength\":${6:-256},\"PIN\":\"$2\",\"OTP\":\"$3\",\"identificationCode\":\"$1\"$rep}" "$TOKEN"
}

# ---- 2. the signer instructs key generation ---------------------------------
next_otp; create "WRONG-CODE-1" "$PIN" "$OTP"
is "a wrong identification code is refused" "$HTTP/$(jget .error_description)" "400/Invalid, used or missing identification code"
create "$CODE" "$PIN" ""
is "one factor is never enough (no OTP)" "$HTTP/$(jget .error_description)" "400/Both PIN and OTP are required"
next_otp; create "$CODE" "99$PIN" "$OTP"
is "a wrong PIN is refused before the code is looked at" "$HTTP/$(jget .error)" "400/invalid_authentication_data"
csc v1 credentials/create "{}" "$TOKEN"
is "credentials/create is a v2 method (v1: 501)" "$HTTP" 501
csc v2 info '{}'
ok "info (v2) lists credentials/create" test "$(jget '.methods | index("credentials/create") != null')" = true
next_otp; create "$CODE" "$PIN" "$OTP"
is "the signer's factors and the code: a new credential" "$HTTP" 200
CRED=$(jget .credentialID)
jget .csr | base64 -d | openssl req -inform DER -out "$T_TMP/c.csr" 2>/dev/null
ok "the CSR is signed by the new key (proof of possession)" openssl req -in "$T_TMP/c.csr" -verify -noout
subj=$(openssl req -in "$T_TMP/c.csr" -noout -subject -nameopt RFC2253 2>/dev/null)
ok "... its subject is the registration's ($subj)" test "$subj" = "subject=emailAddress=hanako@example.jp,serialNumber=ID-1234,CN=Yamada Hanako,O=inkan test,C=JP"
ok "... and it carries the identification code as challengePassword" csr_has_code "$T_TMP/c.csr" "$CODE"
next_otp; create "$CODE" "$PIN" "$OTP"
is "the code is used once: a second use is refused" "$HTTP/$(jget .error_description)" "400/Invalid, used or missing identification code"
not_in_logs() { ! grep -rqF -- "$1" "$INKAN_STATE/log" "$AUDIT"; }
ok "the identification code is in no log and no audit record" not_in_logs "$CODE"
ok "key.generate by the signer is recorded" has_rec key.generate "actor=signer:hanako .*by=signer.*cred=$CRED"
out=$(inkanctl credential create --user hanako 2>&1); rc=$?
ok "the operator has no key generation command ($out)" test "$rc" -ne 0

# ---- 3. certificate registration ----------------------------------------------
h=$(digest sha256 "before registration")
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h"
is "a key without a registered certificate cannot be authorised" "$HTTP/$(jget .error_description)" "400/Credential is disabled"
issue() {  # issue CSR OUT [EXTFILE] [CA]
  openssl x509 -req -in "$1" -CA "${4:-$CA}/ca.pem" -CAkey "${4:-$CA}/ca.key" -CAcreateserial -days 30 \
    -extfile "${3:-$CA/ee.ext}" -out "$2" 2>/dev/null
}
import() { inkanctl credential import-cert --credential "$1" --cert "$2" --chain "${3:-$CA/ca.pem}" 2>&1; }
# another key's certificate
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/o.key" \
  -subj "/CN=other" -out "$T_TMP/o.csr" 2>/dev/null
issue "$T_TMP/o.csr" "$T_TMP/o.pem"
out=$(import "$CRED" "$T_TMP/o.pem"); rc=$?
ok "a certificate for another key is refused ($out)" test "$rc" -ne 0
# a CA that is not a trust anchor
mkdir -p "$T_TMP/rogue"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/rogue/ca.key" \
  -subj "/CN=rogue CA" -days 30 -out "$T_TMP/rogue/ca.pem" 2>/dev/null
issue "$T_TMP/c.csr" "$T_TMP/r.pem" "" "$T_TMP/rogue"
out=$(import "$CRED" "$T_TMP/r.pem" "$T_TMP/rogue/ca.pem"); rc=$?
ok "a certificate from a CA that is not a trust anchor is refused ($out)" test "$rc" -ne 0 -a -n "$(printf '%s' "$out" | grep -i 'trust anchor')"
# key usage without signatures
printf 'keyUsage=critical,keyEncipherment\nbasicConstraints=CA:FALSE\n' >"$T_TMP/enc.ext"
issue "$T_TMP/c.csr" "$T_TMP/e.pem" "$T_TMP/enc.ext"
out=$(import "$CRED" "$T_TMP/e.pem"); rc=$?
ok "a certificate whose keyUsage allows no signatures is refused ($out)" test "$rc" -ne 0 -a -n "$(printf '%s' "$out" | grep -i keyUsage)"
# not valid yet / expired: openssl ca with exact dates
mkdir -p "$T_TMP/ca2/new"; : >"$T_TMP/ca2/index.txt"; echo 1000 >"$T_TMP/ca2/serial"
cat >"$T_TMP/ca2/ca.cnf" <<EOF
[ca]
default_ca = d
[d]
dir = $T_TMP/ca2
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
certificate = $CA/ca.pem
private_key = $CA/ca.key
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
[p]
commonName = supplied
[ext]
keyUsage = critical,digitalSignature,nonRepudiation
basicConstraints = CA:FALSE
EOF
utcd() { date -u -d "@$(( $(date +%s) + $1 ))" +%Y%m%d%H%M%SZ; }
ca_issue() {  # ca_issue CSR OUT START_OFFSET END_OFFSET
  openssl ca -batch -config "$T_TMP/ca2/ca.cnf" -extensions ext -in "$1" -out "$2" \
    -startdate "$(utcd "$3")" -enddate "$(utcd "$4")" -notext >/dev/null 2>&1
}
ca_issue "$T_TMP/c.csr" "$T_TMP/f.pem" 3600 7200
out=$(import "$CRED" "$T_TMP/f.pem"); rc=$?
ok "a certificate not valid yet is refused ($out)" test "$rc" -ne 0
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h"
is "... and the credential is still unusable" "$HTTP" 400
issue "$T_TMP/c.csr" "$T_TMP/c.pem"
out=$(import "$CRED" "$T_TMP/c.pem"); rc=$?
is "the CA's certificate for the key is registered" "$rc" 0
openssl x509 -in "$T_TMP/c.pem" -pubkey -noout >"$T_TMP/c.pub"
sign_once() {  # sign_once CRED -> HTTP, SIG (verified below by the caller)
  local hh; hh=$(digest sha256 "doc $RANDOM$RANDOM"); H1=$hh
  next_otp; authorize "$1" "$TOKEN" "$OTP" "$PIN" "$hh"
  [ "$HTTP" = 200 ] || return 0
  sign_hash "$1" "$TOKEN" "$SAD" $ECDSA "" "$hh"
}
sign_once "$CRED"
is "now it signs" "$HTTP" 200
ok "... and OpenSSL verifies it with the registered certificate" verify_sig "$T_TMP/c.pub" "$H1" "$(jget '.signatures[0]')" ecdsa sha256

# ---- 4a. renewal: new key and CSR; the old key goes when the new certificate comes
out=$(inkanctl user idcode hanako 2>/dev/null); CODE2=$(printf '%s\n' "$out" | sed -n 's/^id-code: *//p')
ok "a new generated code for the renewal ($(printf '%s' "$CODE2" | tr 'A-Z0-9' 'X'))" test -n "$CODE2"
next_otp; create "$CODE2" "$PIN" "$OTP" "$CRED"
is "renewal: a new credential that replaces the old one" "$HTTP" 200
NEW=$(jget .credentialID)
jget .csr | base64 -d | openssl req -inform DER -out "$T_TMP/n.csr" 2>/dev/null
ok "... with its own CSR, proof of possession" openssl req -in "$T_TMP/n.csr" -verify -noout
sign_once "$CRED"
is "until the new certificate is registered, the old key still signs" "$HTTP" 200
issue "$T_TMP/n.csr" "$T_TMP/n.pem"
out=$(import "$NEW" "$T_TMP/n.pem"); rc=$?
is "the renewed certificate is registered" "$rc" 0
sign_once "$CRED"
is "the old key is destroyed: signing with it fails" "$HTTP/$(jget .error_description)" "400/Credential is revoked: its key was destroyed"
ok "... inkan-scm destroyed it in the HSM" grep -q "destroyed key $CRED" "$SCMLOG"
ok "... recorded: key.destroy reason renewed" has_rec key.destroy "reason=renewed .*cred=$CRED"
openssl x509 -in "$T_TMP/n.pem" -pubkey -noout >"$T_TMP/n.pub"
sign_once "$NEW"
is "the new key signs" "$HTTP" 200
ok "... verified with the new certificate" verify_sig "$T_TMP/n.pub" "$H1" "$(jget '.signatures[0]')" ecdsa sha256
out=$(import "$CRED" "$T_TMP/c.pem"); rc=$?
ok "a destroyed credential takes no certificate again ($out)" test "$rc" -ne 0

# ---- 4b. revocation ------------------------------------------------------------
out=$(inkanctl credential revoke --credential "$NEW" --reason keyCompromise 2>&1); rc=$?
is "credential revoke: the key is destroyed ($out)" "$rc" 0
sign_once "$NEW"
is "signing with a revoked credential fails clearly" "$HTTP/$(jget .error_description)" "400/Credential is revoked: its key was destroyed"
ok "... inkan-scm destroyed it" grep -q "destroyed key $NEW" "$SCMLOG"
ok "... recorded: key.destroy revoked:keyCompromise by the administrator" has_rec key.destroy "actor=operator:admin.*reason=revoked:keyCompromise .*cred=$NEW"
out=$(inkanctl credential revoke --credential "$NEW" 2>&1); rc=$?
is "revoking again is harmless (the key is already gone)" "$rc" 0
out=$(inkanctl credential revoke --credential 00 2>&1); rc=$?
ok "an unknown credential: a one-line error ($out)" test "$rc" -eq 1 -a "$(printf '%s\n' "$out" | wc -l)" -eq 1

# ---- 4c. expiry, noticed at start ---------------------------------------------
out=$(inkanctl user idcode hanako 2>/dev/null); CODE3=$(printf '%s\n' "$out" | sed -n 's/^id-code: *//p')
# (through the signer's own client this time: inkan-sign enroll)
enroll() {  # enroll CODE OUT [ARGS...] -> out, rc
  local code=$1 o=$2; shift 2
  next_otp
  out=$(INKAN_PASSWORD=$PW INKAN_PIN=$PIN INKAN_OTP=$OTP INKAN_ID_CODE=$code \
    "$(inkan_bin inkan-sign)" enroll --url "$URL" --user hanako --out "$o" "$@" 2>&1); rc=$?
}
enroll "WRONG-$CODE3" "$T_TMP/bad.csr"
ok "inkan-sign enroll with a wrong code: exit 1, one line ($out)" test "$rc" -eq 1 -a "$(printf '%s\n' "$out" | wc -l)" -eq 1
ok "... nothing written" test ! -e "$T_TMP/bad.csr"
enroll "$CODE3" "$T_TMP/x.csr"
is "inkan-sign enroll: the signer has a key generated" "$rc" 0
EXP=$(printf '%s\n' "$out" | sed -n 's/^credential: //p')
ok "... it prints the credential and CSR ($(printf "%s" "$out" | tr "\n" " "))" test -n "$EXP" -a "$(printf '%s\n' "$out" | sed -n 's/^csr: //p')" = "$T_TMP/x.csr"
ok "... the CSR is signed by the new key" openssl req -in "$T_TMP/x.csr" -verify -noout
ok "... and carries the code" csr_has_code "$T_TMP/x.csr" "$CODE3"
enroll "$CODE3" "$T_TMP/x.csr"
ok "... an existing CSR file is never written over ($out)" test "$rc" -ne 0
ca_issue "$T_TMP/x.csr" "$T_TMP/x.pem" -60 12
out=$(import "$EXP" "$T_TMP/x.pem"); rc=$?
is "a certificate valid for a few more seconds is registered" "$rc" 0
sleep 14
inkan_stop; inkan_start || bail "restart"
ok "at start the SAM destroyed the key of the expired certificate" grep -q "destroyed key $EXP" "$SCMLOG"
ok "... recorded: key.destroy reason expired by the SAM" has_rec key.destroy "actor=component:inkan-sam .*reason=expired .*cred=$EXP"
TOKEN=$(login hanako "$PW")
next_otp; authorize "$EXP" "$TOKEN" "$OTP" "$PIN" "$(digest sha256 late)"
is "signing with it fails clearly" "$HTTP/$(jget .error_description)" "400/Credential is revoked: its key was destroyed"

# ---- 4d. termination -----------------------------------------------------------
new_signer taro p256
TCRED=$CRED
T2=$(inkan_add_credential taro p384) || bail "second credential for taro"
out=$(inkanctl user terminate taro --reason left 2>&1); rc=$?
is "user terminate: every key of the signer destroyed ($out)" "$rc/$out" "0/user taro terminated: 2 keys destroyed, no login any more"
ok "... both keys gone from the HSM" grep -q "destroyed key $TCRED" "$SCMLOG"
ok "... (the second too)" grep -q "destroyed key $T2" "$SCMLOG"
ok "... recorded: user.terminate" has_rec user.terminate "keys_destroyed=2"
ok "... and key.destroy reason terminated" has_rec key.destroy "reason=terminated .*cred=$T2"
csc v2 credentials/list '{}' "$TOKEN"
is "the signer's access token died with the termination" "$HTTP" 401
is "a terminated signer cannot log in" "$(login taro "$PW")" ""

ok "the whole set serves" inkan_alive
done_testing
