#!/usr/bin/env bash
# t-audit-crash.sh — issue 5: no signature leaves without its durable record.
#  (a) the trail cannot grow (RLIMIT_FSIZE on the running inkan-sam): the
#      signature is withheld (CSC 503 temporarily_unavailable), every later
#      release is refused until a write succeeds, and the trail says so;
#  (b) the file system is full (a tiny tmpfs under audit_dir; root only):
#      the same with ENOSPC;
#  (c) SIGKILL between a batch's fdatasync and its replies, and (d) SIGKILL
#      in the middle of concurrent signing: the trail verifies and holds
#      every signature that was released, plus at most the ones in flight
#      whose clients got no answer; a torn last line is cut at restart.
. "$INKAN_SRC/tests/integration/lib.sh"
command -v prlimit >/dev/null || skip_all "needs prlimit (util-linux)"
VERIFY=$(inkan_bin inkan-audit-verify)

inkan_setup "$T_TMP/state" "$(free_port)" || bail "setup failed"
sed -i "/^\[sam\]/a audit_checkpoint_records = 4" "$INKAN_STATE/inkan.conf"
AUD_GID=64105
inkan_is_root && sed -i "/^\[sam\]/a auditor_group = $AUD_GID" "$INKAN_STATE/inkan.conf"
auditctl() {
  setpriv --reuid="$INKAN_UID_AUD" --regid="$AUD_GID" --groups="$INKAN_GID" \
    "$(inkan_bin inkanctl)" --config "$INKAN_STATE/inkan.conf" audit "$@"
}
inkan_start || bail "daemons did not start"
URL=$(inkan_url)
CACERT=$(inkan_cacert)
export CURL_CA_BUNDLE=$CACERT INKAN_CACERT=$CACERT
AUDIT=$INKAN_STATE/sam/audit
CONF=$INKAN_STATE/inkan.conf
ES256=1.2.840.10045.4.3.2

sam_pid() { inkan_pid inkan-sam; }
rm_sam_sockets() { rm -f "$INKAN_STATE"/sam/*.sock; }
stop_sam() {   # stop_sam [SIGNAL]
  local p; p=$(sam_pid)
  kill "-${1:-TERM}" "$p" 2>/dev/null
  for _ in $(seq 1 100); do inkan_running "$p" || break; sleep 0.05; done
  wait "$p" 2>/dev/null
}
start_sam() {
  rm_sam_sockets
  _inkan_start_one inkan-sam && _inkan_wait_socket "$INKAN_STATE/sam/sam.sock" inkan-sam
}
last_file() { ls "$AUDIT"/audit-*.log | tail -1; }
hx() { printf '%s' "$1" | base64 -d | od -An -tx1 | tr -d ' \n'; }
trail() { cat "$AUDIT"/audit-*.log; }

# ---- (a) RLIMIT_FSIZE --------------------------------------------------------
# The limit must stop the trail's write but not SQLite's: first make the
# trail's file larger than the database and its WAL with refused requests of
# an authenticated signer (their records carry the 100 digests).
new_signer carol p256
junk=()
for i in $(seq 1 100); do junk+=("$(digest sha512 "junk $i")"); done
for i in $(seq 1 30); do
  sign_hash "$CRED" "$TOKEN" "not-a-valid-sad-$i" 1.2.840.10045.4.3.4 2.16.840.1.101.3.4.2.3 "${junk[@]}"
done
is "refused requests are recorded with their digests" "$(trail | grep -c ' event=sign actor=signer:carol outcome=fail reason=SAD_INVALID .* n=100 ')" 30
# prlimit on another uid's process needs CAP_SYS_RESOURCE, which a
# container's root may lack: act as the SAM's own uid and gid instead.
as_sam_ids() {
  local p=$1; shift
  inkan_is_root || { "$@"; return; }
  setpriv --reuid="$(awk '/^Uid:/ {print $2}' "/proc/$p/status")" \
    --regid="$(awk '/^Gid:/ {print $2}' "/proc/$p/status")" --clear-groups "$@"
}
new_signer dave p256
cert_pubkey "$CRED" "$TOKEN" "$T_TMP/dave.pub"
h=$(digest sha256 "withheld") h2=$(digest sha256 "after the outage")
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h"
is "authorize before the limit" "$HTTP" 200
size=$(stat -c %s "$(last_file)")
wal=$(stat -c %s "$INKAN_STATE/sam/inkan.db-wal" 2>/dev/null || echo 0)
db=$(stat -c %s "$INKAN_STATE/sam/inkan.db")
echo "# trail file $size bytes, database $db, WAL $wal"
[ "$size" -gt $((wal + db)) ] || bail "the trail file is not larger than the database"
as_sam_ids "$(sam_pid)" prlimit --pid "$(sam_pid)" --fsize=$((size + 40)): ||
  bail "cannot set RLIMIT_FSIZE on inkan-sam"
sign_hash "$CRED" "$TOKEN" "$SAD" "$ES256" "" "$h"
is "(a) the trail cannot grow: signHash answers 503" "$HTTP" 503
is "... temporarily_unavailable" "$(jget .error)" temporarily_unavailable
is "... and no signature" "$(jget '.signatures // empty')" ""
authorize "$CRED" "$TOKEN" "000000" "$PIN" "$h2"
is "... authorize is refused too (no SAD without its record)" "$HTTP" 503
bad=$(curl -s --cacert "$CACERT" -o /dev/null -w '%{http_code}' -X POST -u "dave:$PW" \
  -H 'Content-Type: application/json' -d '{}' "$URL/csc/v2/auth/login")
is "... and login (no token without its record)" "$bad" 503
is "the trail did not grow (rolled back, no torn line)" "$(stat -c %s "$(last_file)")" "$size"
as_sam_ids "$(sam_pid)" prlimit --pid "$(sam_pid)" --fsize=unlimited:
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h2"
is "space again: the next request succeeds" "$HTTP" 200
sign_hash "$CRED" "$TOKEN" "$SAD" "$ES256" "" "$h2"
is "... and signs" "$HTTP" 200
ok "... a signature OpenSSL verifies" verify_sig "$T_TMP/dave.pub" "$h2" "$(jget '.signatures[0]')" ecdsa sha256
ok "the outage is on record (EFBIG, requests refused)" sh -c \
  "cat '$AUDIT'/audit-*.log | grep ' event=audit.outage ' | grep -q 'outcome=fail reason=EFBIG .*refused=[2-9]'"
ok "the withheld signature's record says so" sh -c \
  "cat '$AUDIT'/audit-*.log | grep ' event=sign actor=signer:dave outcome=fail reason=audit_unavailable ' | grep -q 'hashes=$(hx "$h") '"
n=$(trail | grep ' event=sign actor=signer:dave outcome=ok ' | grep -c "hashes=$(hx "$h") ")
is "no sign ok record for the withheld hash" "$n" 0
ok "the journal names the failure" grep -q "audit: cannot write the trail .*File too large" "$INKAN_STATE/log/inkan-sam.log"

# ---- (b) ENOSPC on a tiny file system ----------------------------------------
if inkan_is_root && unshare -m true 2>/dev/null; then
  stop_sam
  cp -a "$AUDIT" "$T_TMP/audit-save"
  mkdir -p "$T_TMP/audit-out"
  rm_sam_sockets
  # inkan-sam in a mount namespace of its own with audit_dir on a 1 MiB
  # tmpfs holding the trail so far; the trail is copied out when it stops.
  owner=$(stat -c %u:%g "$T_TMP/audit-save")
  unshare -m --propagation private sh -c '
    mount -t tmpfs -o size=1m,mode=0700 tmpfs "$1" || exit 1
    cp -a "$2"/. "$1"/ && chown "$3" "$1" || exit 1
    "$4" --config "$5" >>"$6" 2>&1 &
    echo $! >"$7"
    wait $!
    cp -a "$1"/. "$8"/' sh "$AUDIT" "$T_TMP/audit-save" "$owner" "$(inkan_bin inkan-sam)" \
    "$CONF" "$INKAN_STATE/log/inkan-sam.log" "$INKAN_STATE/run/inkan-sam.pid" "$T_TMP/audit-out" &
  ns=$!
  sleep 0.2
  _inkan_wait_socket "$INKAN_STATE/sam/sam.sock" inkan-sam || bail "inkan-sam in a namespace did not start"
  new_signer erin p256
  # 100 digests: the record needs new pages (a short one could still fit
  # in the last page of the file when the file system is full).
  hb=()
  for i in $(seq 1 100); do hb+=("$(digest sha256 "no space $i")"); done
  hb2=$(digest sha256 "space again")
  next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "${hb[@]}"
  is "(b) authorize on the tmpfs trail" "$HTTP" 200
  nsenter -t "$(sam_pid)" -m -- sh -c "dd if=/dev/zero of='$AUDIT/fill' bs=4k 2>/dev/null; sync"
  sign_hash "$CRED" "$TOKEN" "$SAD" "$ES256" "" "${hb[@]}"
  is "(b) file system full: signHash answers 503, no signature" "$HTTP:$(jget '.signatures // empty')" "503:"
  nsenter -t "$(sam_pid)" -m -- rm -f "$AUDIT/fill"
  next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$hb2"
  sign_hash "$CRED" "$TOKEN" "$SAD" "$ES256" "" "$hb2"
  is "(b) space freed: signing works again" "$HTTP" 200
  stop_sam; wait "$ns"
  ok "(b) the outage is on record (ENOSPC)" sh -c \
    "cat '$T_TMP'/audit-out/audit-*.log | grep ' event=audit.outage ' | grep -q 'reason=ENOSPC'"
  ok "(b) the withheld signature's record says so" sh -c \
    "cat '$T_TMP'/audit-out/audit-*.log | grep ' event=sign actor=signer:erin outcome=fail reason=audit_unavailable ' | grep -q 'hashes=$(hx "${hb[0]}"),'"
  out=$("$VERIFY" "$T_TMP/audit-out" "$AUDIT/audit-key.pem"); rc=$?
  is "(b) that trail verifies ($(echo "$out" | head -1))" "$rc" 0
  # The tmpfs trail continued the one on disk: it becomes the trail again.
  rm -f "$AUDIT"/audit-*.log
  cp -a "$T_TMP"/audit-out/audit-*.log "$AUDIT"/
  start_sam || bail "inkan-sam did not restart"
fi

# ---- (c) SIGKILL between fdatasync and the replies ---------------------------
# concurrent_signs TAG N: N signHash requests of one hash each, in parallel,
# under one SAD; results in $T_TMP/TAG.* (hash, HTTP status, body).
concurrent_signs() {
  local tag=$1 n=$2 i hs=()
  CURLS=()
  for i in $(seq 1 "$n"); do hs+=("$(digest sha256 "$tag $i $RANDOM")"); done
  next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "${hs[@]}"
  [ "$HTTP" = 200 ] || bail "authorize for $tag: $HTTP $BODY"
  # the authorisation's record is synced before its answer: from here on,
  # the trail grows only with the signatures
  SIZE0=$(stat -c %s "$(last_file)")
  for i in $(seq 1 "$n"); do
    printf '%s' "${hs[$((i - 1))]}" >"$T_TMP/$tag.$i.hash"
    curl -s --max-time 30 --cacert "$CACERT" -o "$T_TMP/$tag.$i.body" -w '%{http_code}' -X POST \
      -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
      --data-binary "{\"credentialID\":\"$CRED\",\"SAD\":\"$SAD\",\"hashes\":[\"${hs[$((i - 1))]}\"],\"signAlgo\":\"$ES256\"}" \
      "$URL/csc/v2/signatures/signHash" >"$T_TMP/$tag.$i.http" 2>/dev/null &
    CURLS+=($!)
  done
}
# check_invariant TAG N: released ⊆ trail ⊆ released ∪ unanswered
check_invariant() {
  local tag=$1 n=$2 i hex released=0 unanswered=0 lost=0 extra=0 inflight=0
  trail | grep ' event=sign actor=signer:frank outcome=ok ' >"$T_TMP/$tag.ok"
  for i in $(seq 1 "$n"); do
    hex=$(hx "$(cat "$T_TMP/$tag.$i.hash")")
    if [ "$(cat "$T_TMP/$tag.$i.http")" = 200 ] && grep -q '"signatures"' "$T_TMP/$tag.$i.body"; then
      released=$((released + 1))
      grep -q "hashes=$hex " "$T_TMP/$tag.ok" || lost=$((lost + 1))
    else
      unanswered=$((unanswered + 1))
      grep -q "hashes=$hex " "$T_TMP/$tag.ok" && inflight=$((inflight + 1))
    fi
  done
  # every sign ok record of frank's belongs to one of these requests (or to
  # the other batch)
  while IFS= read -r line; do
    hex=${line#* hashes=}; hex=${hex%% *}
    grep -qx "$hex" "$T_TMP/all-frank.hex" || extra=$((extra + 1))
  done <"$T_TMP/$tag.ok"
  echo "# $tag: $released released, $unanswered without a signature ($inflight of them recorded: signed, synced, never released)"
  is "($tag) every released signature is in the trail" "$lost" 0
  is "($tag) the trail holds no other signature of this signer" "$extra" 0
  INFLIGHT=$inflight RELEASED=$released
}

new_signer frank p256
: >"$T_TMP/all-frank.hex"
stop_sam
sed -i "/^\[sam\]/a audit_test_pause_ms = 3000" "$CONF"
start_sam || bail "inkan-sam did not restart"
before=$(trail | grep -c ' event=sign actor=signer:frank outcome=ok ')
concurrent_signs c 8
for i in $(seq 1 8); do hx "$(cat "$T_TMP/c.$i.hash")" >>"$T_TMP/all-frank.hex"; echo >>"$T_TMP/all-frank.hex"; done
# The first batch is synced and held for 3 s: kill the SAM inside that window.
for _ in $(seq 1 100); do
  [ "$(trail | grep -c ' event=sign actor=signer:frank outcome=ok ')" -gt "$before" ] && break
  sleep 0.03
done
stop_sam KILL
wait "${CURLS[@]}"
check_invariant c 8
ok "(c) records of the killed batch are on disk although no signature left" test "$INFLIGHT" -ge 1
is "(c) and none of them was released" "$RELEASED" 0

# A crash can also cut a write short: a partial last line.
printf 'seq=%s time=2030-01-01T00:00:00.000Z event=sign actor=signer:frank outc' "$RANDOM" >>"$(last_file)"
sed -i '/^audit_test_pause_ms/d' "$CONF"
start_sam || bail "inkan-sam did not restart after SIGKILL"
ok "(c) restart: the torn last line was cut and recorded" eventually sh -c \
  "cat '$AUDIT'/audit-*.log | grep -q ' event=audit.recover .*reason=torn_tail '"
ok "(c) the restart records the configuration change" eventually sh -c \
  "cat '$AUDIT'/audit-*.log | grep ' event=config ' | tail -1 | grep -q 'changed=audit_test_pause_ms'"

# ---- (d) SIGKILL in the middle of concurrent signing, no pause ------------------------------
concurrent_signs d 24
# Kill as soon as the first batch is on disk: the rest are in flight.
f=$(last_file)
for _ in $(seq 1 2000); do
  [ "$(stat -c %s "$f")" -gt "$SIZE0" ] && break
  sleep 0.002
done
stop_sam KILL
wait "${CURLS[@]}"
for i in $(seq 1 24); do hx "$(cat "$T_TMP/d.$i.hash")" >>"$T_TMP/all-frank.hex"; echo >>"$T_TMP/all-frank.hex"; done
check_invariant d 24
start_sam || bail "inkan-sam did not restart after SIGKILL"
if inkan_is_root; then
  # Several hundred KiB: `audit show` pages through it.
  auditctl show >"$T_TMP/export.log"
  is "audit show pages through the whole trail" "$(wc -l <"$T_TMP/export.log")" "$(trail | wc -l)"
  out=$(auditctl verify); rc=$?
  is "inkanctl audit verify after the crashes ($(echo "$out" | head -1))" "$rc" 0
fi
inkan_stop
out=$("$VERIFY" "$AUDIT" "$AUDIT/audit-key.pem"); rc=$?
is "after two SIGKILLs and a full disk, the trail verifies ($(echo "$out" | head -1))" "$rc" 0
n=$(trail | grep -c ' event=audit.checkpoint .*reason=start ')
ok "each start checkpoints what a crash left unsigned ($n)" test "$n" -ge 3
done_testing
