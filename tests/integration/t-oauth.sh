#!/usr/bin/env bash
# t-oauth.sh — issue 4: the OAuth2 authorization code flow with PKCE S256
# through real daemons, driven with curl as a browser without JavaScript
# would (cookie jar, form fields): the consent page (what it shows, its CSP,
# cookie and CSRF token), the signer's answer (wrong factors shown on the
# page, a forged or missing CSRF token refused), the code (single use, bound
# to client, redirect URI and verifier: a wrong PKCE verifier is refused and
# burns the code), the credential-scope token working as the SAD (v2 as the
# Bearer token, v1 as token_type "SAD"), the service scope, a confidential
# client, oauth2/revoke, and the errors a client is sent to its redirect URI.
. "$INKAN_SRC/tests/integration/lib.sh"
t_start
# A TOTP code of the step before the current one dies at the next 30 s
# boundary: never compute one in the last 3 s of a step.
# A confidential client too (client secret "s3cret"); the SAM reads clients
# at start-up.
inkan_stop
sed -i "/^\[sam\]/a oauth_client = billing https://billing.example/cb secret-sha256=$(printf s3cret | sha256sum | cut -c1-64)" \
  "$INKAN_STATE/inkan.conf"
inkan_start || bail "restart"

REDIR=http://127.0.0.1:9/callback      # any port: a loopback redirect
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
uri() { jq -rn --arg v "$1" '$v | @uri'; }
new_pkce() {
  VERIFIER=$(head -c 32 /dev/urandom | b64url)
  CHALLENGE=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | b64url)
}
hdr() { sed -n "s/^$1: *//Ip" "$T_TMP/h" | tr -d '\r' | head -1; }
# consent_get VERSION QUERY [curl args] -> HTTP, PAGE (file $T_TMP/page), headers in $T_TMP/h
consent_get() {
  local v=$1 q=$2; shift 2
  HTTP=$(curl -s -b "$T_TMP/jar" -c "$T_TMP/jar" -D "$T_TMP/h" -o "$T_TMP/page" -w '%{http_code}' "$@" \
    "$URL/csc/$v/oauth2/authorize?$q")
}
# The page's hidden fields, form-encoded (HTML escapes undone). One jq run:
# this sits between computing an OTP and using it.
hidden_form() {
  grep -o '<input type="hidden" name="[^"]*" value="[^"]*">' "$T_TMP/page" |
    sed 's/<input type="hidden" name="\([^"]*\)" value="\([^"]*\)">/\1\t\2/' |
    jq -Rrj 'split("\t") | "\(.[0])=\(.[1] | gsub("&lt;"; "<") | gsub("&gt;"; ">") |
      gsub("&quot;"; "\"") | gsub("&#39;"; "'"'"'") | gsub("&amp;"; "&") | @uri)&"'
}
# consent_post VERSION EXTRA_FORM [FORM_OVERRIDE] -> HTTP, LOCATION
consent_post() {
  local v=$1 extra=$2 form=${3:-}
  [ -n "$form" ] || form="$(hidden_form)$extra"
  HTTP=$(curl -s -b "$T_TMP/jar" -c "$T_TMP/jar" -D "$T_TMP/h" -o "$T_TMP/page" -w '%{http_code}' \
    --data-raw "$form" "$URL/csc/$v/oauth2/authorize")
  LOCATION=$(hdr location)
}
qparam() { printf '%s' "$1" | sed -n "s/.*[?&]$2=\([^&]*\).*/\1/p"; }
# token VERSION CODE VERIFIER [REDIRECT] [CLIENT] [extra curl args] -> HTTP, BODY
token() {
  local v=$1 code=$2 ver=$3 red=${4:-$REDIR} cl=${5:-inkan-sign}; shift 5 2>/dev/null || shift $#
  HTTP=$(curl -s -o "$T_TMP/body" -w '%{http_code}' "$@" \
    --data-urlencode grant_type=authorization_code --data-urlencode "code=$code" \
    --data-urlencode "redirect_uri=$red" --data-urlencode "client_id=$cl" \
    --data-urlencode "code_verifier=$ver" "$URL/csc/$v/oauth2/token")
  BODY=$(cat "$T_TMP/body")
  # every code, verifier, token and SAD of the flow: searched for at the end
  printf '%s\n' "$code" "$ver" "$(jget '.access_token // empty')" "$(jget '.SAD // empty')" \
    "$(jget '.refresh_token // empty')" >>"$T_TMP/oauth-secrets"
}
cred_query() {   # cred_query HASH_B64URL [client] [redirect] [hashparam]
  printf 'response_type=code&client_id=%s&redirect_uri=%s&scope=credential&state=st-%s&code_challenge=%s&code_challenge_method=S256&credentialID=%s&numSignatures=1&%s=%s&hashAlgorithmOID=2.16.840.1.101.3.4.2.1&description=%s&labels=%s' \
    "${2:-inkan-sign}" "$(uri "${3:-$REDIR}")" "$RANDOM" "$CHALLENGE" "$CRED" "${4:-hashes}" "$1" \
    "$(uri 'contract <2026> & annex')" "$(printf 'annex.pdf' | b64url)"
}

new_signer olga p256
cert_pubkey "$CRED" "$TOKEN" "$T_TMP/ec.pub"
csc v2 credentials/info "{\"credentialID\":\"$CRED\",\"certInfo\":true}" "$TOKEN"
SUBJECT=$(jget .cert.subjectDN)
D1=$(digest sha256 "oauth doc 1")
D1U=$(printf '%s' "$D1" | tr '+/' '-_' | tr -d '=')
D1HEX=$(printf '%s' "$D1" | base64 -d | od -An -tx1 | tr -d ' \n')

# ---- the consent page ---------------------------------------------------------
new_pkce
consent_get v2 "$(cred_query "$D1U")" -H 'Accept-Language: en-US,en;q=0.9'
is "consent page: 200" "$HTTP" 200
is "consent page: HTML" "$(hdr content-type)" "text/html; charset=utf-8"
CSP=$(hdr content-security-policy)
ok "CSP: default-src 'none'" grep -q "default-src 'none'" <<<"$CSP"
ok "CSP: no script source at all" test -z "$(grep -o 'script-src' <<<"$CSP")"
ok "CSP: form-action self and the client's origin only" grep -q "form-action 'self' http://127.0.0.1:9;" <<<"$CSP"
ok "CSP: frame-ancestors 'none'" grep -q "frame-ancestors 'none'" <<<"$CSP"
is "X-Frame-Options DENY" "$(hdr x-frame-options)" DENY
ok "HSTS over TLS" test -n "$(hdr strict-transport-security)"
COOKIE=$(hdr set-cookie)
ok "CSRF cookie: HttpOnly, SameSite=Strict, Secure" grep -q 'inkan_csrf=.*HttpOnly; SameSite=Strict; Secure' <<<"$COOKIE"
ok "page: no script element" test "$(grep -c '<script' "$T_TMP/page")" = 0
ok "page: shows the client" grep -q '<dd id="client">inkan-sign</dd>' "$T_TMP/page"
ok "page: shows the certificate subject" grep -qF "$(printf '%s' "$SUBJECT" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g')" "$T_TMP/page"
ok "page: shows the number of documents" grep -q '<dd id="count">1</dd>' "$T_TMP/page"
ok "page: shows the hash (hex)" grep -q "<code class=\"hash\">$D1HEX</code>" "$T_TMP/page"
ok "page: shows the label" grep -q '<span class="label">annex.pdf</span>' "$T_TMP/page"
ok "page: shows the description, escaped" grep -q 'contract &lt;2026&gt; &amp; annex' "$T_TMP/page"
ok "page: asks for PIN and OTP" grep -q 'name="otp"' "$T_TMP/page"
ok "page: English" grep -q '<html lang="en">' "$T_TMP/page"
HTTP=$(curl -s -o /dev/null -w '%{http_code}' "$URL/csc/consent.css")
is "the style sheet is served" "$HTTP" 200
consent_get v2 "$(cred_query "$D1U")" -H 'Accept-Language: ja,en;q=0.5'
ok "page: Japanese from Accept-Language" grep -q '<html lang="ja">.*署名内容の確認' "$T_TMP/page"
consent_get v2 "$(cred_query "$D1U")&lang=en" -H 'Accept-Language: ja'
ok "page: lang=en wins over Accept-Language" grep -q '<html lang="en">' "$T_TMP/page"

# ---- the signer's answer --------------------------------------------------------
otp_guard; otp_current; OTP_E=$(inkan_totp "$SECRET" "$OTP_STEP")
consent_post v2 "username=olga&password=$(uri "$PW")&pin=99999999&otp=$OTP_E&action=approve"
is "wrong PIN: the page again, 400" "$HTTP" 400
ok "... saying so" grep -q 'id="error"' "$T_TMP/page"
ok "... without a redirect" test -z "$LOCATION"
consent_post v2 "username=olga&password=wrong&pin=$PIN&otp=$OTP_E&action=approve"
ok "wrong password: the page says so" grep -q 'The user name or password is wrong' "$T_TMP/page"
FORM="$(hidden_form)username=olga&password=$(uri "$PW")&pin=$PIN&otp=$OTP_E&action=approve"
FORGED=$(printf '%s' "$FORM" | sed 's/csrf=\([0-9]*\)\.\(.\)/csrf=\1.\2A/')
consent_post v2 "" "$FORGED"
is "a forged CSRF token: 403" "$HTTP" 403
ok "... the form expired message" grep -q 'was not sent from this page' "$T_TMP/page"
cp "$T_TMP/jar" "$T_TMP/jar.keep"; : >"$T_TMP/jar"
consent_post v2 "" "$FORM"
is "no CSRF cookie: 403" "$HTTP" 403
printf '127.0.0.1\tFALSE\t/csc/\tTRUE\t0\tinkan_csrf\tAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n' >"$T_TMP/jar"
consent_post v2 "" "$FORM"
is "another browser's cookie: 403" "$HTTP" 403
cp "$T_TMP/jar.keep" "$T_TMP/jar"
TAMPERED=$(printf '%s' "$FORM" | sed "s/numSignatures=1/numSignatures=2/; s/hashes=[^&]*/hashes=$D1U%2C$(digest sha256 x | tr '+/' '-_' | tr -d '=')/")
consent_post v2 "" "$TAMPERED"
is "other hashes under a valid CSRF token: 403" "$HTTP" 403
OTP_STEP=$((OTP_STEP + 1))   # the refused answers spent no OTP: OTP_E is used now
consent_post v2 "" "$FORM"
is "the right answer: 303 to the client" "$HTTP" 303
ok "... its redirect URI" grep -q "^$REDIR?code=" <<<"$LOCATION"
CODE=$(qparam "$LOCATION" code)
ok "... with the state" test -n "$(qparam "$LOCATION" state)"

# ---- the code: PKCE, single use ---------------------------------------------------
token v2 "$CODE" "$(head -c 32 /dev/urandom | b64url)"
is "a wrong PKCE verifier: 400 invalid_grant" "$HTTP/$(jget .error)" 400/invalid_grant
token v2 "$CODE" "$VERIFIER"
is "... and the code is burnt: the right verifier is refused too" "$HTTP/$(jget .error)" 400/invalid_grant
token v2 "$CODE" "short"
is "a malformed verifier: 400" "$HTTP" 400
HTTP=$(curl -s -o "$T_TMP/body" -w '%{http_code}' --data-urlencode grant_type=authorization_code \
  --data-urlencode code=x --data-urlencode "redirect_uri=$REDIR" --data-urlencode client_id=inkan-sign \
  "$URL/csc/v2/oauth2/token"); BODY=$(cat "$T_TMP/body")
is "no verifier at all: 400 invalid_request" "$HTTP/$(jget .error)" 400/invalid_request
HTTP=$(curl -s -o "$T_TMP/body" -w '%{http_code}' --data-urlencode grant_type=password --data-urlencode client_id=inkan-sign "$URL/csc/v2/oauth2/token"); BODY=$(cat "$T_TMP/body")
is "grant_type=password: 400 unsupported_grant_type" "$HTTP/$(jget .error)" 400/unsupported_grant_type

new_pkce
consent_get v2 "$(cred_query "$D1U")"
otp_guard; next_otp; consent_post v2 "username=olga&password=$(uri "$PW")&pin=$PIN&otp=$OTP&action=approve"
CODE=$(qparam "$LOCATION" code)
token v2 "$CODE" "$VERIFIER" "http://127.0.0.1:10/callback"
is "another redirect URI at the token endpoint: invalid_grant" "$HTTP/$(jget .error)" 400/invalid_grant

# ---- a credential-scope token is the SAD (v2) ----------------------------------------
new_pkce
consent_get v2 "$(cred_query "$D1U")"
otp_guard; next_otp; consent_post v2 "username=olga&password=$(uri "$PW")&pin=$PIN&otp=$OTP&action=approve"
CODE=$(qparam "$LOCATION" code)
token v2 "$CODE" "$VERIFIER"
is "token: 200" "$HTTP" 200
is "token: Bearer, scope credential, credentialID" "$(jget '[.token_type, .scope, .credentialID] | join(" ")')" "Bearer credential $CRED"
ok "token: expires_in within the SAD lifetime" test "$(jget '.expires_in > 0 and .expires_in <= 300')" = true
CT=$(jget .access_token)
csc v2 signatures/signHash "{\"credentialID\":\"$CRED\",\"hashes\":[\"$D1\"],\"signAlgo\":\"1.2.840.10045.4.3.2\"}" "$CT"
is "signHash with the credential token as Bearer, no SAD: 200" "$HTTP" 200
ok "... and OpenSSL verifies it" verify_sig "$T_TMP/ec.pub" "$D1" "$(jget '.signatures[0]')" ecdsa sha256
sig=$(jget '.signatures[0]')
csc v2 signatures/signHash "{\"credentialID\":\"$CRED\",\"hashes\":[\"$D1\"],\"signAlgo\":\"1.2.840.10045.4.3.2\"}" "$CT"
is "... once: asked again, the same signature" "$HTTP/$(jget '.signatures[0]')" "200/$sig"
csc v2 signatures/signHash "{\"credentialID\":\"$CRED\",\"hashes\":[\"$(digest sha256 other)\"],\"signAlgo\":\"1.2.840.10045.4.3.2\"}" "$CT"
is "the token signs nothing it was not given" "$HTTP" 400
HTTP=$(curl -s -o /dev/null -w '%{http_code}' --data-urlencode "token=$CT" "$URL/csc/v2/oauth2/revoke")
is "oauth2/revoke: 200" "$HTTP" 200
csc v2 credentials/list '{}' "$CT"
is "... the token is gone" "$HTTP" 401
HTTP=$(curl -s -o /dev/null -w '%{http_code}' --data-urlencode "token=nonsense" "$URL/csc/v2/oauth2/revoke")
is "oauth2/revoke of an unknown token: 200" "$HTTP" 200

# ---- v1: token_type SAD ------------------------------------------------------------
new_signer viktor p256
cert_pubkey "$CRED" "$TOKEN" "$T_TMP/v1.pub"
D2=$(digest sha256 "oauth doc v1"); D2U=$(printf '%s' "$D2" | tr '+/' '-_' | tr -d '=')
new_pkce
consent_get v1 "$(cred_query "$D2U" inkan-sign "$REDIR" hash)"
is "v1 consent page (hash=): 200" "$HTTP" 200
otp_guard; next_otp; consent_post v1 "username=viktor&password=$(uri "$PW")&pin=$PIN&otp=$OTP&action=approve"
is "v1 answer: 303" "$HTTP" 303
token v1 "$(qparam "$LOCATION" code)" "$VERIFIER"
is "v1 token: token_type SAD" "$HTTP/$(jget .token_type)" 200/SAD
CT=$(jget .access_token)
csc v1 signatures/signHash "{\"credentialID\":\"$CRED\",\"SAD\":\"$CT\",\"hash\":[\"$D2\"],\"signAlgo\":\"1.2.840.10045.4.3.2\",\"hashAlgo\":\"2.16.840.1.101.3.4.2.1\"}" "$TOKEN"
is "v1 signHash with SAD = the token: 200" "$HTTP" 200
ok "... verified" verify_sig "$T_TMP/v1.pub" "$D2" "$(jget '.signatures[0]')" ecdsa sha256

# ---- service scope -----------------------------------------------------------------
new_pkce
consent_get v2 "response_type=code&client_id=inkan-sign&redirect_uri=$(uri "$REDIR")&scope=service&state=s1&code_challenge=$CHALLENGE&code_challenge_method=S256"
is "service consent page: 200" "$HTTP" 200
ok "... asks no PIN" test "$(grep -c 'name="pin"' "$T_TMP/page")" = 0
consent_post v2 "username=viktor&password=$(uri "$PW")&action=approve"
is "service answer: 303" "$HTTP" 303
token v2 "$(qparam "$LOCATION" code)" "$VERIFIER"
is "service token: Bearer, scope service" "$HTTP/$(jget .token_type)/$(jget .scope)" 200/Bearer/service
csc v2 credentials/list '{}' "$(jget .access_token)"
is "... lists the signer's credentials" "$HTTP/$(jget '.credentialIDs[0]')" "200/$CRED"

# ---- a confidential client ------------------------------------------------------------
new_pkce
consent_get v2 "response_type=code&client_id=billing&redirect_uri=$(uri https://billing.example/cb)&scope=service&state=s2&code_challenge=$CHALLENGE&code_challenge_method=S256"
is "billing consent page: 200" "$HTTP" 200
ok "... may post to its origin" grep -q "form-action 'self' https://billing.example;" <<<"$(hdr content-security-policy)"
consent_post v2 "username=viktor&password=$(uri "$PW")&action=approve"
BCODE=$(qparam "$LOCATION" code)
token v2 "$BCODE" "$VERIFIER" https://billing.example/cb billing
is "confidential client without its secret: 401 invalid_client" "$HTTP/$(jget .error)" 401/invalid_client
consent_get v2 "response_type=code&client_id=billing&redirect_uri=$(uri https://billing.example/cb)&scope=service&state=s3&code_challenge=$CHALLENGE&code_challenge_method=S256"
consent_post v2 "username=viktor&password=$(uri "$PW")&action=approve"
token v2 "$(qparam "$LOCATION" code)" "$VERIFIER" https://billing.example/cb billing -u billing:s3cret
is "... with it (HTTP Basic): 200" "$HTTP" 200

# ---- what goes back to the client, and what does not ---------------------------------
consent_get v2 "response_type=code&client_id=nobody&redirect_uri=$(uri "$REDIR")&scope=service&state=s&code_challenge=$CHALLENGE&code_challenge_method=S256"
is "unknown client: 400 page" "$HTTP" 400
ok "... never redirected" test -z "$(hdr location)"
consent_get v2 "response_type=code&client_id=inkan-sign&redirect_uri=$(uri https://evil.example/cb)&scope=service&state=s&code_challenge=$CHALLENGE&code_challenge_method=S256"
is "unregistered redirect URI: 400 page, no redirect" "$HTTP/$(hdr location)" 400/
consent_get v2 "response_type=code&client_id=inkan-sign&redirect_uri=$(uri "$REDIR")&scope=service&state=s9"
is "no PKCE: 303 to the client" "$HTTP" 303
ok "... error=invalid_request&...&state=s9" grep -q '^http://127.0.0.1:9/callback?error=invalid_request&error_description=.*&state=s9$' <<<"$(hdr location)"
consent_get v2 "response_type=code&client_id=inkan-sign&redirect_uri=$(uri "$REDIR")&scope=service&state=s9&code_challenge=$CHALLENGE&code_challenge_method=plain"
ok "code_challenge_method=plain refused" grep -q 'error=invalid_request' <<<"$(hdr location)"
consent_get v2 "response_type=token&client_id=inkan-sign&redirect_uri=$(uri "$REDIR")&scope=service&state=s9&code_challenge=$CHALLENGE&code_challenge_method=S256"
ok "response_type=token: unsupported_response_type" grep -q 'error=unsupported_response_type' <<<"$(hdr location)"
consent_get v2 "response_type=code&client_id=inkan-sign&redirect_uri=$(uri "$REDIR")&scope=credential&state=s9&code_challenge=$CHALLENGE&code_challenge_method=S256&credentialID=0000000000000000000000000000dead&numSignatures=1&hashes=$D1U"
ok "an unknown credential: invalid_request to the client" grep -q 'error=invalid_request' <<<"$(hdr location)"
consent_get v2 "response_type=code&client_id=inkan-sign&redirect_uri=$(uri "$REDIR")&scope=service&state=s8&code_challenge=$CHALLENGE&code_challenge_method=S256"
consent_post v2 "action=deny"
ok "the signer declines: access_denied" grep -q '^http://127.0.0.1:9/callback?error=access_denied&.*state=s8$' <<<"$LOCATION"
HTTP=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$URL/csc/v2/oauth2/authorize")
is "PUT oauth2/authorize: 405" "$HTTP" 405

for d in inkan-scm inkan-sam inkan-sic; do
  ok "$d survived all of it" inkan_running "$(inkan_pid $d)"
done

# ---- no OAuth secret in a log, the audit trail or the database -------------------
# (oauth2 log lines name the user, the client id and the scope, never a
# code, verifier, token, SAD or client secret; the database keeps hashes)
printf '%s\n' s3cret "$PW" >>"$T_TMP/oauth-secrets"
n=0 found=0
while read -r sec; do
  [ "${#sec}" -ge 6 ] || continue
  n=$((n + 1))
  if grep -rqaF -- "$sec" "$INKAN_STATE/log" "$INKAN_STATE/sam"; then
    found=$((found + 1)); echo "# found: secret #$n (${#sec} chars)"
  fi
done < <(sort -u "$T_TMP/oauth-secrets")
ok "the flow's $n codes, verifiers, tokens, SADs, client secret and password: none in the logs, audit trail or database" \
  test "$n" -ge 10 -a "$found" -eq 0
# Control: the search finds a value planted in a log.
sec=$(sort -u "$T_TMP/oauth-secrets" | awk 'length >= 20' | head -1)
printf 'planted %s\n' "$sec" >"$INKAN_STATE/log/planted.log"
ok "control: a planted token is found" grep -rqaF -- "$sec" "$INKAN_STATE/log"
rm -f "$INKAN_STATE/log/planted.log"
done_testing
