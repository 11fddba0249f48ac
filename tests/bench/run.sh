#!/usr/bin/env bash
# run.sh — runs inkan-bench against a fresh inkan: a temporary state
# directory, token, database and the three daemons from tools/harness.sh
# (HTTPS when the harness serves it), the signers the benchmark's plan needs
# (made with inkanctl, certificates from the harness's test CA), then the
# benchmark. Used by ./run-bench and by the 'bench' meson suite (--quick --tap).
# Needs INKAN_SRC and INKAN_BUILD. Other arguments go to inkan-bench.
# Environment: INKAN_BENCH_JSON (summary file; default in the state dir,
# printed), INKAN_BENCH_KEEP=1 keeps the state directory.
set -uo pipefail
INKAN_SRC=${INKAN_SRC:?}
INKAN_BUILD=${INKAN_BUILD:?}
. "$INKAN_SRC/tools/harness.sh"

BENCH=$INKAN_BUILD/tests/bench/inkan-bench
MULTISIGN=256          # the SAM's maximum numSignatures per SAD
QUICK=()
TAP=0
for a in "$@"; do
  case $a in
    --quick) QUICK=(--quick) ;;
    --tap) TAP=1 ;;
  esac
done

say() { if [ "$TAP" = 1 ]; then echo "# $*"; else echo "$*"; fi; }
fail() {
  if [ "$TAP" = 1 ]; then echo "Bail out! $*"; else echo "run-bench: $*" >&2; fi
  exit 1
}

B_TMP=$(mktemp -d "${TMPDIR:-/tmp}/inkan-bench.XXXXXX") || fail "mktemp"
chmod 0755 "$B_TMP"
cleanup() {
  inkan_stop 2>/dev/null
  if [ "${INKAN_BENCH_KEEP:-0}" = 1 ]; then say "state kept in $B_TMP"; else rm -rf "$B_TMP"; fi
}
trap cleanup EXIT

# key = value in [section]: replaced when present, else added.
conf_set() {
  local f=$INKAN_STATE/inkan.conf sec=$1 key=$2 val=$3
  if awk -v s="[$sec]" -v k="$key" '
      /^\[/ { in_s = ($0 == s) } in_s && $1 == k { found = 1 } END { exit !found }' "$f"; then
    awk -v s="[$sec]" -v k="$key" -v v="$val" '
      /^\[/ { in_s = ($0 == s) } in_s && $1 == k { print k " = " v; next } { print }' "$f" >"$f.new" &&
      cat "$f.new" >"$f" && rm -f "$f.new"
  else
    sed -i "/^\[$sec\]/a $key = $val" "$f"
  fi
}

port=0
for i in 1 2 3 4 5 6 7 8; do
  port=$((20000 + (RANDOM * 7 + $$) % 40000))
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
  break
done
inkan_setup "$B_TMP/state" "$port" || fail "inkan set-up failed"
# SADs as large as the SAM allows and long-lived: the benchmark authorises
# every SAD first (Argon2id + a TOTP step each) and spends them afterwards.
conf_set sam multisign "$MULTISIGN"
conf_set sam sad_lifetime 3600
conf_set sam token_lifetime 7200
# One client address opens up to 64 connections and sends far more than one
# account's fair share: lift inkan-sic's per-address connection cap and
# per-account request rate (issue 4 limits) when this inkan-sic has them.
if grep -q '"max_connections_per_ip"' "$INKAN_SRC/sic/main.c"; then conf_set sic max_connections_per_ip 256; fi
if grep -q '"rate_limit"' "$INKAN_SRC/sic/main.c"; then conf_set sic rate_limit 0; fi
# a profiler's set-up step (tests/bench/profile.sh): may edit the config
if [ -n "${INKAN_BENCH_SETUP_HOOK:-}" ]; then
  INKAN_STATE=$INKAN_STATE $INKAN_BENCH_SETUP_HOOK || fail "setup hook failed"
fi
KDF=$(awk '/^\[/ { s = $0 } s == "[sam]" && $1 == "kdf" { print $3 }' "$INKAN_STATE/inkan.conf")
KDF=${KDF:-interactive}
inkan_start || fail "inkan did not start"
URL=$(inkan_url)
CA=()
if [ "${URL#https:}" != "$URL" ]; then
  # the harness's TLS set-up: its test CA issued inkan-sic's certificate
  if [ "$(type -t inkan_cacert)" = function ]; then ca=$(inkan_cacert); else ca=$INKAN_STATE/ca/ca.pem; fi
  [ -f "$ca" ] || fail "https without a CA file ($ca)"
  CA=(--cacert "$ca")
fi

args=()
for a in "$@"; do [ "$a" = --quick ] || [ "$a" = --tap ] || args+=("$a"); done

# Signers: as many per key type as the plan needs (3 TOTP steps each).
"$BENCH" --plan "${QUICK[@]}" --multisign "$MULTISIGN" "${args[@]}" >"$B_TMP/plan" ||
  fail "inkan-bench --plan"
SIGNERS=$B_TMP/signers
: >"$SIGNERS"
mk_signer() {   # KEYTYPE INDEX -> one line in $B_TMP/s.KEYTYPE.INDEX
  local kt=$1 i=$2 name pw pin secret cred try
  # a few tries: parallel `openssl x509 -CAcreateserial` runs share the test
  # CA's serial file and now and then one of them fails
  for try in 1 2 3; do
    name="bench-$kt-$i-$try"
    pw="pw-$RANDOM$RANDOM$RANDOM-$i"
    pin=$(printf '%06d' $(( (RANDOM * 32768 + RANDOM) % 1000000 )))
    secret=$(inkan_add_signer "$name" "$pw" "$pin") && [ -n "$secret" ] || continue
    cred=$(inkan_add_credential "$name" "$kt") && [ -n "$cred" ] || continue
    echo "$kt $name $pw $pin $secret $cred" >"$B_TMP/s.$kt.$i"
    return 0
  done
  echo "signer $kt $i: inkanctl user add or credential create failed 3 times" >&2
  return 1
}
t0=$(date +%s)
total=0
pids=()
while read -r kt n; do
  [ "$n" -gt 0 ] || continue
  for i in $(seq 1 "$n"); do
    mk_signer "$kt" "$i" 2>"$B_TMP/err.$kt.$i" &
    pids+=($!)
    total=$((total + 1))
    # a few at a time (the SAM hashes one password at a time anyway); only
    # our own jobs: the daemons are children of this shell too
    while :; do
      live=()
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && live+=("$p"); done
      [ ${#live[@]} -lt 6 ] && break
      sleep 0.05
    done
  done
done <"$B_TMP/plan"
for p in "${pids[@]}"; do wait "$p"; done
cat "$B_TMP"/s.* >"$SIGNERS" 2>/dev/null
made=$(wc -l <"$SIGNERS")
say "made $made of $total signers in $(( $(date +%s) - t0 )) s (inkanctl user add + credential create + test CA certificate)"
if [ "$made" -ne "$total" ]; then
  for f in "$B_TMP"/err.*; do [ -s "$f" ] && { say "${f##*/}:"; sed 's/^/# /' "$f" | head -n 5; }; done
  tail -n 5 "$INKAN_STATE/log/inkan-sam.log" | sed 's/^/# /'
  fail "could not create every signer"
fi

JSON=${INKAN_BENCH_JSON:-$B_TMP/bench.json}
PIDS="$(inkan_pid inkan-sic),$(inkan_pid inkan-sam),$(inkan_pid inkan-scm)"
export INKAN_STATE INKAN_BENCH_PIDS=$PIDS     # for a --hook
TAPARG=()
[ "$TAP" = 1 ] && TAPARG=(--tap)
"$BENCH" "${QUICK[@]}" "${TAPARG[@]}" --url "$URL" "${CA[@]}" \
  --signers "$SIGNERS" --multisign "$MULTISIGN" --kdf "$KDF" --json "$JSON" \
  --pids "$PIDS" "${args[@]}"
rc=$?
inkan_alive || { say "a daemon died during the benchmark"; rc=1; }
if [ -z "${INKAN_BENCH_JSON:-}" ] && [ "$TAP" != 1 ]; then
  # keep the summary beside the build, not in the state directory we remove
  cp "$JSON" "$INKAN_BUILD/bench-summary.json" 2>/dev/null && say "summary copied to $INKAN_BUILD/bench-summary.json"
fi
exit $rc
