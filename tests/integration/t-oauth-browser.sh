#!/usr/bin/env bash
# t-oauth-browser.sh — issue 4: the consent flow in a real browser. inkan-sign
# --oauth is run as a signer would run it; it opens the consent URL with
# $BROWSER, which here is headless Chromium driven over the DevTools
# protocol (cdp-consent.py). The browser loads the page over HTTPS (it
# accepts exactly inkan-sic's key), its CSP and style sheet apply, the
# signer's name, password, PIN and OTP are typed into the fields, the
# approve button is clicked, the browser follows the 303 to inkan-sign's
# loopback listener, inkan-sign redeems the code with its PKCE verifier and
# signs; OpenSSL verifies the CMS signature, and the hash the page showed is
# the one that was signed (it is in the signature's signed attributes).
# Skipped, saying so, when Chromium is not installed (tools/bootstrap.sh
# installs it; see docs/csc-api.md).
. "$INKAN_SRC/tests/integration/lib.sh"
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
PY=$(command -v python3 || true)
[ -n "$CHROMIUM" ] || skip_all "chromium is not installed (apt-get install chromium)"
[ -n "$PY" ] || skip_all "python3 is not installed"
t_start
new_signer bea p256

# The browser trusts inkan-sic's key and nothing else of the test CA.
SPKI=$(openssl x509 -in "$INKAN_STATE/ca/server.pem" -pubkey -noout |
  openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | base64 -w0)
export CHROMIUM CHROMIUM_SPKI=$SPKI CONSENT_LOG=$T_TMP/consent.log
export BROWSER="$PY $INKAN_SRC/tests/integration/cdp-consent.py"
export CONSENT_USER=bea CONSENT_PASSWORD=$PW CONSENT_PIN=$PIN
printf 'a contract to sign in a browser\n' >"$T_TMP/contract.txt"

# v2, no --user: two consents (service scope, then the signature). The
# browser takes a few seconds to type it: an OTP of the current step (and
# then of the next) stays valid long enough, and each is newer than the last.
CONSENT_OTP=$(inkan_totp "$SECRET" 0) timeout 60 "$(inkan_bin inkan-sign)" --oauth --url "$URL" --cacert "$CACERT" \
  --credential "$CRED" --lang ja "$T_TMP/contract.txt" >"$T_TMP/out" 2>"$T_TMP/err"
rc=$?
[ $rc -eq 0 ] || { sed 's/^/# /' "$T_TMP/err" "$CONSENT_LOG" 2>/dev/null; }
is "inkan-sign --oauth (v2) with the browser: exit 0" "$rc" 0
is "... wrote the signature" "$(cat "$T_TMP/out")" "signature: $T_TMP/contract.txt.p7s"
ok "OpenSSL verifies the CMS signature" openssl cms -verify -binary -inform DER -in "$T_TMP/contract.txt.p7s" \
  -content "$T_TMP/contract.txt" -CAfile "$CACERT" -out /dev/null
ok "inkan-sign printed the consent URL" grep -q "oauth2/authorize?response_type=code" "$T_TMP/err"
# the browser driver writes its record once Chromium has closed
for i in $(seq 1 100); do [ "$(wc -l <"$CONSENT_LOG")" -ge 2 ] && break; sleep 0.1; done
is "two pages were consented to" "$(wc -l <"$CONSENT_LOG")" 2
L1=$(sed -n 1p "$CONSENT_LOG") L2=$(sed -n 2p "$CONSENT_LOG")
is "page 1: the service consent, in Japanese" "$(jq -r '[.page.lang, .page.asks_pin] | join(" ")' <<<"$L1")" "ja false"
is "page 2: the signature consent asks for PIN and OTP" "$(jq -r '[.page.asks_pin, .page.asks_otp] | join(" ")' <<<"$L2")" "true true"
is "page 2: shows the client" "$(jq -r .page.client <<<"$L2")" inkan-sign
ok "page 2: shows the certificate subject" grep -q 'CN=bea' <<<"$(jq -r .page.subject <<<"$L2")"
is "page 2: one document" "$(jq -r .page.count <<<"$L2")" 1
is "page 2: labelled with the file name" "$(jq -r '.page.labels[0]' <<<"$L2")" contract.txt
ok "page 2: the description names the file" grep -q 'contract.txt' <<<"$(jq -r .page.description <<<"$L2")"
is "no script on the page" "$(jq -r .page.scripts <<<"$L2")" 0
is "the style sheet applied under the CSP" "$(jq -r .page.stylesheet_applied <<<"$L2")" true
ok "the browser landed on inkan-sign's loopback redirect" grep -q '^http://127.0.0.1:[0-9]*/callback?code=' <<<"$(jq -r .final_url <<<"$L2")"
ok "... which told the signer to close the window" grep -q 'close this window' <<<"$(jq -r .final_text <<<"$L2")"
# The hash shown is the message digest of the CMS signed attributes: take
# them from the signature (SignerInfo's [0] IMPLICIT at depth 5 -> SET) and
# hash them.
SHOWN=$(jq -r '.page.hashes[0]' <<<"$L2")
line=$(openssl asn1parse -inform DER -in "$T_TMP/contract.txt.p7s" | grep -m1 'd=5 .*cont \[ 0 \]')
off=${line%%:*}
read -r hl len < <(printf '%s' "$line" | sed -n 's/.*hl= *\([0-9]*\) *l= *\([0-9]*\).*/\1 \2/p')
SIGNED=?
if [ -n "$off" ] && [ -n "$hl" ]; then
  { printf '\x31'; tail -c +$((off + 2)) "$T_TMP/contract.txt.p7s" | head -c $((hl + len - 1)); } >"$T_TMP/attrs.der"
  SIGNED=$(openssl dgst -sha256 -binary "$T_TMP/attrs.der" | od -An -tx1 | tr -d ' \n')
fi
is "the hash the signer saw is the hash that was signed" "$SHOWN" "$SIGNED"

# v1, with --user: the password for the service token, the signature on the
# consent page (token_type SAD).
INKAN_PASSWORD=$PW CONSENT_OTP=$(inkan_totp "$SECRET" 1) timeout 60 "$(inkan_bin inkan-sign)" --oauth --api v1 --url "$URL" \
  --user bea --credential "$CRED" --out "$T_TMP/v1.p7s" "$T_TMP/contract.txt" >/dev/null 2>"$T_TMP/err"
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' "$T_TMP/err"
is "inkan-sign --oauth --api v1: exit 0" "$rc" 0
ok "... verified" openssl cms -verify -binary -inform DER -in "$T_TMP/v1.p7s" \
  -content "$T_TMP/contract.txt" -CAfile "$CACERT" -out /dev/null
for i in $(seq 1 100); do [ "$(wc -l <"$CONSENT_LOG")" -ge 3 ] && break; sleep 0.1; done
is "one more page (the signature only)" "$(wc -l <"$CONSENT_LOG")" 3

# The signer clicks Cancel: nothing is signed.
CONSENT_ACTION=deny INKAN_PASSWORD=$PW timeout 60 "$(inkan_bin inkan-sign)" --oauth --url "$URL" \
  --user bea --credential "$CRED" --out "$T_TMP/no.p7s" "$T_TMP/contract.txt" >/dev/null 2>"$T_TMP/err"
is "Cancel in the browser: inkan-sign fails" "$?" 1
ok "... saying access_denied" grep -q 'access_denied' "$T_TMP/err"
ok "... and writes nothing" test ! -e "$T_TMP/no.p7s"

for d in inkan-scm inkan-sam inkan-sic; do
  ok "$d survived all of it" inkan_running "$(inkan_pid $d)"
done
done_testing
