#!/usr/bin/env bash
# t-csc-v2.sh — issue 4: every CSC v2.0.0.2 method over TLS, success and each
# documented error: info, auth/login, auth/revoke, credentials/list (all
# options), credentials/info, credentials/authorize, credentials/
# extendTransaction and signatures/signHash with every signAlgo inkan offers
# (ECDSA, PKCS#1 v1.5 with and without the hash in the OID, RSASSA-PSS from
# DER parameters up to the maximum salt), each signature checked by OpenSSL.
. "$INKAN_SRC/tests/integration/lib.sh"
t_start
# A TOTP code of the step before the current one dies at the next 30 s
# boundary: never compute one in the last 3 s of a step.
jc() { printf '%s' "$BODY" | jq -c "$1"; }
hex2b64() { printf '%b' "$(printf '%s' "$1" | sed 's/../\\x&/g')" | base64 -w0; }

new_signer vera p256
V_TOKEN=$TOKEN V_CRED=$CRED V_PIN=$PIN V_SECRET=$SECRET V_PW=$PW
cert_pubkey "$V_CRED" "$V_TOKEN" "$T_TMP/ec.pub"
R_CRED=$(inkan_add_credential vera rsa2048 "vera rsa") || bail "rsa credential"

# ---- info -------------------------------------------------------------------
csc v2 info '{}'
is "info: 200 over https" "$HTTP" 200
is "info: specs" "$(jget .specs)" 2.0.0.2
is "info: authType" "$(jc .authType)" '["basic","oauth2code"]'
is "info: oauth2 base" "$(jget .oauth2)" "$URL/csc/v2"
is "info: methods" "$(jc .methods)" '["auth/login","auth/revoke","credentials/list","credentials/info","credentials/authorize","signatures/signHash","credentials/extendTransaction","oauth2/authorize","oauth2/token","oauth2/revoke","credentials/create"]'
is "info: eight signature algorithms" "$(jget '.signAlgorithms.algos | length')" 8
for f in name logo region lang description; do
  ok "info: $f present" test "$(jget "has(\"$f\")")" = true
done
is "info: no asynchronous mode" "$(jget .asynchronousOperationMode)" false
HTTP=$(curl -s -o "$T_TMP/body" -w '%{http_code}' "$URL/csc/v2/info"); BODY=$(cat "$T_TMP/body")
is "info: GET works too" "$HTTP" 200
csc v2 info '{"lang":5}'
is "info: a bad lang is 400" "$HTTP" 400
for m in signatures/signDoc credentials/sendOTP credentials/authorizeCheck signatures/timestamp credentials/getChallenge; do
  csc v2 "$m" '{}' "$V_TOKEN"
  is "$m: 501 not_implemented" "$HTTP/$(jget .error)" 501/not_implemented
done

# ---- auth/login, auth/revoke --------------------------------------------------
HTTP=$(curl -s -o "$T_TMP/body" -w '%{http_code}' -X POST -u "vera:$V_PW" -d '{"rememberMe":false}' "$URL/csc/v2/auth/login"); BODY=$(cat "$T_TMP/body")
is "auth/login: 200" "$HTTP" 200
ok "auth/login: access_token and expires_in" test "$(jget '(.access_token|length) > 0 and .expires_in > 0')" = true
T2=$(jget .access_token)
HTTP=$(curl -s -o "$T_TMP/body" -w '%{http_code}' -X POST -u "vera:wrong" -d '{}' "$URL/csc/v2/auth/login"); BODY=$(cat "$T_TMP/body")
is "auth/login: wrong password 401 authentication_error" "$HTTP/$(jget .error)" 401/authentication_error
HTTP=$(curl -s -o "$T_TMP/body" -w '%{http_code}' -X POST -d '{}' "$URL/csc/v2/auth/login"); BODY=$(cat "$T_TMP/body")
is "auth/login: no credentials 401" "$HTTP" 401
HTTP=$(curl -s -o "$T_TMP/body" -w '%{http_code}' -X POST -u "vera:$V_PW" -d '{"refresh_token":"x"}' "$URL/csc/v2/auth/login"); BODY=$(cat "$T_TMP/body")
is "auth/login: refresh_token 400 invalid_grant" "$HTTP/$(jget .error)" 400/invalid_grant
csc v2 auth/revoke "{\"token\":\"$T2\"}" "$T2"
is "auth/revoke: 204" "$HTTP" 204
csc v2 credentials/list '{}' "$T2"
is "a revoked token: 401 invalid_token" "$HTTP/$(jget .error)" 401/invalid_token
csc v2 auth/revoke '{"token":7}' "$V_TOKEN"
is "auth/revoke: bad token type 400" "$HTTP" 400
csc v2 auth/revoke '{}' ""
is "auth/revoke: no token 401" "$HTTP" 401

# ---- credentials/list ------------------------------------------------------------
csc v2 credentials/list '{}' "$V_TOKEN"
is "list: two credentials" "$(jget '.credentialIDs | length')" 2
is "list: no credentialInfos unless asked" "$(jget 'has("credentialInfos")')" false
csc v2 credentials/list '{"credentialInfo":true,"certificates":"chain","certInfo":true,"authInfo":true}' "$V_TOKEN"
is "list: credentialInfos for each" "$(jget '.credentialInfos | length')" 2
is "list: infos carry their credentialID" "$(jget '([.credentialInfos[].credentialID] | sort) == (.credentialIDs | sort)')" true
is "list: certificates=chain gives two" "$(jget '.credentialInfos[0].cert.certificates | length')" 2
ok "list: certInfo subjectDN" test -n "$(jget '.credentialInfos[0].cert.subjectDN // empty')"
is "list: authInfo" "$(jget '.credentialInfos[0].auth.expression')" "PIN AND OTP"
csc v2 credentials/list '{"credentialInfo":true,"certificates":"none"}' "$V_TOKEN"
is "list: certificates=none gives none" "$(jget '.credentialInfos[0].cert | has("certificates")')" false
csc v2 credentials/list '{"credentialInfo":true,"certificates":"single"}' "$V_TOKEN"
is "list: certificates=single gives one" "$(jget '.credentialInfos[0].cert.certificates | length')" 1
read -r P_CRED _ < <(inkan_enrol vera p256)     # no certificate registered
csc v2 credentials/list '{}' "$V_TOKEN"
is "list: a credential without certificate is listed" "$(jget '.credentialIDs | length')" 3
csc v2 credentials/list '{"onlyValid":true}' "$V_TOKEN"
is "list: onlyValid leaves it out" "$(jget '.credentialIDs | length')" 2
ok "list: ... and keeps the valid ones" sh -c "printf '%s' '$BODY' | jq -e '.credentialIDs | index(\"$V_CRED\")' >/dev/null"
csc v2 credentials/list '{"certificates":"all"}' "$V_TOKEN"
is "list: certificates=all 400" "$HTTP" 400
csc v2 credentials/list '{"onlyValid":"yes"}' "$V_TOKEN"
is "list: onlyValid not a boolean 400" "$HTTP" 400

# ---- credentials/info --------------------------------------------------------------
csc v2 credentials/info "{\"credentialID\":\"$R_CRED\",\"certInfo\":true,\"authInfo\":true}" "$V_TOKEN"
is "info(rsa): 200" "$HTTP" 200
is "info(rsa): key.len" "$(jget .key.len)" 2048
is "info(rsa): key.algo" "$(jc '.key.algo | sort')" '["1.2.840.113549.1.1.1","1.2.840.113549.1.1.10","1.2.840.113549.1.1.11","1.2.840.113549.1.1.12","1.2.840.113549.1.1.13"]'
is "info(rsa): no curve" "$(jget '.key | has("curve")')" false
for f in issuerDN subjectDN serialNumber validFrom validTo; do
  ok "info: cert.$f" test -n "$(jget ".cert.$f // empty")"
done
is "info: cert.status" "$(jget .cert.status)" valid
is "info: auth.mode" "$(jget .auth.mode)" explicit
is "info: auth.objects PIN and OTP" "$(jc '[.auth.objects[].id]')" '["PIN","OTP"]'
is "info: SCAL 2" "$(jget .SCAL)" 2
csc v2 credentials/info "{\"credentialID\":\"$P_CRED\"}" "$V_TOKEN"
is "info(pending): key disabled" "$(jget .key.status)" disabled
csc v2 credentials/info '{}' "$V_TOKEN"
is "info: missing credentialID 400" "$HTTP/$(jget .error_description)" "400/Missing parameter credentialID"

# ---- credentials/authorize -----------------------------------------------------------
# Each TOTP step is accepted once per signer and only three are in the
# window: refused attempts reuse one OTP (a refusal spends none), and the
# algorithms below are shared out over three signers.
PIN=$V_PIN SECRET=$V_SECRET
h256=$(digest sha256 v2-a) h384=$(digest sha384 v2-b) h512=$(digest sha512 v2-c)
otp_guard; next_otp; OTP_E=$OTP   # the ledger knows the enrolment's steps
authorize "$V_CRED" "$V_TOKEN" "$OTP_E" "0000000" "$h256"
is "authorize: wrong PIN 400 invalid_authentication_data" "$HTTP/$(jget .error)" 400/invalid_authentication_data
authorize "$V_CRED" "$V_TOKEN" "000000" "$PIN" "$h256"
is "authorize: wrong OTP 400 invalid_authentication_data" "$HTTP/$(jget .error)" 400/invalid_authentication_data
csc v2 credentials/authorize "{\"credentialID\":\"$V_CRED\",\"numSignatures\":1,\"hashes\":[\"$h256\"],\"authData\":[{\"id\":\"PIN\",\"value\":\"$PIN\"}]}" "$V_TOKEN"
is "authorize: OTP missing 400 invalid_authentication_data" "$HTTP/$(jget .error)" 400/invalid_authentication_data
csc v2 credentials/authorize "{\"credentialID\":\"$P_CRED\",\"numSignatures\":1,\"hashes\":[\"$h256\"],\"authData\":[{\"id\":\"PIN\",\"value\":\"$PIN\"},{\"id\":\"OTP\",\"value\":\"$OTP_E\"}]}" "$V_TOKEN"
is "authorize: a credential without certificate 400" "$HTTP/$(jget .error_description)" "400/Credential is disabled"
csc v2 credentials/authorize "{\"credentialID\":\"$V_CRED\",\"numSignatures\":2,\"hashes\":[\"$h256\"],\"authData\":[]}" "$V_TOKEN"
is "authorize: numSignatures != hashes 400" "$HTTP" 400
csc v2 credentials/authorize "{\"credentialID\":\"$V_CRED\",\"numSignatures\":1,\"hashes\":[\"$h256\"],\"hashAlgorithmOID\":\"2.16.840.1.101.3.4.2.2\",\"authData\":[]}" "$V_TOKEN"
is "authorize: digest length against hashAlgorithmOID 400" "$HTTP/$(jget .error_description)" "400/Invalid digest value length"
otp_guard; next_otp; authorize "$V_CRED" "$V_TOKEN" "$OTP" "$PIN" "$h256"
is "authorize: 200 with SAD" "$HTTP" 200
is "authorize: expiresIn" "$(jget '.expiresIn > 0')" true

# ---- signatures/signHash: every algorithm ---------------------------------------------
sign_sad() {   # sign_sad CRED TOKEN SAD HASHB64 ALGO HASHOID [PARAMS] -> HTTP, BODY, SIG
  local cred=$1 tok=$2 sad=$3 h=$4 algo=$5 hoid=$6 params=${7:-} extra=""
  [ -n "$hoid" ] && extra=",\"hashAlgorithmOID\":\"$hoid\""
  [ -n "$params" ] && extra="$extra,\"signAlgoParams\":\"$params\""
  csc v2 signatures/signHash "{\"credentialID\":\"$cred\",\"SAD\":\"$sad\",\"hashes\":[\"$h\"],\"signAlgo\":\"$algo\"$extra}" "$tok"
  SIG=$(jget '.signatures[0] // empty')
}
sign_sad "$V_CRED" "$V_TOKEN" "$SAD" "$h256" 1.2.840.10045.4.3.2 ""
ok "ecdsa-with-SHA256 verifies" verify_sig "$T_TMP/ec.pub" "$h256" "$SIG" ecdsa sha256
ok "... and is a DER ECDSA-Sig-Value" sh -c "printf '%s' '$SIG' | base64 -d | openssl asn1parse -inform DER >/dev/null"
otp_guard; next_otp; authorize "$V_CRED" "$V_TOKEN" "$OTP" "$PIN" "$h384"
sign_sad "$V_CRED" "$V_TOKEN" "$SAD" "$h384" 1.2.840.10045.4.3.3 ""
ok "ecdsa-with-SHA384 verifies" verify_sig "$T_TMP/ec.pub" "$h384" "$SIG" ecdsa sha384
otp_guard; next_otp; authorize "$V_CRED" "$V_TOKEN" "$OTP" "$PIN" "$h512"
sign_sad "$V_CRED" "$V_TOKEN" "$SAD" "$h512" 1.2.840.10045.4.3.4 ""
ok "ecdsa-with-SHA512 verifies" verify_sig "$T_TMP/ec.pub" "$h512" "$SIG" ecdsa sha512

# RSA: a second signer; one SAD for all the SHA-256 digests.
new_signer rita rsa2048
cert_pubkey "$CRED" "$TOKEN" "$T_TMP/rsa.pub"
R_CRED=$CRED R_TOKEN=$TOKEN
r1=$(digest sha256 r-1) r2=$(digest sha256 r-2) r3=$(digest sha256 r-3) r4=$(digest sha256 r-4)
r5=$(digest sha256 r-5) r6=$(digest sha256 r-6)
otp_guard; next_otp; authorize "$R_CRED" "$R_TOKEN" "$OTP" "$PIN" "$r1" "$r2" "$r3" "$r4" "$r5" "$r6"
RSAD=$SAD
is "rsa: one SAD for six SHA-256 digests" "$HTTP" 200
sign_sad "$R_CRED" "$R_TOKEN" "$RSAD" "$r1" 1.2.840.113549.1.1.11 ""
ok "sha256WithRSAEncryption verifies" verify_sig "$T_TMP/rsa.pub" "$r1" "$SIG" pkcs1 sha256
sign_sad "$R_CRED" "$R_TOKEN" "$RSAD" "$r2" 1.2.840.113549.1.1.1 2.16.840.1.101.3.4.2.1
ok "rsaEncryption with hashAlgorithmOID verifies" verify_sig "$T_TMP/rsa.pub" "$r2" "$SIG" pkcs1 sha256
# RSASSA-PSS-params: SHA-256, MGF1-SHA-256, salt 32 / 222 (the maximum for
# a 2048-bit key and a 32-byte digest) / 223.
PSS32=$(hex2b64 3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120)
PSSMAX=$(hex2b64 3035a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a204020200de)
PSSOVER=$(hex2b64 3035a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a204020200df)
sign_sad "$R_CRED" "$R_TOKEN" "$RSAD" "$r3" 1.2.840.113549.1.1.10 "" "$PSS32"
ok "RSASSA-PSS salt 32 verifies" verify_sig "$T_TMP/rsa.pub" "$r3" "$SIG" pss sha256 32
sign_sad "$R_CRED" "$R_TOKEN" "$RSAD" "$r4" 1.2.840.113549.1.1.10 "" "$PSSOVER"
is "RSASSA-PSS salt above the maximum 400" "$HTTP" 400
sign_sad "$R_CRED" "$R_TOKEN" "$RSAD" "$r4" 1.2.840.113549.1.1.10 "" "$PSSMAX"
ok "RSASSA-PSS maximum salt (222) verifies" verify_sig "$T_TMP/rsa.pub" "$r4" "$SIG" pss sha256 222
sign_sad "$R_CRED" "$R_TOKEN" "$RSAD" "$r5" 1.2.840.113549.1.1.10 2.16.840.1.101.3.4.2.1
ok "RSASSA-PSS from hashAlgorithmOID alone verifies (salt = digest length)" verify_sig "$T_TMP/rsa.pub" "$r5" "$SIG" pss sha256 32
# signHash errors, all on r6 (a refused request spends nothing)
sign_hash "$R_CRED" "$R_TOKEN" "$RSAD" 1.2.840.10045.4.3.2 "" "$r6"
is "signHash: signAlgo not in key.algo 400" "$HTTP/$(jget .error_description)" "400/Invalid parameter signAlgo"
sign_hash "$R_CRED" "$R_TOKEN" "$RSAD" 1.2.840.113549.1.1.1 "" "$r6"
is "signHash: rsaEncryption without hashAlgorithmOID 400" "$HTTP" 400
sign_hash "$R_CRED" "$R_TOKEN" "$RSAD" 1.2.840.113549.1.1.12 "" "$r6"
is "signHash: a SHA-256 digest for sha384WithRSA 400" "$HTTP/$(jget .error_description)" "400/Invalid digest value length"
sign_hash "$R_CRED" "$R_TOKEN" "$RSAD" 1.2.840.113549.1.1.11 2.16.840.1.101.3.4.2.3 "$r6"
is "signHash: hashAlgorithmOID disagreeing with signAlgo 400" "$HTTP" 400
sign_hash "$R_CRED" "$R_TOKEN" "$RSAD" 1.2.840.113549.1.1.10 "" "$r6"
is "signHash: PSS without parameters or hash 400" "$HTTP" 400
csc v2 signatures/signHash "{\"credentialID\":\"$R_CRED\",\"SAD\":\"$RSAD\",\"hashes\":[\"$r6\"],\"signAlgo\":\"1.2.840.113549.1.1.10\",\"signAlgoParams\":\"MAA=\"}" "$R_TOKEN"
is "signHash: PSS parameters without a SHA-2 hash (SHA-1 default) 400" "$HTTP" 400
csc v2 signatures/signHash "{\"credentialID\":\"$R_CRED\",\"SAD\":\"$RSAD\",\"hashes\":[\"$r6\"],\"signAlgo\":\"1.2.840.113549.1.1.11\",\"operationMode\":\"A\"}" "$R_TOKEN"
is "signHash: operationMode A 400" "$HTTP/$(jget .error_description)" "400/Invalid parameter operationMode"
csc v2 signatures/signHash "{\"credentialID\":\"$R_CRED\",\"hashes\":[\"$r6\"],\"signAlgo\":\"1.2.840.113549.1.1.11\"}" "$R_TOKEN"
is "signHash: no SAD 400" "$HTTP/$(jget .error_description)" "400/Missing parameter SAD"
many=$(for i in $(seq 1 257); do printf '"%s",' "$r6"; done); many="[${many%,}]"
csc v2 signatures/signHash "{\"credentialID\":\"$R_CRED\",\"SAD\":\"$RSAD\",\"hashes\":$many,\"signAlgo\":\"1.2.840.113549.1.1.11\"}" "$R_TOKEN"
is "signHash: 257 hashes 400" "$HTTP/$(jget .error_description)" "400/Invalid parameter hashes"
sign_hash "$R_CRED" "$V_TOKEN" "$RSAD" 1.2.840.113549.1.1.11 "" "$r6"
is "signHash: another signer's token 400" "$HTTP" 400
sign_hash "$R_CRED" "$R_TOKEN" "$RSAD" 1.2.840.113549.1.1.11 "" "$r6"
is "signHash: after all those, the hash still signs once" "$HTTP" 200
ok "... and verifies" verify_sig "$T_TMP/rsa.pub" "$r6" "$(jget '.signatures[0]')" pkcs1 sha256
r384=$(digest sha384 r-384) r512=$(digest sha512 r-512)
otp_guard; next_otp; authorize "$R_CRED" "$R_TOKEN" "$OTP" "$PIN" "$r384"
sign_sad "$R_CRED" "$R_TOKEN" "$SAD" "$r384" 1.2.840.113549.1.1.12 ""
ok "sha384WithRSAEncryption verifies" verify_sig "$T_TMP/rsa.pub" "$r384" "$SIG" pkcs1 sha384
otp_guard; next_otp; authorize "$R_CRED" "$R_TOKEN" "$OTP" "$PIN" "$r512"
sign_sad "$R_CRED" "$R_TOKEN" "$SAD" "$r512" 1.2.840.113549.1.1.13 ""
ok "sha512WithRSAEncryption verifies" verify_sig "$T_TMP/rsa.pub" "$r512" "$SIG" pkcs1 sha512

# ---- credentials/extendTransaction ----------------------------------------------------
new_signer ella p256
V_CRED=$CRED V_TOKEN=$TOKEN
cert_pubkey "$V_CRED" "$V_TOKEN" "$T_TMP/ec.pub"
e1=$(digest sha256 ext-1) e2=$(digest sha256 ext-2)
otp_guard; next_otp; authorize "$V_CRED" "$V_TOKEN" "$OTP" "$PIN" "$e1" "$e2"
OLD=$SAD
sign_hash "$V_CRED" "$V_TOKEN" "$OLD" 1.2.840.10045.4.3.2 "" "$e1"
is "extend: first hash signed with the old SAD" "$HTTP" 200
csc v2 credentials/extendTransaction "{\"credentialID\":\"$V_CRED\",\"SAD\":\"$OLD\",\"hashes\":[\"$e2\"]}" "$V_TOKEN"
is "extendTransaction: 200" "$HTTP" 200
NEW=$(jget '.SAD // empty')
ok "extendTransaction: a new SAD and expiresIn" test -n "$NEW" -a "$(jget '.expiresIn > 0')" = true
sign_hash "$V_CRED" "$V_TOKEN" "$OLD" 1.2.840.10045.4.3.2 "" "$e2"
is "extend: the old SAD is gone" "$HTTP/$(jget .error_description)" "400/Invalid SAD"
sign_hash "$V_CRED" "$V_TOKEN" "$NEW" 1.2.840.10045.4.3.2 "" "$e1"
is "extend: the new SAD does not sign the spent hash" "$HTTP" 400
sign_hash "$V_CRED" "$V_TOKEN" "$NEW" 1.2.840.10045.4.3.2 "" "$e2"
is "extend: the new SAD signs the remaining hash" "$HTTP" 200
ok "... verified" verify_sig "$T_TMP/ec.pub" "$e2" "$(jget '.signatures[0]')" ecdsa sha256
csc v2 credentials/extendTransaction "{\"credentialID\":\"$V_CRED\",\"SAD\":\"$OLD\"}" "$V_TOKEN"
is "extendTransaction: an unknown SAD 400" "$HTTP/$(jget .error)" 400/invalid_request
csc v2 credentials/extendTransaction "{\"credentialID\":\"$V_CRED\"}" "$V_TOKEN"
is "extendTransaction: no SAD 400" "$HTTP/$(jget .error_description)" "400/Missing parameter SAD"
csc v2 credentials/extendTransaction "{\"credentialID\":\"$V_CRED\",\"SAD\":\"$NEW\"}" ""
is "extendTransaction: no token 401" "$HTTP" 401

for d in inkan-scm inkan-sam inkan-sic; do
  ok "$d survived all of it" inkan_running "$(inkan_pid $d)"
done
done_testing
