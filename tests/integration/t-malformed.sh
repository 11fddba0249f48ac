#!/usr/bin/env bash
# t-malformed.sh — issue 6, bad input broadly: malformed HTTP (broken JSON,
# wrong types, huge and negative numbers, invalid base64, wrong digest
# lengths, unknown algorithms, oversize bodies and headers, truncated TLS and
# HTTP, slow clients) to inkan-sic, and malformed protobuf frames to every
# socket of inkan-sam and inkan-scm. Each gets a clear error (a CSC error
# body, or the connection closed without an answer), no daemon crashes, and
# nothing changes: the database's row counts and the token's objects are
# the same afterwards.
. "$INKAN_SRC/tests/integration/lib.sh"
. "$INKAN_SRC/tests/integration/hardening-lib.sh"
t_start
ECDSA256=1.2.840.10045.4.3.2
SHA256=2.16.840.1.101.3.4.2.1

new_signer mal p256
h=$(digest sha256 "malformed")
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h"
is "a SAD to send bad requests against" "$HTTP" 200
GOOD_SAD=$SAD

objects() { find "$INKAN_STATE/scm/tokens" -name '*.object' 2>/dev/null | wc -l; }
rows_before=$(db_counts)
objects_before=$(objects)
[ -n "$rows_before" ] || { T_N=$((T_N + 1)); echo "ok $T_N - # SKIP sqlite3 missing: database row counts not compared"; }

# bad NAME HTTP_STATUS VERSION METHOD BODY [TOKEN] — a CSC error with a body
bad() {
  local name=$1 want=$2 v=$3 m=$4 body=$5 tok=${6-$TOKEN}
  csc "$v" "$m" "$body" "$tok"
  is "$name: HTTP $want" "$HTTP" "$want"
  ok "$name: a CSC error body" test -n "$(jget '.error // empty' 2>/dev/null)"
}
C="\"credentialID\":\"$CRED\""
A="\"authData\":[{\"id\":\"PIN\",\"value\":\"$PIN\"},{\"id\":\"OTP\",\"value\":\"000000\"}]"

# ---- JSON ---------------------------------------------------------------------
bad "broken JSON" 400 v2 credentials/info "{$C,"
bad "JSON that is not an object" 400 v2 credentials/info "[\"$CRED\"]"
bad "a duplicate key" 400 v2 credentials/info "{$C,$C}"
bad "trailing garbage" 400 v2 credentials/info "{$C} x"
bad "a NUL inside a string" 400 v2 credentials/info '{"credentialID":"ab\u0000cd"}'
bad "invalid UTF-8" 400 v2 credentials/info "$(printf '{"credentialID":"\xff\xfe"}')"
bad "nesting 5000 deep" 400 v2 credentials/info "$(printf '%.0s[' $(seq 1 5000))"
bad "credentialID of the wrong type" 400 v2 credentials/info '{"credentialID":12345}'
bad "certificates of the wrong type" 400 v2 credentials/info "{$C,\"certificates\":true}"
bad "hashes as a string" 400 v2 signatures/signHash "{$C,\"SAD\":\"$GOOD_SAD\",\"hashes\":\"$h\",\"signAlgo\":\"$ECDSA256\"}"
bad "numSignatures huge" 400 v2 credentials/authorize "{$C,\"numSignatures\":99999999999999999999999,\"hashes\":[\"$h\"],$A}"
bad "numSignatures 1e308" 400 v2 credentials/authorize "{$C,\"numSignatures\":1e308,\"hashes\":[\"$h\"],$A}"
bad "numSignatures negative" 400 v2 credentials/authorize "{$C,\"numSignatures\":-1,\"hashes\":[\"$h\"],$A}"
bad "numSignatures zero" 400 v2 credentials/authorize "{$C,\"numSignatures\":0,\"hashes\":[\"$h\"],$A}"
bad "maxResults negative" 400 v2 credentials/list '{"maxResults":-5}'
bad "a hash that is not base64" 400 v2 signatures/signHash "{$C,\"SAD\":\"$GOOD_SAD\",\"hashes\":[\"!!not*base64!!\"],\"signAlgo\":\"$ECDSA256\"}"
bad "a 31-byte digest" 400 v2 signatures/signHash "{$C,\"SAD\":\"$GOOD_SAD\",\"hashes\":[\"$(head -c 31 /dev/zero | base64 -w0)\"],\"signAlgo\":\"$ECDSA256\"}"
bad "a 65-byte digest" 400 v2 credentials/authorize "{$C,\"numSignatures\":1,\"hashes\":[\"$(head -c 65 /dev/zero | base64 -w0)\"],$A}"
bad "an empty hash list" 400 v2 signatures/signHash "{$C,\"SAD\":\"$GOOD_SAD\",\"hashes\":[],\"signAlgo\":\"$ECDSA256\"}"
many=$(for i in $(seq 1 300); do printf '"%s",' "$h"; done)
bad "300 hashes (more than 256)" 400 v2 signatures/signHash "{$C,\"SAD\":\"$GOOD_SAD\",\"hashes\":[${many%,}],\"signAlgo\":\"$ECDSA256\"}"
bad "an unknown signature algorithm" 400 v2 signatures/signHash "{$C,\"SAD\":\"$GOOD_SAD\",\"hashes\":[\"$h\"],\"signAlgo\":\"1.2.3.4.5.6\"}"
bad "an unknown hash algorithm" 400 v2 signatures/signHash "{$C,\"SAD\":\"$GOOD_SAD\",\"hashes\":[\"$h\"],\"hashAlgorithmOID\":\"1.3.6.1.4.1.99\",\"signAlgo\":\"1.2.840.113549.1.1.1\"}"
bad "an OID that is not one" 400 v2 signatures/signHash "{$C,\"SAD\":\"$GOOD_SAD\",\"hashes\":[\"$h\"],\"signAlgo\":\"ecdsa; DROP TABLE\"}"
bad "signAlgoParams not base64" 400 v2 signatures/signHash "{$C,\"SAD\":\"$GOOD_SAD\",\"hashes\":[\"$h\"],\"signAlgo\":\"1.2.840.113549.1.1.10\",\"signAlgoParams\":\"%%%\"}"
bad "a SAD of 10 KiB" 400 v2 signatures/signHash "{$C,\"SAD\":\"$(head -c 7500 /dev/zero | base64 -w0)\",\"hashes\":[\"$h\"],\"signAlgo\":\"$ECDSA256\"}"
bad "a credential id of 1000 characters" 400 v2 credentials/info "{\"credentialID\":\"$(printf 'a%.0s' $(seq 1 1000))\"}"
bad "a bearer token of 4 KiB" 401 v2 credentials/list '{}' "$(printf 'A%.0s' $(seq 1 4096))"
bad "no token at all" 401 v2 credentials/list '{}' ""

# ---- HTTP ----------------------------------------------------------------------
code=$(head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' | curl -s --cacert "$CACERT" -o "$T_TMP/big" -w '%{http_code}' \
  -X POST -H 'Content-Type: application/json' --data-binary @- "$URL/csc/v2/info")
is "a 2 MiB body (over max_body): 413" "$code" 413
code=$(head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' | curl -s --cacert "$CACERT" -o "$T_TMP/big" -w '%{http_code}' \
  -X POST -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @- "$URL/csc/v2/info")
is "a 2 MiB chunked body: 413" "$code" 413
code=$(curl -s --cacert "$CACERT" -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -H "X-Big: $(printf 'x%.0s' $(seq 1 40000))" -d '{}' "$URL/csc/v2/info")
ok "a 40 KB header is refused (4xx: $code)" test "${code:-0}" -ge 400 -a "${code:-0}" -lt 500
code=$(curl -s --cacert "$CACERT" -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -H 'Content-Length: 99999999999999999999' -d '{}' "$URL/csc/v2/info")
ok "an absurd Content-Length is refused (4xx: $code)" test "${code:-0}" -ge 400 -a "${code:-0}" -lt 500
code=$(curl -s --cacert "$CACERT" -o /dev/null -w '%{http_code}' -X DELETE "$URL/csc/v2/credentials/list")
ok "a wrong method is refused (4xx: $code)" test "${code:-0}" -ge 400 -a "${code:-0}" -lt 500
code=$(curl -s --cacert "$CACERT" -o /dev/null -w '%{http_code}' -X POST -d '{}' "$URL/csc/v2/../../etc/passwd")
ok "a path outside /csc/ is refused (4xx: $code)" test "${code:-0}" -ge 400 -a "${code:-0}" -lt 500

hostport=${URL#*://}; host=${hostport%:*}; port=${hostport##*:}
raw_tls() {   # raw_tls BYTES: an HTTP request cut short, over TLS, then EOF
  printf '%b' "$1" | timeout 5 openssl s_client -quiet -connect "$host:$port" -CAfile "$CACERT" >/dev/null 2>&1
  true
}
case $URL in
  https:*)
    raw_tls 'POST /csc/v2/credentials/list HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\nAuthorization: Bearer abc\r\n\r\n{"maxRes'
    raw_tls 'POST /csc/v2/info HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\n{'
    raw_tls 'GARBAGE\x00\x01\x02 / HTTP/9.9\r\n\r\n'
    # A TLS handshake cut short, and a plain-text request to the TLS port.
    { printf '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'; head -c 40 /dev/urandom; } >"$T_TMP/hello"
    (exec 3<>"/dev/tcp/$host/$port" && cat "$T_TMP/hello" >&3 && exec 3>&-) 2>/dev/null
    (exec 3<>"/dev/tcp/$host/$port" && printf 'POST /csc/v2/info HTTP/1.1\r\n\r\n' >&3 && exec 3>&-) 2>/dev/null
    ok "truncated TLS and HTTP: inkan-sic still runs" inkan_running "$(inkan_pid inkan-sic)" ;;
  *)
    (exec 3<>"/dev/tcp/$host/$port" && printf 'POST /csc/v2/credentials/list HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"max' >&3 && exec 3>&-) 2>/dev/null
    (exec 3<>"/dev/tcp/$host/$port" && printf 'GARBAGE\x00\x01 / HTTP/9.9\r\n\r\n' >&3 && exec 3>&-) 2>/dev/null
    ok "truncated HTTP: inkan-sic still runs" inkan_running "$(inkan_pid inkan-sic)" ;;
esac

# Slow clients: 40 connections from one address that send two bytes of a
# TLS record and then nothing. inkan-sic caps connections per address (32 by
# default) and keeps serving everyone else.
slow=()
for i in $(seq 1 40); do
  ( exec 3<>"/dev/tcp/$host/$port" || exit 0; printf '\x16\x03' >&3; sleep 5 ) 2>/dev/null &
  slow+=($!)
done
sleep 0.5
start=$(date +%s%N)
code=$(curl -s --interface 127.0.0.2 --cacert "$CACERT" -m 10 -o /dev/null -w '%{http_code}' \
  -X POST -H 'Content-Type: application/json' -d '{}' "$URL/csc/v2/info")
took=$(( ($(date +%s%N) - start) / 1000000 ))
is "with 40 stalled clients, another client is still served" "$code" 200
ok "... promptly (${took} ms)" test "$took" -lt 3000
kill "${slow[@]}" 2>/dev/null; wait "${slow[@]}" 2>/dev/null

# ---- protobuf frames to every socket ------------------------------------------
raw() {   # raw NAME SOCKET AS_UID:GID MODE ARGS... -> prints the outcome
  local as=()
  [ -n "$3" ] && as=(--as "$3")
  "$D_TOOLS/ipc-raw" "${as[@]}" "$2" "${@:4}" 2>&1
}
KEY16=00112233445566778899aabbccddeeff
# Per socket: a request type it takes, and a body of that type with an
# unknown field (field 127) after valid ones.
frames=(
  "garbage bytes|hex ffffffffffffffffffff"
  "a truncated varint|hex 0880"
  "an envelope without its type|hex 0801"
  "an envelope with an unknown field|env-unknown"
  "a request carrying a status|env-status"
  "an unknown message type|hex 0801108f4e"
  "a body that does not unpack|env @T ffffffff"
  "a body with an unknown field|env @T @U"
  "a body missing required fields|env @T"
  "an oversize frame (200 KiB)|size 204800"
  "an empty datagram|hex"
)
varint() { local n=$1 out=""; while [ "$n" -ge 128 ]; do out+=$(printf '%02x' $(( (n & 127) | 128 ))); n=$((n >> 7)); done; printf '%s%02x' "$out" "$n"; }
sock_scm=$INKAN_STATE/scm/scm.sock sock_sig=$INKAN_STATE/sam/sam.sock sock_adm=$INKAN_STATE/sam/admin.sock
for target in "inkan-scm|$sock_scm|$(d_owner inkan-sam)|302|0a10${KEY16}f80701" \
              "inkan-sam signer|$sock_sig|$(d_owner inkan-sic)|102|0a03616263f80701" \
              "inkan-sam admin|$sock_adm||200|f80701"; do
  IFS='|' read -r who sock as type unk <<<"$target"
  for f in "${frames[@]}"; do
    IFS='|' read -r name spec <<<"$f"
    case $spec in
      env-unknown) spec="hex 0801$(printf '10%s' "$(varint "$type")")780100" ;;
      env-status) spec="hex 0801$(printf '10%s' "$(varint "$type")")1801" ;;
    esac
    spec=${spec//@T/$type}; spec=${spec//@U/$unk}
    # shellcheck disable=SC2086
    out=$(raw "$name" "$sock" "$as" $spec)
    case $out in
      closed|"answered type="*" status="[1-9]*) res=refused ;;
      *) res="$out" ;;
    esac
    is "$who: $name is refused" "$res" refused
  done
done
# A message its socket does not take: admin on the signer socket, signer and
# crypto messages on the admin socket.
is "inkan-sam signer: an admin message closes the connection" \
  "$(raw x "$sock_sig" "$(d_owner inkan-sic)" env 202 "")" closed
is "inkan-sam admin: a crypto message closes the connection" "$(raw x "$sock_adm" "" env 304 "")" closed
is "inkan-scm: a signer message closes the connection" \
  "$(raw x "$sock_scm" "$(d_owner inkan-sam)" env 108 "")" closed

# ---- nothing crashed, nothing changed ------------------------------------------
ok "every daemon still runs" inkan_alive
is "the token holds the same objects" "$(objects)" "$objects_before"
[ -n "$rows_before" ] && is "the database has the same row counts" "$(db_counts)" "$rows_before"
cert_pubkey "$CRED" "$TOKEN" "$T_TMP/pub.pem"
sign_hash "$CRED" "$TOKEN" "$GOOD_SAD" "$ECDSA256" "" "$h"
is "after all that the SAD still signs its hash" "$HTTP" 200
ok "OpenSSL verifies it" verify_sig "$T_TMP/pub.pem" "$h" "$(jget '.signatures[0]')" ecdsa sha256
done_testing
