#!/usr/bin/env bash
# t-tls.sh — issue 4 items 1 and 5: inkan-sic over TLS (1.2 and 1.3 only,
# the server certificate of the test CA, optional client certificates), the
# plain-HTTP rules (loopback only, and only when allowed), and the limits,
# each answered in CSC error form: header bytes (431), query string (414),
# body (413), per-account request rate (429 + Retry-After), connections per
# address and the idle timeout (slow clients are dropped).
. "$INKAN_SRC/tests/integration/lib.sh"
t_start
new_signer tess p256
CONF=$INKAN_STATE/inkan.conf
PORT=${URL##*:}
SIC=$(inkan_bin inkan-sic)

# restart inkan-sic alone after a config change; waits until it answers
sic_restart() {
  local p i scheme=${1:-https}
  p=$(inkan_pid inkan-sic)
  kill -TERM "$p" 2>/dev/null
  for i in $(seq 1 100); do inkan_running "$p" || break; sleep 0.05; done
  wait "$p" 2>/dev/null
  _inkan_start_one inkan-sic
  for i in $(seq 1 100); do
    case $(curl -s -o /dev/null -w '%{http_code}' "$scheme://127.0.0.1:$PORT/csc/v2/info") in
      000|503) ;;
      *) return 0 ;;
    esac
    inkan_running "$(inkan_pid inkan-sic)" || return 1
    sleep 0.05
  done
  return 1
}
sic_set() {   # sic_set KEY VALUE: replace or add a key of [sic]
  sed -i "/^\[sic\]/,/^\[/{/^$1 *=/d}" "$CONF"
  sed -i "/^\[sic\]/a $1 = $2" "$CONF"
}
sic_unset() { sed -i "/^\[sic\]/,/^\[/{/^$1 *=/d}" "$CONF"; }

# ---- TLS ---------------------------------------------------------------------------
ok "URL is https" grep -q '^https://' <<<"$URL"
for v in 1.2 1.3; do
  HTTP=$(curl -s -o /dev/null -w '%{http_code}' --tlsv$v --tls-max $v "$URL/csc/v2/info")
  is "TLS $v: accepted" "$HTTP" 200
done
for v in 1.0 1.1; do
  HTTP=$(curl -s -o /dev/null -w '%{http_code}' --tlsv$v --tls-max $v --ciphers DEFAULT@SECLEVEL=0 "$URL/csc/v2/info")
  is "TLS $v: refused" "$HTTP" 000
done
PROTO=$(echo | openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$CACERT" 2>/dev/null | sed -n 's/^New, \(TLSv[0-9.]*\),.*/\1/p' | head -1)
is "TLS 1.3 is negotiated by default" "$PROTO" TLSv1.3
ok "the certificate verifies against the test CA for 127.0.0.1" sh -c \
  "echo | openssl s_client -connect 127.0.0.1:$PORT -CAfile '$CACERT' -verify_ip 127.0.0.1 -verify_return_error 2>/dev/null | grep -q 'Verify return code: 0'"
HTTP=$(env -u CURL_CA_BUNDLE curl -s -o /dev/null -w '%{http_code}' --cacert /etc/ssl/certs/ca-certificates.crt "$URL/csc/v2/info")
is "not trusted by the system store (it is the test CA's)" "$HTTP" 000
HTTP=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/csc/v2/info")
ok "plain HTTP to the TLS port gets no CSC answer" test "$HTTP" != 200
ok "inkan-sign refuses a server its CA does not vouch for" sh -c \
  "INKAN_PASSWORD=x INKAN_PIN=x INKAN_OTP=000000 '$(inkan_bin inkan-sign)' --url '$URL' --cacert /etc/ssl/certs/ca-certificates.crt --user tess --credential '$CRED' /etc/hostname 2>&1 | grep -qi 'certificate'"

# ---- limits with the defaults -------------------------------------------------------
BIG=$(head -c 20000 /dev/zero | tr '\0' a)
HTTP=$(curl -s -o "$T_TMP/body" -w '%{http_code}' -H "X-Big: $BIG" -X POST -d '{}' "$URL/csc/v2/info")
is "20 KB of headers: 431" "$HTTP" 431
is "... in CSC error form" "$(jq -r .error "$T_TMP/body")" invalid_request
HTTP=$(curl -s -o "$T_TMP/body" -w '%{http_code}' "$URL/csc/v2/oauth2/authorize?x=$(head -c 50000 /dev/zero | tr '\0' a)")
is "a 50 KB query string: 414" "$HTTP" 414
is "... in CSC error form" "$(jq -r .error "$T_TMP/body")" invalid_request
HTTP=$(curl -s -o "$T_TMP/body" -w '%{http_code}' -H 'Content-Length: 99999999' -X POST "$URL/csc/v2/info")
is "an announced 100 MB body: 413" "$HTTP" 413

# ---- per-account rate -----------------------------------------------------------
sic_set rate_limit 1
sic_set rate_burst 3
sic_restart || bail "inkan-sic restart (rate)"
# four at once (so that no refill comes between them, however loaded the
# machine): three pass, one is refused
burst() {   # [N=4] burst CURL-ARGS... -> CODES (sorted), the 429 body and headers in $T_TMP/b.429, h.429
  local i pids=()
  rm -f "$T_TMP"/c.* "$T_TMP"/h.*
  for i in $(seq 1 "${N:-4}"); do
    curl -s -D "$T_TMP/h.$i" -o "$T_TMP/b.$i" -w '%{http_code}\n' "$@" >"$T_TMP/c.$i" &
    pids+=($!)
  done
  wait "${pids[@]}"     # (not a bare wait: the daemons are jobs of this shell)
  for i in $(seq 1 "${N:-4}"); do
    [ "$(cat "$T_TMP/c.$i")" = 429 ] && cp "$T_TMP/b.$i" "$T_TMP/b.429" && cp "$T_TMP/h.$i" "$T_TMP/h.429"
  done
  CODES=$(cat "$T_TMP"/c.* | sort | tr '\n' ' ')
}
burst -X POST -H "Authorization: Bearer $TOKEN" -d '{}' "$URL/csc/v2/credentials/list"
is "burst of 3, then 429" "$CODES" "200 200 200 429 "
BODY=$(cat "$T_TMP/b.429" 2>/dev/null)
is "... too_many_requests" "$(jget .error)" too_many_requests
# (the header of the refused answer itself: a later request could already
# find a refilled bucket on a loaded machine)
RA=$(sed -n 's/^retry-after: *//Ip' "$T_TMP/h.429" 2>/dev/null | tr -d '\r')
ok "... with Retry-After ($RA s)" test -n "$RA"
T2=$(login tess "$PW")
csc v2 credentials/list '{}' "$T2"
is "another token of the same signer has its own bucket" "$HTTP" 200
# Logins: inkan-sic checks the bucket when a worker thread takes the request,
# and a worker waits for the SAM's Argon2id (one at a time) before it takes
# its next: eight at once, so that whatever the threads' share-out some are
# checked before the first login (< 1 s, the refill) is answered.
N=8 burst -X POST -u "mallory:guess" -d '{}' "$URL/csc/v2/auth/login"
if [ "$T_SLOW" -eq 1 ]; then
  n401=$(grep -o 401 <<<"$CODES" | wc -l) n429=$(grep -o 429 <<<"$CODES" | wc -l)
  ok "password guessing for one name is slowed too ($CODES)" test "$n401" -ge 3 -a "$n429" -ge 1 -a $((n401 + n429)) -eq 8
else
  # inkan-sic takes logins one after the other through the SAM's Argon2id,
  # which valgrind makes slower than the 1/s refill: no burst can build up.
  skip "password guessing for one name is slowed too" "under valgrind logins are slower than the refill"
fi
sleep 1.1
csc v2 credentials/list '{}' "$TOKEN"
is "the bucket refills (1/s)" "$HTTP" 200
sic_unset rate_limit; sic_unset rate_burst

# ---- connections per address, idle timeout --------------------------------------------
sic_set max_connections_per_ip 3
sic_set connection_timeout 2
sic_restart || bail "inkan-sic restart (connections)"
# One at a time, each accepted by inkan-sic (one more socket in its fd table)
# before the next: on a loaded machine its threads may otherwise take the
# four in any order and refuse one of the first three instead of the 4th.
sic_sockets() { find "/proc/$(inkan_pid inkan-sic)/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
sleep 0.3
n0=$(sic_sockets)
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
eventually test "$(sic_sockets)" -ge $((n0 + 1)) || echo "# inkan-sic did not accept connection 1"
exec 6<>"/dev/tcp/127.0.0.1/$PORT"
eventually test "$(sic_sockets)" -ge $((n0 + 2)) || echo "# inkan-sic did not accept connection 2"
exec 7<>"/dev/tcp/127.0.0.1/$PORT"
eventually test "$(sic_sockets)" -ge $((n0 + 3)) || echo "# inkan-sic did not accept connection 3"
HTTP=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$URL/csc/v2/info")
is "a 4th connection from the same address is refused" "$HTTP" 000
start=$(date +%s%N)
timeout 10 cat <&5 >/dev/null
ms=$(( ($(date +%s%N) - start) / 1000000 ))
ok "a silent client is dropped after the idle timeout (${ms} ms)" test "$ms" -lt 5000
exec 5<&- 6<&- 7<&-
sleep 0.3
HTTP=$(curl -s -o /dev/null -w '%{http_code}' "$URL/csc/v2/info")
is "once they are gone, connections are accepted again" "$HTTP" 200
sic_unset max_connections_per_ip; sic_unset connection_timeout

# ---- client certificates ---------------------------------------------------------------
CA=$INKAN_STATE/ca
printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' >"$T_TMP/client.ext"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/client.key" \
  -out "$T_TMP/client.csr" -subj "/CN=signing-app" 2>/dev/null
openssl x509 -req -in "$T_TMP/client.csr" -CA "$CA/ca.pem" -CAkey "$CA/ca.key" -CAcreateserial \
  -days 30 -extfile "$T_TMP/client.ext" -out "$T_TMP/client.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/self.key" \
  -out "$T_TMP/self.pem" -days 30 -subj "/CN=self" -addext extendedKeyUsage=clientAuth 2>/dev/null
sic_set tls_client_ca "$CA/ca.pem"
sic_restart || bail "inkan-sic restart (client CA)"
HTTP=$(curl -s -o "$T_TMP/body" -w '%{http_code}' -X POST -d '{}' "$URL/csc/v2/info")
is "client CA set, no client certificate: 401" "$HTTP" 401
is "... invalid_client" "$(jq -r .error "$T_TMP/body")" invalid_client
HTTP=$(curl -s -o /dev/null -w '%{http_code}' --cert "$T_TMP/client.pem" --key "$T_TMP/client.key" -X POST -d '{}' "$URL/csc/v2/info")
is "a client certificate of that CA: 200" "$HTTP" 200
HTTP=$(curl -s -o /dev/null -w '%{http_code}' --cert "$T_TMP/self.pem" --key "$T_TMP/self.key" -X POST -d '{}' "$URL/csc/v2/info")
ok "a self-signed client certificate: refused" test "$HTTP" = 401 -o "$HTTP" = 000
HTTP=$(curl -s -o /dev/null -w '%{http_code}' --cert "$CA/server.pem" --key "$CA/server.key" -X POST -d '{}' "$URL/csc/v2/info")
ok "a certificate of that CA not meant for clients: refused" test "$HTTP" = 401 -o "$HTTP" = 000
sic_unset tls_client_ca

# ---- plain HTTP ----------------------------------------------------------------------
cp "$CONF" "$T_TMP/conf.tls"
sic_unset tls_cert; sic_unset tls_key
ok "no TLS and no allow_plain_http: refused at start-up" sh -c "! '$SIC' --config '$CONF' --check-config >/dev/null 2>&1"
sic_set allow_plain_http true
sed -i "s/^listen *= *127.0.0.1:/listen = 0.0.0.0:/" "$CONF"
ok "plain HTTP on a non-loopback address: refused even when allowed" sh -c "! '$SIC' --config '$CONF' --check-config >/dev/null 2>&1"
"$SIC" --config "$CONF" --check-config 2>&1 | grep -q 'not a loopback address'
is "... saying why" "$?" 0
sed -i "s/^listen *= *0.0.0.0:/listen = 127.0.0.1:/" "$CONF"
ok "plain HTTP on loopback when allowed: accepted" sh -c "'$SIC' --config '$CONF' --check-config >/dev/null"
sic_restart http || bail "inkan-sic restart (plain)"
HTTP=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/csc/v2/info")
is "... and served" "$HTTP" 200
cp "$T_TMP/conf.tls" "$CONF"
sic_restart || bail "inkan-sic restart (tls)"
HTTP=$(curl -s -o /dev/null -w '%{http_code}' "$URL/csc/v2/info")
is "back to HTTPS" "$HTTP" 200

for d in inkan-scm inkan-sam inkan-sic; do
  ok "$d survived all of it" inkan_running "$(inkan_pid $d)"
done
done_testing
