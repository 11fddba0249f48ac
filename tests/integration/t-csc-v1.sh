#!/usr/bin/env bash
# t-csc-v1.sh — issue 4: every CSC v1.0.4.0 method over TLS with v1 field
# names and shapes, success and each documented error: info, auth/login,
# auth/revoke, credentials/list (maxResults, pageToken, nextPageToken),
# credentials/info (flat authMode/PIN/OTP), credentials/authorize (PIN, OTP,
# invalid_pin / invalid_otp, "PIN locked"), credentials/extendTransaction,
# signatures/signHash (hash, hashAlgo), each signature checked by OpenSSL.
. "$INKAN_SRC/tests/integration/lib.sh"
t_start
# A TOTP code of the step before the current one dies at the next 30 s
# boundary: never compute one in the last 3 s of a step.
jc() { printf '%s' "$BODY" | jq -c "$1"; }

new_signer otto p256
cert_pubkey "$CRED" "$TOKEN" "$T_TMP/ec.pub"
C2=$(inkan_add_credential otto p384 "otto two") || bail "second credential"
C3=$(inkan_add_credential otto p256 "otto three") || bail "third credential"

csc v1 info '{}'
is "info: 200" "$HTTP" 200
is "info: specs" "$(jget .specs)" 1.0.4.0
is "info: authType" "$(jc .authType)" '["basic","oauth2code"]'
is "info: oauth2 base" "$(jget .oauth2)" "$URL/csc/v1"
ok "info: methods list extendTransaction and oauth2/token" test "$(jget '.methods | index("credentials/extendTransaction") != null and index("oauth2/token") != null')" = true
is "info: no v2-only fields" "$(jget 'has("signAlgorithms")')" false
csc v1 signatures/signDoc '{}' "$TOKEN"
is "an unimplemented method: 501" "$HTTP/$(jget .error)" 501/not_implemented

HTTP=$(curl -s -o "$T_TMP/body" -w '%{http_code}' -X POST -u "otto:$PW" -d '{}' "$URL/csc/v1/auth/login"); BODY=$(cat "$T_TMP/body")
is "auth/login: 200" "$HTTP" 200
T2=$(jget .access_token)
HTTP=$(curl -s -o "$T_TMP/body" -w '%{http_code}' -X POST -u "nobody:$PW" -d '{}' "$URL/csc/v1/auth/login"); BODY=$(cat "$T_TMP/body")
is "auth/login: unknown user 401 authentication_error" "$HTTP/$(jget .error)" 401/authentication_error
csc v1 auth/revoke '{}' "$T2"
is "auth/revoke: 204" "$HTTP" 204
csc v1 credentials/info "{\"credentialID\":\"$CRED\"}" "$T2"
is "revoked token: 401 invalid_token" "$HTTP/$(jget .error)" 401/invalid_token

# credentials/list: paging
csc v1 credentials/list '{}' "$TOKEN"
is "list: three credentials" "$(jget '.credentialIDs | length')" 3
ALL=$(jc .credentialIDs)
csc v1 credentials/list '{"maxResults":2}' "$TOKEN"
is "list maxResults=2: two" "$(jget '.credentialIDs | length')" 2
NEXT=$(jget '.nextPageToken // empty')
ok "list: nextPageToken given" test -n "$NEXT"
P1=$(jc .credentialIDs)
csc v1 credentials/list "{\"maxResults\":2,\"pageToken\":\"$NEXT\"}" "$TOKEN"
is "list page 2: the last one" "$(jget '.credentialIDs | length')" 1
is "list page 2: no nextPageToken" "$(jget 'has("nextPageToken")')" false
is "list: the pages add up" "$(jq -cn --argjson a "$P1" --argjson b "$(jc .credentialIDs)" '$a + $b')" "$ALL"
csc v1 credentials/list '{"maxResults":0}' "$TOKEN"
is "list maxResults=0 400" "$HTTP" 400
csc v1 credentials/list '{"pageToken":"abc"}' "$TOKEN"
is "list: bad pageToken 400" "$HTTP/$(jget .error_description)" "400/Invalid parameter pageToken"
csc v1 credentials/list '{"pageToken":"9"}' "$TOKEN"
is "list: pageToken past the end 400" "$HTTP" 400

# credentials/info: v1 shape
csc v1 credentials/info "{\"credentialID\":\"$C2\",\"certificates\":\"chain\",\"certInfo\":true}" "$TOKEN"
is "info: 200" "$HTTP" 200
is "info: authMode" "$(jget .authMode)" explicit
is "info: PIN object" "$(jc '.PIN | {presence, format}')" '{"presence":"true","format":"N"}'
is "info: OTP object" "$(jc '.OTP | {presence, type}')" '{"presence":"true","type":"offline"}'
is "info: no v2 auth object" "$(jget 'has("auth")')" false
is "info: P-384 curve" "$(jget .key.curve)" 1.3.132.0.34
is "info: chain of two" "$(jget '.cert.certificates | length')" 2
for f in issuerDN subjectDN serialNumber validFrom validTo; do
  ok "info: cert.$f" test -n "$(jget ".cert.$f // empty")"
done
ok "info: validTo is a GeneralizedTime" sh -c "printf '%s' '$(jget .cert.validTo)' | grep -Eq '^[0-9]{14}Z$'"

# credentials/authorize and signHash with v1 names
v1_authorize() {   # v1_authorize CRED PIN OTP HASH...
  local cred=$1 pin=$2 otp=$3; shift 3
  local hs; hs=$(printf '"%s",' "$@"); hs="[${hs%,}]"
  csc v1 credentials/authorize "{\"credentialID\":\"$cred\",\"numSignatures\":$#,\"hash\":$hs,\"PIN\":\"$pin\",\"OTP\":\"$otp\"}" "$TOKEN"
  SAD=$(jget '.SAD // empty')
}
v1_sign() {   # v1_sign CRED SAD ALGO HASHALGO HASH
  csc v1 signatures/signHash "{\"credentialID\":\"$1\",\"SAD\":\"$2\",\"hash\":[\"$5\"],\"signAlgo\":\"$3\",\"hashAlgo\":\"$4\"}" "$TOKEN"
}
h=$(digest sha256 v1-one)
otp_guard; next_otp; v1_authorize "$CRED" "$PIN" "$OTP" "$h"
is "authorize: 200" "$HTTP" 200
v1_sign "$CRED" "$SAD" 1.2.840.10045.4.3.2 2.16.840.1.101.3.4.2.1 "$h"
is "signHash: 200" "$HTTP" 200
ok "signHash: verifies" verify_sig "$T_TMP/ec.pub" "$h" "$(jget '.signatures[0]')" ecdsa sha256
sig=$(jget '.signatures[0]')
v1_sign "$CRED" "$SAD" 1.2.840.10045.4.3.2 2.16.840.1.101.3.4.2.1 "$h"
is "signHash: the SAD is spent; asked again, the same signature" "$HTTP/$(jget '.signatures[0]')" "200/$sig"
v1_sign "$CRED" "$SAD" 1.2.840.10045.4.3.2 2.16.840.1.101.3.4.2.1 "$(digest sha256 v1-other)"
is "signHash: the SAD is spent for any other hash" "$HTTP/$(jget .error)" "400/invalid_request"
h2=$(digest sha384 v1-p384)
otp_guard; next_otp; v1_authorize "$C2" "$PIN" "$OTP" "$h2"
v1_sign "$C2" "$SAD" 1.2.840.10045.4.3.3 2.16.840.1.101.3.4.2.2 "$h2"
is "signHash P-384 / SHA-384: 200" "$HTTP" 200
SIG2=$(jget '.signatures[0]')
csc v1 credentials/info "{\"credentialID\":\"$C2\"}" "$TOKEN"
jget '.cert.certificates[0]' | base64 -d | openssl x509 -inform DER -pubkey -noout >"$T_TMP/p384.pub"
ok "P-384 signature verifies" verify_sig "$T_TMP/p384.pub" "$h2" "$SIG2" ecdsa sha384

# errors with v1 codes
h3=$(digest sha256 v1-errors)
# A refused attempt does not spend the OTP: the next valid one is reused.
otp_guard; otp_current; OTP_E=$(inkan_totp "$SECRET" "$OTP_STEP")
v1_authorize "$CRED" "99999999" "$OTP_E" "$h3"
is "authorize: wrong PIN 400 invalid_pin" "$HTTP/$(jget .error)" 400/invalid_pin
v1_authorize "$CRED" "$PIN" "000000" "$h3"
is "authorize: wrong OTP 400 invalid_otp" "$HTTP/$(jget .error)" 400/invalid_otp
csc v1 credentials/authorize "{\"credentialID\":\"$CRED\",\"numSignatures\":1,\"hash\":[\"$h3\"],\"PIN\":\"$PIN\"}" "$TOKEN"
is "authorize: no OTP 400 invalid_request" "$HTTP/$(jget .error)" 400/invalid_request
csc v1 credentials/authorize "{\"credentialID\":\"$CRED\",\"numSignatures\":1,\"hash\":[\"$h3\"],\"PIN\":1234}" "$TOKEN"
is "authorize: PIN not a string 400" "$HTTP/$(jget .error_description)" "400/Invalid parameter PIN"
csc v1 credentials/authorize "{\"credentialID\":\"0000000000000000000000000000dead\",\"numSignatures\":1,\"hash\":[\"$h3\"],\"PIN\":\"1\",\"OTP\":\"1\"}" "$TOKEN"
is "authorize: unknown credential 400" "$HTTP/$(jget .error_description)" "400/Invalid parameter credentialID"

# extendTransaction with v1 names
e1=$(digest sha256 v1-ext-1) e2=$(digest sha256 v1-ext-2)
otp_guard; next_otp; v1_authorize "$CRED" "$PIN" "$OTP" "$e1" "$e2"
OLD=$SAD
csc v1 credentials/extendTransaction "{\"credentialID\":\"$CRED\",\"SAD\":\"$OLD\",\"hash\":[\"$e1\",\"$e2\"]}" "$TOKEN"
is "extendTransaction: 200" "$HTTP" 200
NEW=$(jget .SAD)
v1_sign "$CRED" "$NEW" 1.2.840.10045.4.3.2 2.16.840.1.101.3.4.2.1 "$e2"
is "extend: the new SAD signs" "$HTTP" 200
v1_sign "$CRED" "$OLD" 1.2.840.10045.4.3.2 2.16.840.1.101.3.4.2.1 "$e1"
is "extend: the old one is gone" "$HTTP/$(jget .error_description)" "400/Invalid SAD"

# "PIN locked": five wrong PINs in a row (a second signer, so nothing else
# in this file is affected).
new_signer lotte p256
otp_guard; next_otp
for i in 1 2 3 4 5; do
  v1_authorize "$CRED" "wrong-$i" "$OTP" "$h3"
done
is "after five wrong PINs: invalid_pin" "$HTTP/$(jget .error)" 400/invalid_pin
v1_authorize "$CRED" "$PIN" "$OTP" "$h3"
is "then the right PIN: 400 PIN locked" "$HTTP/$(jget .error_description)" "400/PIN locked"

for d in inkan-scm inkan-sam inkan-sic; do
  ok "$d survived all of it" inkan_running "$(inkan_pid $d)"
done
done_testing
