# lib.sh — TAP output and CSC helpers for the integration tests. Each test
# script gets its own state directory, token, CA and daemons (tools/harness.sh).
# shellcheck shell=bash
set -u
INKAN_SRC=${INKAN_SRC:?}
INKAN_BUILD=${INKAN_BUILD:?}
. "$INKAN_SRC/tools/harness.sh"

T_N=0
T_FAIL=0
# How much slower the daemons are: 20 under valgrind. Timed settings and
# sleeps that race the daemons are multiplied by it.
T_SLOW=$(inkan_slow 1 20)
# eventually CMD...: CMD succeeds within 10 s (x T_SLOW), tried every 50 ms.
# For what a daemon writes just after it answered or started listening.
eventually() {
  local i
  for i in $(seq 1 $((200 * T_SLOW))); do "$@" && return 0; sleep 0.05; done
  "$@"
}
T_TMP=$(mktemp -d /tmp/inkan-test.XXXXXX)
chmod 0755 "$T_TMP"

t_cleanup() {
  inkan_stop 2>/dev/null
  if [ "$T_FAIL" -ne 0 ] && [ -d "$T_TMP/state/log" ]; then
    for f in "$T_TMP"/state/log/*.log; do echo "# --- $f"; sed 's/^/# /' "$f" | tail -n 40; done
  fi
  rm -rf "$T_TMP"
}
trap t_cleanup EXIT

# ok DESC COMMAND... — passes when COMMAND succeeds
ok() {
  local desc=$1; shift
  T_N=$((T_N + 1))
  if "$@"; then echo "ok $T_N - $desc"; else echo "not ok $T_N - $desc"; T_FAIL=$((T_FAIL + 1)); fi
}
# is DESC GOT WANT
is() {
  T_N=$((T_N + 1))
  if [ "$2" = "$3" ]; then echo "ok $T_N - $1"; else
    echo "not ok $T_N - $1"; echo "#   got:  '$2'"; echo "#   want: '$3'"; T_FAIL=$((T_FAIL + 1)); return 1; fi
}
skip() { T_N=$((T_N + 1)); echo "ok $T_N - $1 # SKIP $2"; }
skip_all() { echo "1..0 # SKIP $*"; trap - EXIT; rm -rf "$T_TMP"; exit 0; }
done_testing() { echo "1..$T_N"; [ "$T_FAIL" -eq 0 ]; }
bail() { echo "Bail out! $*"; exit 1; }

# free_port -> a TCP port on 127.0.0.1 nobody listens on (as far as a connect tells)
free_port() {
  local port i
  for i in 1 2 3 4 5; do
    port=$((20000 + (RANDOM * 7 + $$) % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
    break
  done
  echo "$port"
}

# Fresh service for this test.
t_start() {
  inkan_setup "$T_TMP/state" "$(free_port)" || bail "setup failed"
  inkan_start || bail "daemons did not start"
  export INKAN_SIGNERS_DIR=$T_TMP/signers
  URL=$(inkan_url)
  # HTTPS with the test CA (issue 4): curl and inkan-sign trust it.
  CACERT=$(inkan_cacert)
  export CURL_CA_BUNDLE=$CACERT INKAN_CACERT=$CACERT
}

# csc VERSION METHOD JSON [BEARER] -> sets HTTP (status) and BODY
csc() {
  local v=$1 m=$2 data=$3 tok=${4:-} out
  local args=(-s --cacert "$CACERT" -o "$T_TMP/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary "$data")
  [ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
  HTTP=$(curl "${args[@]}" "$URL/csc/$v/$m")
  BODY=$(cat "$T_TMP/body")
}
# login USER PASSWORD [VERSION] -> prints the access token
login() {
  curl -s --cacert "$CACERT" -X POST -u "$1:$2" -H 'Content-Type: application/json' -d '{}' \
    "$URL/csc/${3:-v2}/auth/login" | jq -r '.access_token // empty'
}
jget() { printf '%s' "$BODY" | jq -r "$1"; }

# digest ALG TEXT -> base64 of the raw digest
digest() { printf '%s' "$2" | openssl dgst "-$1" -binary | base64 -w0; }

# new_signer NAME KEYTYPE -> sets PW PIN SECRET CRED TOKEN and OTP_STEP
new_signer() {
  PW="pw-$1-$RANDOM$RANDOM"
  PIN=$(printf '%06d' $((RANDOM % 1000000)))
  SECRET=$(inkan_add_signer "$1" "$PW" "$PIN") || bail "user add $1"
  [ -n "$SECRET" ] || bail "no TOTP secret for $1"
  CRED=$(inkan_add_credential "$1" "$2") || bail "credential for $1"
  TOKEN=$(login "$1" "$PW")
  [ -n "$TOKEN" ] || bail "login $1"
  OTP_STEP=-1     # next_otp moves past the steps the enrolment used
}
# next_otp -> sets OTP to a TOTP code for a step this signer has not used
# yet (the SAM accepts each step once, in increasing order, within its
# window); the steps used are in a ledger shared with subshells
# (inkan_otp_ledger). A test that used a code by hand (inkan_totp SECRET
# $OTP_STEP) bumps OTP_STEP: that is honoured as a lower bound.
# Not for $(...): OTP_STEP must advance in this shell.
next_otp() {
  local ledger last now
  ledger=$(inkan_otp_ledger "$SECRET")
  last=$(cat "$ledger" 2>/dev/null || echo 0)
  now=$(( $(date +%s) / 30 ))
  [ $((now + OTP_STEP - 1)) -gt "$last" ] && echo $((now + OTP_STEP - 1)) >"$ledger"
  OTP=$(inkan_otp "$SECRET")
  OTP_STEP=$(( $(cat "$ledger") - $(date +%s) / 30 + 1 ))
}

# otp_guard: not in the last 3 s of a 30 s step (a code about to go stale).
otp_guard() { local s=$(( $(date +%s) % 30 )); [ "$s" -lt 27 ] || sleep $((30 - s)); }
# otp_current: for a code made by hand (inkan_totp SECRET $OTP_STEP) and
# used after several slow requests: never a past step, which can leave the
# window at the next boundary (steps above the last one used stay unused).
otp_current() { [ "${OTP_STEP:-0}" -ge 0 ] || OTP_STEP=0; }

# cert_pubkey CRED TOKEN FILE -> writes the credential's public key (PEM)
cert_pubkey() {
  csc v2 credentials/info "{\"credentialID\":\"$1\",\"certificates\":\"single\"}" "$2"
  jget '.cert.certificates[0]' | base64 -d | openssl x509 -inform DER -pubkey -noout >"$3"
}

# verify_sig PUBPEM DIGEST_B64 SIG_B64 MODE HASH [SALT] -> openssl checks it
verify_sig() {
  local pub=$1 d=$2 s=$3 mode=$4 h=$5 salt=${6:-}
  printf '%s' "$d" | base64 -d >"$T_TMP/v.dgst"
  printf '%s' "$s" | base64 -d >"$T_TMP/v.sig"
  case $mode in
    ecdsa) openssl pkeyutl -verify -pubin -inkey "$pub" -in "$T_TMP/v.dgst" -sigfile "$T_TMP/v.sig" >/dev/null 2>&1 ;;
    pkcs1) openssl pkeyutl -verify -pubin -inkey "$pub" -pkeyopt "digest:$h" -in "$T_TMP/v.dgst" -sigfile "$T_TMP/v.sig" >/dev/null 2>&1 ;;
    pss) openssl pkeyutl -verify -pubin -inkey "$pub" -pkeyopt rsa_padding_mode:pss -pkeyopt "rsa_pss_saltlen:$salt" \
           -pkeyopt "digest:$h" -pkeyopt "rsa_mgf1_md:$h" -in "$T_TMP/v.dgst" -sigfile "$T_TMP/v.sig" >/dev/null 2>&1 ;;
  esac
}

# authorize CRED TOKEN OTP PIN HASH_B64... -> sets HTTP, BODY, SAD
authorize() {
  local cred=$1 tok=$2 otp=$3 pin=$4; shift 4
  local hashes n=$#
  hashes=$(printf '"%s",' "$@"); hashes="[${hashes%,}]"
  csc v2 credentials/authorize "{\"credentialID\":\"$cred\",\"numSignatures\":$n,\"hashes\":$hashes,\"authData\":[{\"id\":\"PIN\",\"value\":\"$pin\"},{\"id\":\"OTP\",\"value\":\"$otp\"}]}" "$tok"
  SAD=$(jget '.SAD // empty')
}
# sign_hash CRED TOKEN SAD SIGNALGO HASHOID HASH_B64... -> sets HTTP, BODY
sign_hash() {
  local cred=$1 tok=$2 sad=$3 algo=$4 hoid=$5; shift 5
  local hashes
  hashes=$(printf '"%s",' "$@"); hashes="[${hashes%,}]"
  local extra=""
  [ -n "$hoid" ] && extra=",\"hashAlgorithmOID\":\"$hoid\""
  csc v2 signatures/signHash "{\"credentialID\":\"$cred\",\"SAD\":\"$sad\",\"hashes\":$hashes,\"signAlgo\":\"$algo\"$extra}" "$tok"
}
