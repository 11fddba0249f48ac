#!/usr/bin/env bash
# t-audit.sh — issue 5: the audit trail of a real signing session. Every event
# type of issue item 1 is produced and checked for its fields; the trail
# (rotated across files) verifies offline with inkan-audit-verify and the
# public key from `inkanctl audit pubkey`; each kind of tampering (edit, edit
# with re-chained hashes, deletion, insertion, reordering, truncation beyond
# the checkpoint interval, a missing file, another key) is caught and named;
# `inkanctl audit verify/show` work for the auditor only; no secret appears.
. "$INKAN_SRC/tests/integration/lib.sh"
VERIFY=$(inkan_bin inkan-audit-verify)
verify_quiet() { "$VERIFY" "$@" >/dev/null; }

inkan_setup "$T_TMP/state" "$(free_port)" || bail "setup failed"
# Small numbers so that a short session has several checkpoints and files.
sed -i "/^\[sam\]/a audit_checkpoint_records = 5\naudit_max_file_size = 4096" \
  "$INKAN_STATE/inkan.conf"
# The auditor reaches its socket through a group of its own (the socket is
# then 0660 in that group); the state directory through the service group.
AUD_GID=64105
inkan_is_root && sed -i "/^\[sam\]/a auditor_group = $AUD_GID" "$INKAN_STATE/inkan.conf"
inkan_start || bail "daemons did not start"
URL=$(inkan_url)
CACERT=$(inkan_cacert)
export CURL_CA_BUNDLE=$CACERT INKAN_CACERT=$CACERT
AUDIT=$INKAN_STATE/sam/audit

# The auditor role: its own uid (root is administrator and SO here).
live=0
inkan_is_root && live=1
as_auditor() { setpriv --reuid="$INKAN_UID_AUD" --regid="$AUD_GID" --groups="$INKAN_GID" "$@"; }
auditctl() { as_auditor "$(inkan_bin inkanctl)" --config "$INKAN_STATE/inkan.conf" audit "$@"; }

# ---- a signing session with failures ----------------------------------------
new_signer alice p256
PW_A=$PW PIN_A=$PIN SECRET_A=$SECRET
bad=$(curl -s --cacert "$CACERT" -o /dev/null -w '%{http_code}' -X POST -u "alice:wrong-password" \
  -H 'Content-Type: application/json' -d '{}' "$URL/csc/v2/auth/login")
is "login with a wrong password refused" "$bad" 401
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "999999x" "$(digest sha256 pin-fail)"
is "authorize with a wrong PIN refused" "$HTTP" 400
authorize "$CRED" "$TOKEN" "000000" "$PIN" "$(digest sha256 otp-fail)"
is "authorize with a wrong OTP refused" "$HTTP" 400
h1=$(digest sha256 "contract one") h2=$(digest sha256 "contract two") h3=$(digest sha256 "contract three")
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h1" "$h2" "$h3"
is "authorize three hashes" "$HTTP" 200
SAD_A=$SAD
sign_hash "$CRED" "$TOKEN" "$SAD" 1.2.840.10045.4.3.2 "" "$h1" "$h2"
is "sign two of them" "$HTTP" 200
sig1=$(jget '.signatures[0]')
sign_hash "$CRED" "$TOKEN" "$SAD" 1.2.840.10045.4.3.2 "" "$h1"
is "a signed hash again: the kept signature (a lost answer), byte for byte" "$HTTP/$(jget '.signatures[0]')" "200/$sig1"
sign_hash "$CRED" "$TOKEN" "$SAD" 1.2.840.10045.4.3.2 "" "$(digest sha256 "not authorised")"
is "a hash outside the SAD is refused" "$HTTP" 400
csc v2 credentials/extendTransaction "{\"credentialID\":\"$CRED\",\"SAD\":\"$SAD_A\"}" "$TOKEN"
is "extendTransaction: a fresh SAD for the unused hash" "$HTTP" 200
SAD_X=$(jget '.SAD // empty')
CRED_A=$CRED TOKEN_A=$TOKEN
# Enough records for several checkpoints and files: 40 hashes per request.
new_signer bob p256
bulk=()
for i in $(seq 1 40); do bulk+=("$(digest sha256 "bulk $i")"); done
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "${bulk[@]}"
is "authorize 40 hashes" "$HTTP" 200
sign_hash "$CRED" "$TOKEN" "$SAD" 1.2.840.10045.4.3.2 "" "${bulk[@]}"
is "sign 40 hashes" "$HTTP" 200
csc v2 auth/revoke '{}' "$TOKEN"
# A peer refused at a socket: a message type the signer socket does not carry.
"$INKAN_BUILD/tests/ipc-probe" "$INKAN_STATE/sam/sam.sock" admin-user-list >/dev/null 2>&1
if [ "$live" = 1 ]; then
  auditctl pubkey >"$T_TMP/audit.pem" 2>"$T_TMP/pubkey.out"
  ok "the auditor gets the audit public key" openssl pkey -pubin -in "$T_TMP/audit.pem" -noout
  ok "... with its fingerprint" grep -q '^fingerprint: sha256:[0-9a-f]\{64\}$' "$T_TMP/pubkey.out"
  ok "it is the key next to the trail" cmp -s "$T_TMP/audit.pem" "$AUDIT/audit-key.pem"
  out=$(auditctl verify); rc=$?
  is "inkanctl audit verify: the live trail is intact ($(echo "$out" | head -1))" "$rc" 0
  auditctl show --event sign --signer alice >"$T_TMP/show.txt"
  ok "audit show --event sign --signer alice: alice's signatures" \
    test "$(grep -c 'event=sign actor=signer:alice ' "$T_TMP/show.txt")" = 2
  ok "... and nothing else" test "$(wc -l <"$T_TMP/show.txt")" = 2
  n=$(auditctl show --credential "$CRED_A" | grep -vc "cred=$CRED_A ")
  is "audit show --credential: only that credential" "$n" 0
  n=$(auditctl show --event 'auth*' | grep -c 'event=authorize ')
  is "audit show --event 'auth*': every authorisation" "$n" 4
  n=$(auditctl show --since 2999-01-01 | wc -l)
  is "audit show --since (future): nothing" "$n" 0
  n=$(auditctl show --since "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" --until "$(date -u -d '+1 hour' +%Y-%m-%d)" --event login | wc -l)
  # alice's and bob's logins, and one each for their enrolment (issue 7)
  is "audit show --since/--until: the logins of the last hour" "$n" 5
  auditctl show --limit 2 >"$T_TMP/two.txt"
  is "audit show --limit 2" "$(wc -l <"$T_TMP/two.txt")" 2
  # Paged through every file: the export is the trail itself.
  auditctl show >"$T_TMP/export.log"
  ok "an unfiltered show is a verifiable export" verify_quiet "$T_TMP/export.log" "$T_TMP/audit.pem"
  # Only the auditor reads the trail (R29).
  inkanctl audit verify >/dev/null 2>&1; rc=$?
  is "the administrator cannot read the trail (auditor socket)" "$rc" 1
  out=$("$(inkan_bin inkanctl)" --socket "$INKAN_STATE/sam/admin.sock" audit show 2>&1); rc=$?
  ok "audit messages on the admin socket close the connection ($out)" test "$rc" -eq 1
fi
# Lock and unlock, credential state changes (issue 3's security officer).
new_signer carl p256
CRED_C=$CRED
for i in 1 2 3 4 5; do authorize "$CRED" "$TOKEN" "000000" "0000" "$(digest sha256 "lock $i")"; done
is "five wrong PINs lock the signer" "$HTTP" 400
if inkanctl user unlock carl >/dev/null; then so=1; else so=0; fi
inkanctl credential disable --credential "$CRED_C" >/dev/null
inkanctl credential enable --credential "$CRED_C" >/dev/null
inkanctl credential set-multisign --credential "$CRED_C" --multisign 5 >/dev/null
inkan_stop
[ "$live" = 1 ] || cp "$AUDIT/audit-key.pem" "$T_TMP/audit.pem"

# ---- the trail --------------------------------------------------------------
files=$(ls "$AUDIT"/audit-*.log | wc -l)
ok "the trail was rotated across files ($files)" test "$files" -ge 3
out=$("$VERIFY" "$AUDIT" "$T_TMP/audit.pem"); rc=$?
is "inkan-audit-verify: intact trail, exit 0" "$rc" 0
ok "it prints the records and checkpoints verified" sh -c "echo '$out' | grep -q '^OK: [0-9]* records verified .* [0-9]* checkpoints verified'"
ok "the trail ends with the shutdown checkpoint" sh -c "echo '$out' | grep -q 'last checkpoint: seq [0-9]* (shutdown)'"
cat "$AUDIT"/audit-*.log >"$T_TMP/all.log"
rec() { grep " event=$1 " "$T_TMP/all.log"; }
# has EVENT FIELD... : some record of EVENT carries every FIELD (k=v regex)
has() {
  local ev=$1 line f; shift
  while IFS= read -r line; do
    for f in "$@"; do [[ " $line " == *" $f"* ]] || continue 2; done
    return 0
  done < <(rec "$ev")
  return 1
}
hx() { printf '%s' "$1" | base64 -d | od -An -tx1 | tr -d ' \n'; }
ok "every record has seq, time (UTC ms), event, actor, outcome, reason, prev, hash" \
  test "$(grep -cvE '^seq=[1-9][0-9]* time=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z event=[a-z][a-z0-9_.]* actor=[^ ]+ outcome=(ok|fail) reason=[^ ]* .*prev=[0-9a-f]{64} hash=[0-9a-f]{64}$' "$T_TMP/all.log")" = 0
ok "audit.genesis opens the trail (seq 1, prev = zeros)" sh -c "head -1 '$(ls "$AUDIT"/audit-*.log | head -1)' | grep -q '^seq=1 .* event=audit.genesis .* prev=0\{64\} '"
ok "audit.continue opens each later file" has audit.continue outcome=ok prev_file=audit-
ok "process.start: version, pid, checkpoint interval" has process.start actor=component:inkan-sam cp_records=5 cp_seconds=60 pid= version=
ok "config: the [sam] settings" has config actor=component:inkan-sam audit_checkpoint_records=5 audit_max_file_size=4096 changed=unknown
ok "audit.key: the audit key's fingerprint" has audit.key key=
ok "audit.checkpoint: signed head" has audit.checkpoint outcome=ok alg=ecdsa-p256-sha256 cp_records=5 cp_seconds=60 key= sig=
ok "user.add by the administrator" has user.add actor=operator:admin:uid= outcome=ok user=alice
ok "key.generate instructed by the signer, with credential and key type" has key.generate actor=signer:alice outcome=ok by=signer "cred=$CRED_A" key_type=p256 user=alice
ok "cert.import with serial, issuer, subject" has cert.import outcome=ok "cred=$CRED_A" issuer=O=inkan,CN=inkan%20test%20CA not_after= serial= subject=CN=alice
ok "login ok" has login actor=signer:alice outcome=ok user=alice
ok "login failure with its reason" has login actor=signer:alice outcome=fail reason=AUTH_FAILED
ok "authorize failure: the PIN" has authorize actor=signer:alice outcome=fail reason=INVALID_PIN "cred=$CRED_A" factor=pin
ok "authorize failure: the OTP" has authorize outcome=fail reason=INVALID_OTP factor=otp
ok "authorize ok: hashes, count, SAD id" has authorize outcome=ok "cred=$CRED_A" hash_alg=sha256 "hashes=$(hx "$h1"),$(hx "$h2"),$(hx "$h3")" n=3 sad= user=alice
sadid=$(printf '%s' "$SAD_A" | sha256sum | cut -c1-16)
ok "sign ok: credential, serial and issuer, algorithm, every hash, SAD id" \
  has sign actor=signer:alice outcome=ok "cred=$CRED_A" hash_alg=sha256 "hashes=$(hx "$h1"),$(hx "$h2")" issuer=O=inkan n=2 "sad=$sadid" serial= sign_algo=1.2.840.10045.4.3.2 user=alice
ok "sign failure with its reason" has sign actor=signer:alice outcome=fail reason=HASH_NOT_AUTHORIZED
ok "sign.redeliver: the kept signature given again, with its hash" has sign.redeliver actor=signer:alice outcome=ok "cred=$CRED_A" "hashes=$(hx "$h1")" n=1 "sad=$sadid"
ok "sad.extend: old and new SAD ids" has sad.extend actor=signer:alice outcome=ok "cred=$CRED_A" "old_sad=$sadid" "sad=$(printf '%s' "$SAD_X" | sha256sum | cut -c1-16)" user=alice
ok "40 hashes in one sign record" has sign actor=signer:bob outcome=ok n=40
ok "token.revoke" has token.revoke
ok "peer.refused at the signer socket" has peer.refused actor=peer:uid= outcome=fail socket=signer
ok "process.stop" has process.stop outcome=ok reason=shutdown
ok "user.lock after the failures" has user.lock actor=signer:carl reason=TOO_MANY_FAILURES failures=5 until= user=carl
if [ "$so" = 1 ]; then
  ok "user.unlock by the security officer" has user.unlock actor=operator:so:uid= outcome=ok was_locked=yes user=carl
  ok "cred.disable and cred.enable" sh -c "grep -q ' event=cred.disable .* cred=$CRED_C' '$T_TMP/all.log' && grep -q ' event=cred.enable .* cred=$CRED_C' '$T_TMP/all.log'"
  ok "cred.multisign" has cred.multisign outcome=ok "cred=$CRED_C" multisign=5
fi
if [ "$live" = 1 ]; then
  ok "audit.verify: the auditor's verification run" has audit.verify actor=operator:auditor outcome=ok checkpoints= records=
  ok "audit.read: the auditor's reading" has audit.read actor=operator:auditor outcome=ok
fi
# Never a secret: not the passwords, PINs, OTPs, tokens or SADs of this run.
leak=0
for s in "$PW_A" "$PIN_A" "$SECRET_A" "$TOKEN_A" "$SAD_A" "$SAD_X" "wrong-password"; do
  # as a value of its own (a 6-digit PIN may occur inside hex by chance)
  grep -qE -- "(^|[ =,:])$s([ ,]|\$)" "$T_TMP/all.log" && { echo "# found a secret: $s"; leak=1; }
done
is "no password, PIN, TOTP secret, token or SAD in the trail" "$leak" 0
grep -q "audit seq=[0-9]* event=sign actor=signer:alice outcome=ok" "$INKAN_STATE/log/inkan-sam.log"
is "each record also reaches the journal (stderr)" "$?" 0
! grep -q "audit seq=.*hashes=" "$INKAN_STATE/log/inkan-sam.log"
is "... without the auditor-only details" "$?" 0

# ---- tampering --------------------------------------------------------------
# Each case works on a copy of the directory; the verifier must exit 1 and
# name what it found.
first=$(ls "$AUDIT"/audit-*.log | head -1); first=${first##*/}
copy() { rm -rf "$T_TMP/t"; cp -a "$AUDIT" "$T_TMP/t"; }
expect_bad() {   # DESC PATTERN
  local out rc
  out=$("$VERIFY" "$T_TMP/t" "$T_TMP/audit.pem" 2>&1); rc=$?
  if [ "$rc" -eq 1 ] && echo "$out" | grep -q -- "$2"; then echo "ok $((T_N += 1)) - $1"; else
    echo "not ok $((T_N += 1)) - $1"; echo "$out" | sed 's/^/#   /'; T_FAIL=$((T_FAIL + 1)); fi
}
# The line number of alice's sign record in the first file with one.
sfile=$(grep -l ' event=sign actor=signer:alice outcome=ok' "$AUDIT"/audit-*.log | head -1); sfile=${sfile##*/}
sline=$(grep -n ' event=sign actor=signer:alice outcome=ok' "$AUDIT/$sfile" | head -1 | cut -d: -f1)
sseq=$(sed -n "${sline}p" "$AUDIT/$sfile" | sed 's/^seq=\([0-9]*\) .*/\1/')

copy; sed -i "${sline}s/ n=2 / n=1 /" "$T_TMP/t/$sfile"
expect_bad "edit: a changed field is caught at its record" "seq=$sseq: hash does not match"

# Edit and re-chain every later hash, across the later files too: only the
# checkpoint signature can tell, and it does.
copy
prev="" started=0
for f in "$T_TMP"/t/audit-*.log; do
  [[ "$f" < "$T_TMP/t/$sfile" ]] && continue
  i=0
  while IFS= read -r line; do
    i=$((i + 1))
    if [ "$started" = 1 ] || { [ "${f##*/}" = "$sfile" ] && [ "$i" -ge "$sline" ]; }; then
      if [ "$started" = 0 ]; then line=${line/ n=2 / n=1 }; started=1; fi
      body=${line% hash=*}
      body="${body% prev=*} prev=$prev"
      line="$body hash=$(printf '%s' "$body" | sha256sum | cut -c1-64)"
    fi
    prev=${line##* hash=}
    printf '%s\n' "$line"
  done <"$f" >"$f.new"
  mv "$f.new" "$f"
done
expect_bad "edit with re-chained hashes: the next checkpoint's signature fails" "checkpoint signature does not verify"

# Deletion, insertion, reordering: records 2..3 of the first file.
copy; sed -i "2d" "$T_TMP/t/$first"
expect_bad "deletion: a missing record is named" "record(s) 2..2 deleted"

copy; sed -i "3r /dev/stdin" "$T_TMP/t/$first" <<<"$(sed -n 2p "$AUDIT/$first")"
expect_bad "insertion: a copied record is caught" "a record was inserted"

copy; sed -i -n "2{h;n;p;x;p;b};p" "$T_TMP/t/$first"
expect_bad "reordering: swapped records are caught" "reordered"

# Truncation beyond the interval: cut right before a checkpoint written
# because 5 records were due, and drop every later file.
copy
last=$(ls "$T_TMP"/t/audit-*.log | tail -1)
cfile=$(grep -l ' event=audit.checkpoint .* reason=records ' "$T_TMP"/t/audit-*.log | tail -1)
cline=$(grep -n ' event=audit.checkpoint .* reason=records ' "$cfile" | tail -1 | cut -d: -f1)
head -n "$((cline - 1))" "$cfile" >"$cfile.cut"; mv "$cfile.cut" "$cfile"
for g in "$T_TMP"/t/audit-*.log; do [[ "$g" > "$cfile" ]] && rm -f "$g"; done
expect_bad "truncation beyond the checkpoint interval is caught" "trail truncated"

copy; rm -f "$T_TMP/t/$(ls "$AUDIT" | grep '^audit-.*\.log$' | sed -n 2p)"
expect_bad "a missing file in the middle is caught" "deleted"

copy; rm -f "$T_TMP/t/$first"
expect_bad "a missing first file is caught" "files before it are missing"

copy; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | openssl pkey -pubout >"$T_TMP/other.pem" 2>/dev/null
out=$("$VERIFY" "$T_TMP/t" "$T_TMP/other.pem"); rc=$?
is "another public key does not verify the checkpoints" "$rc" 1

# Truncation within the interval is invisible in the files alone; a head
# known from elsewhere (the journal logs every checkpoint) catches it.
copy
lastf=$(ls "$T_TMP"/t/audit-*.log | tail -1)
# what the journal says of the shutdown checkpoint: "covers seq N head=H"
jl=$(grep -o 'event=audit.checkpoint covers seq [0-9]* head=[0-9a-f]*' "$INKAN_STATE/log/inkan-sam.log" | tail -1)
hseq=$(echo "$jl" | sed 's/.*covers seq \([0-9]*\) .*/\1/'); hhash=${jl##*head=}
sed -i '$d' "$lastf"; sed -i '$d' "$lastf"
"$VERIFY" "$T_TMP/t" "$T_TMP/audit.pem" >/dev/null; rc=$?
is "(documented) cutting the last records after a checkpoint alone is not visible" "$rc" 0
out=$("$VERIFY" --expect "$hseq:$hhash" "$T_TMP/t" "$T_TMP/audit.pem"); rc=$?
is "... but --expect SEQ:HASH (from the journal) catches it" "$rc" 1
ok "the journal's last checkpoint head is the trail's ($hseq)" grep -q "^seq=$hseq .* hash=$hhash\$" "$T_TMP/all.log"
done_testing
