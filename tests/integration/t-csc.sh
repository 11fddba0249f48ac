#!/usr/bin/env bash
# t-csc.sh — the CSC surface of the walking skeleton: info on both versions,
# login, credentials/list and credentials/info (v1 and v2 shapes), and the
# CSC error format for bad input. Nothing here may crash a daemon.
. "$INKAN_SRC/tests/integration/lib.sh"
t_start
new_signer erin p256

for v in v1 v2; do
  csc $v info '{}'
  is "$v info: 200" "$HTTP" 200
  ok "$v info names the methods" sh -c "printf '%s' '$BODY' | jq -e '.methods | index(\"signatures/signHash\")' >/dev/null"
done
csc v2 info '{}'
is "v2 info: specs" "$(jget .specs)" "2.0.0.2"
ok "v2 info lists signAlgorithms" test "$(jget '.signAlgorithms.algos | length')" -gt 0
csc v1 info '{}'
is "v1 info: specs" "$(jget .specs)" "1.0.4.0"

csc v2 credentials/list '{}' "$TOKEN"
is "credentials/list: 200" "$HTTP" 200
is "credentials/list returns the signer's credential" "$(jget '.credentialIDs[0]')" "$CRED"

csc v2 credentials/info "{\"credentialID\":\"$CRED\"}" "$TOKEN"
is "v2 credentials/info: 200" "$HTTP" 200
ok "v2 key.algo lists ecdsa-with-SHA256" sh -c "printf '%s' '$BODY' | jq -e '.key.algo | index(\"1.2.840.10045.4.3.2\")' >/dev/null"
is "v2 key.curve is P-256" "$(jget .key.curve)" "1.2.840.10045.3.1.7"
is "v2 key.len" "$(jget .key.len)" 256
is "v2 key.status" "$(jget .key.status)" enabled
is "v2 SCAL" "$(jget .SCAL)" 2
is "v2 auth.mode" "$(jget .auth.mode)" explicit
is "v2 auth.expression" "$(jget .auth.expression)" "PIN AND OTP"
ok "v2 cert.subjectDN names the signer" sh -c "printf '%s' '$BODY' | jq -r .cert.subjectDN | grep -q erin"
ok "v2 multisign is a number" test "$(jget '.multisign | type')" = number
csc v2 credentials/info "{\"credentialID\":\"$CRED\",\"certificates\":\"chain\"}" "$TOKEN"
is "certificates=chain: end-entity then CA" "$(jget '.cert.certificates | length')" 2
csc v1 credentials/info "{\"credentialID\":\"$CRED\"}" "$TOKEN"
is "v1 credentials/info: authMode" "$(jget .authMode)" explicit
is "v1 PIN.presence" "$(jget .PIN.presence)" true
is "v1 OTP.presence" "$(jget .OTP.presence)" true

# Errors in CSC form.
csc v2 credentials/info '{"credentialID":"0000000000000000000000000000dead"}' "$TOKEN"
is "unknown credential: 400" "$HTTP" 400
is "... invalid_request" "$(jget .error)" invalid_request
csc v2 credentials/list '{}' ""
is "no token: 401" "$HTTP" 401
is "... invalid_token" "$(jget .error)" invalid_token
csc v2 credentials/list '{not json' "$TOKEN"
is "broken JSON: 400" "$HTTP" 400
ok "... with error_description" test -n "$(jget '.error_description // empty')"
csc v2 credentials/info '{"credentialID":12}' "$TOKEN"
is "wrong type: 400" "$HTTP" 400
csc v2 credentials/authorize "{\"credentialID\":\"$CRED\",\"numSignatures\":1,\"hashes\":[\"@@@\"]}" "$TOKEN"
is "invalid base64: 400" "$HTTP" 400
csc v2 credentials/authorize "{\"credentialID\":\"$CRED\",\"numSignatures\":1,\"hashes\":[\"AAAA\"]}" "$TOKEN"
is "a 3-byte digest: 400" "$HTTP" 400
csc v2 signatures/signDoc '{}' "$TOKEN"
is "unimplemented method: 501" "$HTTP" 501
head -c 3000000 /dev/zero | tr '\0' 'a' >"$T_TMP/big"
HTTP=$(curl -s -o "$T_TMP/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' --data-binary @"$T_TMP/big" "$URL/csc/v2/credentials/list")
is "an oversize body: 413" "$HTTP" 413
ok "413 carries the CSC error form" test -n "$(jq -r '.error // empty' "$T_TMP/body")"

for d in inkan-scm inkan-sam inkan-sic; do
  ok "$d survived all of it" inkan_running "$(inkan_pid $d)"
done
done_testing
