#!/usr/bin/env bash
# t-sad.sh — issue 2 tests (b) and (c), and the rest of what a SAD binds:
# the hashes, single use of each hash, the count, the credential, the signer,
# and every byte of the SAD itself.
. "$INKAN_SRC/tests/integration/lib.sh"
t_start
ECDSA256=1.2.840.10045.4.3.2

new_signer bob p256
B_TOKEN=$TOKEN B_CRED=$CRED
new_signer alice p256
cert_pubkey "$CRED" "$TOKEN" "$T_TMP/a.pub"
CRED2=$(inkan_add_credential alice p256 "alice second") || bail "second credential"

h1=$(digest sha256 "doc one") h2=$(digest sha256 "doc two") h3=$(digest sha256 "doc three")
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h1" "$h2"
is "authorize two hashes" "$HTTP" 200
ok "a SAD came back" test -n "$SAD"
is "expiresIn is set" "$(jget '.expiresIn > 0')" true

sign_hash "$CRED" "$TOKEN" "$SAD" $ECDSA256 "" "$h3"
is "(b) a hash not bound to the SAD is refused" "$HTTP" 400
is "(b) ... with the CSC message" "$(jget .error_description)" "Hash is not authorized by the SAD"
sign_hash "$CRED" "$TOKEN" "$SAD" $ECDSA256 "" "$h1" "$h3"
is "(b) a batch with one foreign hash is refused whole" "$HTTP" 400

sign_hash "$CRED2" "$TOKEN" "$SAD" $ECDSA256 "" "$h1"
is "the SAD does not activate the signer's other key" "$HTTP" 400
sign_hash "$B_CRED" "$B_TOKEN" "$SAD" $ECDSA256 "" "$h1"
is "another signer's token with this SAD is refused" "$HTTP" 400
sign_hash "$CRED" "$B_TOKEN" "$SAD" $ECDSA256 "" "$h1"
is "another signer's token cannot use this credential" "$HTTP" 400
# One character changed (the middle one), length unchanged.
mid=$(( ${#SAD} / 2 )); c=${SAD:$mid:1}; [ "$c" = A ] && n=B || n=A
bad="${SAD:0:$mid}$n${SAD:$((mid + 1))}"
sign_hash "$CRED" "$TOKEN" "$bad" $ECDSA256 "" "$h1"
is "an altered SAD is refused" "$HTTP" 400
is "... as an invalid SAD" "$(jget .error_description)" "Invalid SAD"

sign_hash "$CRED" "$TOKEN" "$SAD" $ECDSA256 "" "$h1"
is "the bound hash signs" "$HTTP" 200
ok "OpenSSL verifies it" verify_sig "$T_TMP/a.pub" "$h1" "$(jget '.signatures[0]')" ecdsa sha256
sig1=$(jget '.signatures[0]')
sign_hash "$CRED" "$TOKEN" "$SAD" $ECDSA256 "" "$h1"
is "(c) a second use of a SAD-bound hash signs nothing: the first signature again (ECDSA is randomised)" "$HTTP/$(jget '.signatures[0]')" "200/$sig1"
sign_hash "$CRED" "$TOKEN" "$SAD" $ECDSA256 "" "$h2" "$h2"
is "the same hash twice in one request is refused" "$HTTP" 400
sign_hash "$CRED" "$TOKEN" "$SAD" $ECDSA256 "" "$h2"
is "the other bound hash signs once" "$HTTP" 200
ok "OpenSSL verifies it" verify_sig "$T_TMP/a.pub" "$h2" "$(jget '.signatures[0]')" ecdsa sha256
sig2=$(jget '.signatures[0]')
sign_hash "$CRED" "$TOKEN" "$SAD" $ECDSA256 "" "$h2"
is "a used-up SAD signs nothing more: asked again, the first signature" "$HTTP/$(jget '.signatures[0]')" "200/$sig2"
sign_hash "$CRED" "$TOKEN" "$SAD" $ECDSA256 "" "$h1" "$h2"
is "... both at once, in the order asked" "$HTTP/$(jget '.signatures | join(",")')" "200/$sig1,$sig2"
sign_hash "$CRED" "$TOKEN" "$SAD" $ECDSA256 "" "$(digest sha256 "never authorised")"
is "a used-up SAD refuses any other hash" "$HTTP" 400

# numSignatures must match the hashes and stay within multisign.
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h3"
is "a fresh SAD for h3" "$HTTP" 200
next_otp; csc v2 credentials/authorize "{\"credentialID\":\"$CRED\",\"numSignatures\":100000,\"hashes\":[\"$h1\"],\"authData\":[{\"id\":\"PIN\",\"value\":\"$PIN\"},{\"id\":\"OTP\",\"value\":\"$OTP\"}]}" "$TOKEN"
is "numSignatures far above multisign is refused" "$HTTP" 400
sign_hash "$CRED" "$TOKEN" "$SAD" 1.2.840.10045.4.3.3 "" "$h3"
is "a SHA-384 signing algorithm over a SHA-256 digest is refused" "$HTTP" 400
sign_hash "$CRED" "$TOKEN" "$SAD" 1.2.840.113549.1.1.11 "" "$h3"
is "an RSA algorithm on an EC key is refused" "$HTTP" 400
sign_hash "$CRED" "$TOKEN" "$SAD" $ECDSA256 "" "$h3"
is "after those refusals the hash still signs once" "$HTTP" 200
ok "OpenSSL verifies it" verify_sig "$T_TMP/a.pub" "$h3" "$(jget '.signatures[0]')" ecdsa sha256

done_testing
