# harness.sh — start, drive and stop a complete inkan on a real SoftHSMv2
# token in one state directory. Sourced by ./quickstart and by every
# integration test, so the demo and the tests exercise the same set-up.
# Needs: INKAN_BUILD (the meson build directory).
# shellcheck shell=bash

# When run as root the three daemons run as three distinct uids sharing one
# group, so SO_PEERCRED checks are real (the production layout uses the
# inkan-scm/inkan-sam/inkan-sic users instead). A daemon refuses to run as
# root, so a root run always sets `user` (INKAN_SAME_UID=1: one service uid
# for all three); a non-root run (a developer's machine) needs none: all
# three run as the invoking user.
INKAN_UID_SCM=${INKAN_UID_SCM:-64101}
INKAN_UID_SAM=${INKAN_UID_SAM:-64102}
INKAN_UID_SIC=${INKAN_UID_SIC:-64103}
# issue 3: the auditor role is never root's (root is administrator and
# security officer in the tests): run auditor commands with
# setpriv --reuid=$INKAN_UID_AUD --regid=$INKAN_GID --clear-groups.
INKAN_UID_AUD=${INKAN_UID_AUD:-64104}
INKAN_GID=${INKAN_GID:-64100}

inkan_bin() {
  case $1 in
    inkan-scm) echo "$INKAN_BUILD/scm/inkan-scm" ;;
    inkan-sam) echo "$INKAN_BUILD/sam/inkan-sam" ;;
    inkan-sic) echo "$INKAN_BUILD/sic/inkan-sic" ;;
    *) echo "$INKAN_BUILD/tools/$1" ;;
  esac
}

inkanctl() { "$(inkan_bin inkanctl)" --config "$INKAN_STATE/inkan.conf" "$@"; }

inkan_separate_uids() { [ "$(id -u)" -eq 0 ] && [ "${INKAN_SAME_UID:-0}" != 1 ]; }
inkan_is_root() { [ "$(id -u)" -eq 0 ]; }

# inkan_setup STATE PORT — token, database, config, test CA.
inkan_setup() {
  INKAN_STATE=$1
  local port=$2
  mkdir -p "$INKAN_STATE"
  "$(inkan_bin inkanctl)" init --state "$INKAN_STATE" --port "$port" >"$INKAN_STATE/init.log" 2>&1 ||
    { cat "$INKAN_STATE/init.log" >&2; return 1; }
  mkdir -p "$INKAN_STATE/log" "$INKAN_STATE/run" "$INKAN_STATE/ca"
  if inkan_separate_uids; then
    # Each daemon drops to its own uid; peers allowed by uid.
    sed -i \
      -e "/^\[scm\]/a user = $INKAN_UID_SCM:$INKAN_GID\nsam_uid = $INKAN_UID_SAM" \
      -e "/^\[sam\]/a user = $INKAN_UID_SAM:$INKAN_GID\nsic_uid = $INKAN_UID_SIC\nadmin_uid = 0\nso_uid = 0\nauditor_socket = $INKAN_STATE/sam/auditor.sock\nauditor_uid = $INKAN_UID_AUD" \
      -e "/^\[sic\]/a user = $INKAN_UID_SIC:$INKAN_GID" \
      "$INKAN_STATE/inkan.conf"
    chown -R "$INKAN_UID_SCM:$INKAN_GID" "$INKAN_STATE/scm"
    chown -R "$INKAN_UID_SAM:$INKAN_GID" "$INKAN_STATE/sam"
    chmod 0750 "$INKAN_STATE/scm" "$INKAN_STATE/sam"
    chmod 0755 "$INKAN_STATE"
  elif inkan_is_root; then
    # Root, one shared service uid: still never root.
    sed -i \
      -e "/^\[scm\]/a user = $INKAN_UID_SCM:$INKAN_GID" \
      -e "/^\[sam\]/a user = $INKAN_UID_SCM:$INKAN_GID\nadmin_uid = 0\nso_uid = 0\nauditor_socket = $INKAN_STATE/sam/auditor.sock\nauditor_uid = $INKAN_UID_AUD" \
      -e "/^\[sic\]/a user = $INKAN_UID_SCM:$INKAN_GID" \
      "$INKAN_STATE/inkan.conf"
    chown -R "$INKAN_UID_SCM:$INKAN_GID" "$INKAN_STATE/scm" "$INKAN_STATE/sam"
    chmod 0755 "$INKAN_STATE"
  fi
  # Landlock (issue 6): once running, each daemon touches files only in its
  # own state directory; inkan-sic in none.
  sed -i \
    -e "/^\[scm\]/a fs_paths = $INKAN_STATE/scm" \
    -e "/^\[sam\]/a fs_paths = $INKAN_STATE/sam" \
    -e "/^\[sic\]/a fs_paths =" \
    "$INKAN_STATE/inkan.conf"
  inkan_make_ca "$INKAN_STATE/ca"
  # issue 7: signer certificates must chain to the test CA. Enrolment uses
  # the signer's factors too, so tests get +-4 TOTP steps (production: 1).
  # totp_window: enrolment spends OTP steps; under valgrind a step goes
  # stale before slow requests reach the SAM: the widest window then.
  sed -i "/^\[sam\]/a trust_anchors = $INKAN_STATE/ca/ca.pem\ntotp_window = $(inkan_slow 4 10)" "$INKAN_STATE/inkan.conf"
  # TLS (issue 4): inkan-sic serves HTTPS with a certificate of the test CA
  # (read before its sandbox); inkan-sign is a registered OAuth2 client with
  # a loopback redirect (any port).
  sed -i \
    -e "/^\[sic\]/a tls_cert = $INKAN_STATE/ca/server.pem\ntls_key = $INKAN_STATE/ca/server.key" \
    -e "/^allow_plain_http/d" \
    -e "/^\[sam\]/a oauth_client = inkan-sign http://127.0.0.1/callback" \
    "$INKAN_STATE/inkan.conf"
}

# A local test CA made with the openssl command.
inkan_make_ca() {
  local d=$1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$d/ca.key" -out "$d/ca.pem" -days 3650 -subj "/CN=inkan test CA/O=inkan" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  printf 'keyUsage=critical,digitalSignature,nonRepudiation\nbasicConstraints=CA:FALSE\n' >"$d/ee.ext"
  # inkan-sic's TLS server certificate: localhost, 127.0.0.1, ::1
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=localhost/O=inkan" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n' >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 825 -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null
  chmod 600 "$d/server.key"
}

# ./run-tests --valgrind sets INKAN_VALGRIND_LOGDIR: every daemon then runs
# under valgrind (memcheck, definite leaks are errors), one log per process.
inkan_wrap() {
  [ -n "${INKAN_VALGRIND_LOGDIR:-}" ] || return 0
  printf '%s\n' valgrind --quiet --vgdb=no --error-exitcode=99 --leak-check=full \
    --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    "--log-file=$INKAN_VALGRIND_LOGDIR/$1.%p.log"
}

# inkan_slow NORMAL VALGRIND -> the first, or the second when the daemons
# run under valgrind (./run-tests --valgrind), which makes them 10-50 times
# slower: for waits and timed settings.
inkan_slow() { if [ -n "${INKAN_VALGRIND_LOGDIR:-}" ]; then echo "$2"; else echo "$1"; fi; }
# Start-up waits (x 0.05 s).
inkan_wait_steps() { inkan_slow 100 2000; }

_inkan_start_one() {
  local name=$1 wrap
  mapfile -t wrap < <(inkan_wrap "$name")
  "${wrap[@]}" "$(inkan_bin "$name")" --config "$INKAN_STATE/inkan.conf" \
    >>"$INKAN_STATE/log/$name.log" 2>&1 &
  echo $! >"$INKAN_STATE/run/$name.pid"
}

_inkan_wait_socket() {
  local path=$1 name=$2 i
  for i in $(seq 1 "$(inkan_wait_steps)"); do
    [ -S "$path" ] && return 0
    inkan_running "$(cat "$INKAN_STATE/run/$name.pid")" || break
    sleep 0.05
  done
  echo "inkan: $name did not start; its log:" >&2
  tail -n 20 "$INKAN_STATE/log/$name.log" >&2
  return 1
}

inkan_url() { sed -n 's/^listen *= *\(.*\)/https:\/\/\1/p' "$INKAN_STATE/inkan.conf"; }
# The CA that issued inkan-sic's TLS certificate (curl --cacert, inkan-sign --cacert).
inkan_cacert() { echo "$INKAN_STATE/ca/ca.pem"; }

inkan_start() {
  rm -f "$INKAN_STATE/scm/scm.sock" "$INKAN_STATE/sam/sam.sock" "$INKAN_STATE/sam/admin.sock"
  _inkan_start_one inkan-scm && _inkan_wait_socket "$INKAN_STATE/scm/scm.sock" inkan-scm || return 1
  _inkan_start_one inkan-sam && _inkan_wait_socket "$INKAN_STATE/sam/admin.sock" inkan-sam || return 1
  _inkan_start_one inkan-sic || return 1
  local url i
  url=$(inkan_url)
  for i in $(seq 1 "$(inkan_wait_steps)"); do
    if curl -sf --cacert "$(inkan_cacert)" -o /dev/null -X POST -H 'Content-Type: application/json' -d '{}' "$url/csc/v2/info"; then
      inkan_alive && return 0
      break
    fi
    inkan_running "$(cat "$INKAN_STATE/run/inkan-sic.pid")" || break
    sleep 0.05
  done
  inkan_alive || return 1
  echo "inkan: inkan-sic does not answer; its log:" >&2
  tail -n 20 "$INKAN_STATE/log/inkan-sic.log" >&2
  return 1
}

inkan_pid() { cat "$INKAN_STATE/run/$1.pid" 2>/dev/null; }

# Running, and not a zombie waiting for a slow reaper?
inkan_running() {
  [ -n "$1" ] && [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# All three daemons still running? Names the first one that is not.
inkan_alive() {
  local n
  for n in inkan-scm inkan-sam inkan-sic; do
    inkan_running "$(inkan_pid $n)" && continue
    echo "inkan: $n is not running; its log:" >&2
    tail -n 20 "$INKAN_STATE/log/$n.log" >&2
    return 1
  done
}

inkan_stop() {
  local n p i
  for n in inkan-sic inkan-sam inkan-scm; do
    p=$(inkan_pid "$n") || continue
    kill -TERM "$p" 2>/dev/null || { rm -f "$INKAN_STATE/run/$n.pid"; continue; }
    for i in $(seq 1 100); do inkan_running "$p" || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    rm -f "$INKAN_STATE/run/$n.pid"
  done
  return 0
}

# inkan_add_signer NAME PASSWORD PIN -> prints the TOTP secret (base32). The
# operator registers the signer (CN = NAME); the secrets are kept for
# inkan_add_credential in $INKAN_STATE/signers/NAME (0600, test state only).
inkan_add_signer() {
  local out secret
  out=$(INKAN_PASSWORD=$2 INKAN_PIN=$3 inkanctl user add "$1" 2>/dev/null) || return 1
  secret=$(printf '%s\n' "$out" | sed -n 's/^totp-secret: *//p')
  mkdir -p "$(inkan_signers)"
  ( umask 077; printf 'S_PW=%q\nS_PIN=%q\nS_SECRET=%q\n' "$2" "$3" "$secret" >"$(inkan_signers)/$1" )
  printf '%s\n' "$secret"
}

# Where the test signers' secrets are kept for enrolment: outside the state
# directory (tests search it for leaked secrets), 0700.
inkan_signers() { echo "${INKAN_SIGNERS_DIR:-$INKAN_STATE/../.inkan-signers}"; }

# inkan_otp_ledger SECRET -> the file holding the last TOTP step (absolute,
# 30 s units) used for that signer: the SAM accepts each step once, and
# subshells share the file.
inkan_otp_ledger() { echo "$INKAN_STATE/otp-$(printf '%s' "$1" | sha256sum | cut -c1-16)"; }

# inkan_otp SECRET -> a code for the lowest step in now-W..now+W not used yet
# (W: [sam] totp_window; waits for the next 30 s step when all are used);
# records it.
inkan_otp() {
  local f last now s w
  f=$(inkan_otp_ledger "$1")
  last=$(cat "$f" 2>/dev/null || echo 0)
  w=$(sed -n 's/^totp_window *= *\([0-9]*\).*/\1/p' "$INKAN_STATE/inkan.conf" | head -1)
  w=${w:-1}
  while :; do
    now=$(( $(date +%s) / 30 ))
    for s in $(seq $((now - w)) $((now + w))); do
      [ "$s" -gt "$last" ] || continue
      # the oldest step of the window dies at the next boundary: not in the
      # last 15 s of a step (a sanitizer build with two tests at once can
      # take seconds between here and the SAM's check). Later past steps
      # live 30 s more, and are used first: tests that make a code by hand
      # take current or future steps.
      [ "$s" -le $((now - w)) ] && [ $(( $(date +%s) % 30 )) -ge 15 ] && continue
      [ $(( $(date +%s) / 30 )) -eq "$now" ] || continue 2
      echo "$s" >"$f"
      "$(inkan_bin inkan-totp)" "$1" "@$s"     # the step the ledger says
      return
    done
    sleep $((31 - $(date +%s) % 30))
  done
}

# inkan_enrol USER KEYTYPE -> prints "ID CSR_FILE" (a pending credential). As
# issue 7 has it: the operator hands out a one-time identification code, the
# signer (password, PIN, OTP) instructs key generation through the CSC API
# and gets the CSR.
inkan_enrol() {
  local user=$1 kt=$2 code tok otp body id alg len S_PW S_PIN S_SECRET
  local csr="$INKAN_STATE/ca/$user-$kt-$$-$RANDOM.csr" url cacert
  # shellcheck disable=SC1090
  . "$(inkan_signers)/$user" || return 1
  url=$(inkan_url) cacert=$(inkan_cacert)
  case $kt in
    p256) alg=1.2.840.10045.2.1 len=256 ;;
    p384) alg=1.2.840.10045.2.1 len=384 ;;
    rsa2048) alg=1.2.840.113549.1.1.1 len=2048 ;;
    rsa3072) alg=1.2.840.113549.1.1.1 len=3072 ;;
    *) echo "inkan: key type $kt?" >&2; return 1 ;;
  esac
  code=$(inkanctl user idcode "$user" 2>/dev/null | sed -n 's/^id-code: *//p')
  [ -n "$code" ] || { echo "inkan: no identification code for $user" >&2; return 1; }
  tok=$(curl -s --cacert "$cacert" -X POST -u "$user:$S_PW" -H 'Content-Type: application/json' \
    -d '{}' "$url/csc/v2/auth/login" | jq -r '.access_token // empty')
  [ -n "$tok" ] || { echo "inkan: login $user failed" >&2; return 1; }
  otp=$(inkan_otp "$S_SECRET")
  body=$(curl -s --cacert "$cacert" -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $tok" --data-binary \
    "{\"keyAlgo\":\"$alg\",\"keyLength\":$len,\"PIN\":\"$S_PIN\",\"OTP\":\"$otp\",\"identificationCode\":\"$code\"}" \
    "$url/csc/v2/credentials/create")
  curl -s --cacert "$cacert" -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $tok" -d '{}' "$url/csc/v2/auth/revoke" >/dev/null
  id=$(printf '%s' "$body" | jq -r '.credentialID // empty' 2>/dev/null)
  [ -n "$id" ] || { echo "inkan: credentials/create for $user: $body" >&2; return 1; }
  printf '%s' "$body" | jq -r .csr | base64 -d | openssl req -inform DER -out "$csr" 2>/dev/null ||
    { echo "inkan: the CSR does not parse" >&2; return 1; }
  openssl req -in "$csr" -verify -noout 2>/dev/null || { echo "inkan: CSR does not verify" >&2; return 1; }
  echo "$id $csr"
}

# inkan_add_credential USER KEYTYPE -> prints the credential id: enrolled,
# its certificate issued by the test CA and registered by the operator.
inkan_add_credential() {
  local id csr
  read -r id csr < <(inkan_enrol "$1" "$2") && [ -n "$csr" ] || return 1
  openssl x509 -req -in "$csr" -CA "$INKAN_STATE/ca/ca.pem" -CAkey "$INKAN_STATE/ca/ca.key" \
    -CAcreateserial -days "${INKAN_CERT_DAYS:-365}" -extfile "$INKAN_STATE/ca/ee.ext" \
    -out "${csr%.csr}.pem" 2>/dev/null || return 1
  inkanctl credential import-cert --credential "$id" --cert "${csr%.csr}.pem" \
    --chain "$INKAN_STATE/ca/ca.pem" >/dev/null || return 1
  echo "$id"
}

# inkan_totp SECRET [STEP_OFFSET] -> the 6-digit code
inkan_totp() { "$(inkan_bin inkan-totp)" "$1" "${2:-0}"; }
