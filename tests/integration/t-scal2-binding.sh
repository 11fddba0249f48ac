#!/usr/bin/env bash
# t-scal2-binding.sh — issue 3 items 1 and 6: what a SAD stays bound to, end
# to end through the CSC API. The service's multisign and SAD lifetime come
# from [sam]; one credential can be switched to single-hash SADs; auth/revoke
# deletes the token's SADs; a credential the security officer disables stops
# its SADs for good; extendTransaction hands a fresh SAD for exactly what was
# left and voids the old one; the certificate must be valid (UTC) both at
# authorize and at sign. Each check fails when its rule is taken out.
. "$INKAN_SRC/tests/integration/lib.sh"
. "$INKAN_SRC/tests/integration/t-scal2-lib.sh"
t2_start multisign=4 sad_lifetime=120
ECDSA=1.2.840.10045.4.3.2
too_high="Numbers of signatures is too high"
hs=()
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do hs[i]=$(digest sha256 "binding doc $i $RANDOM"); done

new_signer alice p256
cert_pubkey "$CRED" "$TOKEN" "$T_TMP/a.pub"

# --- R5: numSignatures above [sam] multisign
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "${hs[1]}" "${hs[2]}" "${hs[3]}" "${hs[4]}" "${hs[5]}"
is "R5: 5 signatures with [sam] multisign = 4: refused" "$HTTP" 400
is "R5: ... with the CSC message" "$(jget .error_description)" "$too_high"
# (refused before the factors: the OTP is still unused)
authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "${hs[1]}" "${hs[2]}" "${hs[3]}" "${hs[4]}"
is "R5: 4 signatures: a SAD" "$HTTP" 200
is "SAD lifetime from [sam] sad_lifetime = 120" "$(jget .expiresIn)" 120
csc v2 credentials/info "{\"credentialID\":\"$CRED\"}" "$TOKEN"
is "credentials/info says multisign 4" "$(jget .multisign)" 4

# --- R6: batches off for one credential (security officer)
out=$(inkanctl credential set-multisign --credential "$CRED" --multisign 1)
ok "R6: the security officer sets multisign 1 ($out)" test -n "$(printf '%s' "$out" | grep 'effective 1')"
csc v2 credentials/info "{\"credentialID\":\"$CRED\"}" "$TOKEN"
is "R6: credentials/info says multisign 1" "$(jget .multisign)" 1
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "${hs[5]}" "${hs[6]}"
is "R6: a two-hash SAD is refused for that credential" "$HTTP" 400
is "R6: ... as too many signatures" "$(jget .error_description)" "$too_high"
authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "${hs[5]}"
is "R6: one hash: a SAD" "$HTTP" 200
sign_hash "$CRED" "$TOKEN" "$SAD" $ECDSA "" "${hs[5]}"
is "R6: ... that signs" "$HTTP" 200
ok "R6: ... verified by OpenSSL" verify_sig "$T_TMP/a.pub" "${hs[5]}" "$(jget '.signatures[0]')" ecdsa sha256
inkanctl credential set-multisign --credential "$CRED" --multisign 0 >/dev/null
csc v2 credentials/info "{\"credentialID\":\"$CRED\"}" "$TOKEN"
is "multisign 0: the service's value again" "$(jget .multisign)" 4
out=$(inkanctl credential set-multisign --credential "$CRED" --multisign 1 --socket "$INKAN_STATE/sam/admin.sock" 2>&1); rc=$?
ok "the administrator's socket does not take security-officer requests ($out)" test "$rc" -ne 0

# --- auth/revoke: every SAD of the token goes
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "${hs[6]}"
is "revoke: a SAD first" "$HTTP" 200
SAD_R=$SAD
uid=$(db "SELECT id FROM users WHERE name = 'alice'")
ok "revoke: the SAD is in the database" test "$(db "SELECT count(*) FROM sads WHERE user_id = $uid")" -ge 1
csc v2 auth/revoke '{}' "$TOKEN"
ok "auth/revoke answers ($HTTP)" test "$HTTP" = 204 -o "$HTTP" = 200
is "revoke: the token's SADs are deleted" "$(db "SELECT count(*) FROM sads WHERE user_id = $uid")" 0
TOKEN2=$(login alice "$PW")
sign_hash "$CRED" "$TOKEN2" "$SAD_R" $ECDSA "" "${hs[6]}"
is "revoke: the old SAD with a new token: refused" "$HTTP" 400
is "revoke: ... Invalid SAD" "$(jget .error_description)" "Invalid SAD"
sign_hash "$CRED" "$TOKEN" "$SAD_R" $ECDSA "" "${hs[6]}"
is "revoke: the revoked token: 401" "$HTTP" 401

# --- credential disabled by the security officer
new_signer bob p256
cert_pubkey "$CRED" "$TOKEN" "$T_TMP/b.pub"
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "${hs[7]}" "${hs[8]}"
SAD_D=$SAD
out=$(inkanctl credential disable --credential "$CRED")
ok "disable: the security officer disables bob's credential ($out)" test -n "$(printf '%s' "$out" | grep disabled)"
buid=$(db "SELECT id FROM users WHERE name = 'bob'")
is "disable: the credential's SADs are deleted" "$(db "SELECT count(*) FROM sads WHERE user_id = $buid")" 0
sign_hash "$CRED" "$TOKEN" "$SAD_D" $ECDSA "" "${hs[7]}"
is "disable: its SAD signs nothing" "$HTTP" 400
is "disable: ... Credential is disabled" "$(jget .error_description)" "Credential is disabled"
pem=$(ls "$INKAN_STATE"/ca/bob-p256-*.pem | head -n 1)
inkanctl credential import-cert --credential "$CRED" --cert "$pem" --chain "$INKAN_STATE/ca/ca.pem" >/dev/null
sign_hash "$CRED" "$TOKEN" "$SAD_D" $ECDSA "" "${hs[7]}"
is "disable: the administrator's certificate import does not enable it again" "$(jget .error_description)" "Credential is disabled"
inkanctl credential enable --credential "$CRED" >/dev/null
sign_hash "$CRED" "$TOKEN" "$SAD_D" $ECDSA "" "${hs[7]}"
is "enable: the SAD from before the disable stays void" "$(jget .error_description)" "Invalid SAD"
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "${hs[7]}"
sign_hash "$CRED" "$TOKEN" "$SAD" $ECDSA "" "${hs[7]}"
is "enable: a new SAD signs" "$HTTP" 200

# --- credentials/extendTransaction
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "${hs[9]}" "${hs[10]}" "${hs[11]}"
SAD_E=$SAD
sign_hash "$CRED" "$TOKEN" "$SAD_E" $ECDSA "" "${hs[9]}"
is "extend: one of three hashes signed" "$HTTP" 200
csc v2 credentials/extendTransaction "{\"credentialID\":\"$CRED\",\"SAD\":\"$SAD_E\"}" "$TOKEN2"
is "extend: with another signer's token: refused" "$HTTP" 400
csc v2 credentials/extendTransaction "{\"credentialID\":\"$CRED\",\"SAD\":\"$SAD_E\"}" "$TOKEN"
is "extend: 200" "$HTTP" 200
SAD_N=$(jget '.SAD // empty')
ok "extend: a new SAD" test -n "$SAD_N" -a "$SAD_N" != "$SAD_E"
is "extend: expiresIn from sad_lifetime" "$(jget .expiresIn)" 120
sign_hash "$CRED" "$TOKEN" "$SAD_E" $ECDSA "" "${hs[10]}"
is "extend: the old SAD is void" "$(jget .error_description)" "Invalid SAD"
sign_hash "$CRED" "$TOKEN" "$SAD_N" $ECDSA "" "${hs[9]}"
is "extend: the new SAD does not bring back the signed hash" "$(jget .error_description)" "Hash is not authorized by the SAD"
sign_hash "$CRED" "$TOKEN" "$SAD_N" $ECDSA "" "${hs[12]}"
is "extend: ... nor take a new one" "$HTTP" 400
sign_hash "$CRED" "$TOKEN" "$SAD_N" $ECDSA "" "${hs[10]}" "${hs[11]}"
is "extend: the two left sign with the new SAD" "$HTTP" 200
ok "extend: ... verified by OpenSSL" verify_sig "$T_TMP/b.pub" "${hs[11]}" "$(jget '.signatures[1]')" ecdsa sha256
csc v2 credentials/extendTransaction "{\"credentialID\":\"$CRED\",\"SAD\":\"$SAD_N\"}" "$TOKEN"
is "extend: a used-up SAD cannot be extended" "$HTTP" 400

# --- item 6: certificate validity (UTC) at authorize and at sign
new_signer carol p256
# issue 7: a certificate outside its validity is never registered, so the
# key stays unusable; the check at every authorize/sign (R25) is shown with a
# certificate that expires between the two.
for when in "20200101000000Z 20210101000000Z expired" "$(utc 31536000) $(utc 63072000) not-yet-valid"; do
  set -- $when
  read -r BADC bcsr < <(inkan_enrol carol p256) && [ -n "$bcsr" ] || bail "enrol carol"
  issue_cert "$bcsr" "$1" "$2" "${bcsr%.csr}.pem" || bail "issue $3"
  out=$(inkanctl credential import-cert --credential "$BADC" --cert "${bcsr%.csr}.pem" --chain "$INKAN_STATE/ca/ca.pem" 2>&1)
  ok "R25: an $3 certificate is not registered ($out)" test $? -ne 0
done
end=$(( $(date +%s) + 10 ))
SHORT=$(cred_with_dates carol "$(utc -60)" "$(date -u -d "@$end" +%Y%m%d%H%M%SZ)") || bail "short certificate"
# carol's one OTP (refusals before the factors do not spend it)
next_otp
d=$(digest sha256 "carol's contract")
authorize "$BADC" "$TOKEN" "$OTP" "$PIN" "$d"
is "R25: ... so its key gets no SAD" "$(jget .error_description)" "Credential is disabled"
authorize "$SHORT" "$TOKEN" "$OTP" "$PIN" "$d"
is "R25: a certificate valid for a few more seconds: a SAD" "$HTTP" 200
now=$(date +%s); [ "$now" -le "$end" ] && sleep $((end - now + 1))
sign_hash "$SHORT" "$TOKEN" "$SAD" $ECDSA "" "$d"
is "R25: it expired before signHash: refused" "$HTTP" 400
is "R25: ... Signing certificate is expired" "$(jget .error_description)" "Signing certificate is expired"
ok "R25: the SAM logged CERT_EXPIRED at sign" grep -q "sign refused user=carol cred=$SHORT: CERT_EXPIRED" "$SAMLOG"

done_testing
