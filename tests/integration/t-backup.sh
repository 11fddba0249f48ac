#!/usr/bin/env bash
# t-backup.sh — issue 7 item 5: key backup and recovery. With key_backup on
# in [scm] and [sam], signers with P-256 and RSA-2048 keys sign (OpenSSL
# verifies); a backup with a wrong SO PIN is refused and signing goes on;
# the security officer makes a backup (archive + two shares, 0600); a key is
# destroyed after the backup; into a fresh state directory and token, a
# restore with one share alone, the same share twice and a tampered archive
# are refused; with both shares the keys come back and the signers' new
# signatures verify under the public keys of the SAME certificates taken
# before the backup; the key destroyed after the backup is not revived (its
# credential is refused, the token does not have it) and the new trail
# records backup.restore; the restored service can be backed up again.
. "$INKAN_SRC/tests/integration/lib.sh"
inkan_separate_uids || skip_all "needs root (separate daemon uids)"

# A state with key backup enabled in both [scm] and [sam].
setup_backup_state() {
  inkan_setup "$1" "$(free_port)" || bail "setup $1 failed"
  sed -i -e "/^\[scm\]/a key_backup = true" -e "/^\[sam\]/a key_backup = true" \
    "$INKAN_STATE/inkan.conf"
}
start_service() {
  inkan_start || bail "daemons did not start"
  URL=$(inkan_url)
  CACERT=$(inkan_cacert)
  export CURL_CA_BUNDLE=$CACERT INKAN_CACERT=$CACERT
}

declare -A S_PW S_PIN S_SECRET S_CRED S_STEP S_TOKEN S_ALGO S_MODE
add_signer() {   # NAME KEYTYPE SIGNALGO MODE
  new_signer "$1" "$2"
  S_PW[$1]=$PW S_PIN[$1]=$PIN S_SECRET[$1]=$SECRET S_CRED[$1]=$CRED
  S_STEP[$1]=$OTP_STEP S_TOKEN[$1]=$TOKEN S_ALGO[$1]=$3 S_MODE[$1]=$4
  cert_pubkey "$CRED" "$TOKEN" "$T_TMP/$1.pub"
  csc v2 credentials/info "{\"credentialID\":\"$CRED\",\"certificates\":\"single\"}" "$TOKEN"
  jget '.cert.certificates[0]' >"$T_TMP/$1.cert"
}
use() {
  PW=${S_PW[$1]} PIN=${S_PIN[$1]} SECRET=${S_SECRET[$1]} CRED=${S_CRED[$1]}
  OTP_STEP=${S_STEP[$1]} TOKEN=${S_TOKEN[$1]}
}
# sign_verify NAME: authorize + signHash with both factors, then OpenSSL
# verifies the signature with the public key of the certificate taken at
# enrolment (before any backup).
sign_verify() {
  local d
  use "$1"
  d=$(digest sha256 "backup test $1 $RANDOM$RANDOM")
  next_otp
  S_STEP[$1]=$OTP_STEP
  authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$d"
  [ "$HTTP" = 200 ] || { echo "# $1 authorize: $HTTP $BODY"; return 1; }
  sign_hash "$CRED" "$TOKEN" "$SAD" "${S_ALGO[$1]}" "" "$d"
  [ "$HTTP" = 200 ] || { echo "# $1 signHash: $HTTP $BODY"; return 1; }
  verify_sig "$T_TMP/$1.pub" "$d" "$(jget '.signatures[0]')" "${S_MODE[$1]}" sha256
}
fails() { ! "$@"; }
quiet() { "$@" >/dev/null 2>&1; }
relogin() { S_TOKEN[$1]=$(login "$1" "${S_PW[$1]}"); [ -n "${S_TOKEN[$1]}" ]; }

ECDSA_SHA256=1.2.840.10045.4.3.2
RSA_SHA256=1.2.840.113549.1.1.11

# ---- the service in use ----------------------------------------------------
setup_backup_state "$T_TMP/state"
start_service
OLD=$INKAN_STATE
add_signer alice p256 "$ECDSA_SHA256" ecdsa
add_signer bob rsa2048 "$RSA_SHA256" pkcs1
add_signer carol p256 "$ECDSA_SHA256" ecdsa
ok "alice (P-256) signs; OpenSSL verifies" sign_verify alice
ok "bob (RSA-2048) signs; OpenSSL verifies" sign_verify bob
ok "carol (P-256) signs; OpenSSL verifies" sign_verify carol

# A wrong SO PIN: refused with one line; the service keeps signing.
printf 'not-the-so-pin' >"$T_TMP/wrong.pin"
out=$(inkanctl backup create --so-pin-file "$T_TMP/wrong.pin" --out "$T_TMP/x.bak" \
  --share1-out "$T_TMP/x.s1" --share2-out "$T_TMP/x.s2" 2>&1); rc=$?
ok "backup with a wrong SO PIN is refused" test "$rc" -ne 0
ok "... saying the SO PIN was refused" grep -q "SO PIN was refused" <<<"$out"
ok "... and writes nothing" test ! -e "$T_TMP/x.bak" -a ! -e "$T_TMP/x.s1"
ok "alice still signs after the refused SO login; OpenSSL verifies" sign_verify alice

# The backup: the archive and two shares for two operators.
out=$(inkanctl backup create --so-pin-file "$OLD/scm/so.pin" --out "$T_TMP/inkan.bak" \
  --share1-out "$T_TMP/share1" --share2-out "$T_TMP/share2" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
is "backup create succeeds" "$rc" 0
ok "... with 3 signer keys" grep -q "3 signer key(s)" <<<"$out"
is "archive is 0600" "$(stat -c %a "$T_TMP/inkan.bak")" 600
is "share 1 is 0600" "$(stat -c %a "$T_TMP/share1")" 600
is "share 2 is 0600" "$(stat -c %a "$T_TMP/share2")" 600
ok "the shares differ" sh -c "! cmp -s '$T_TMP/share1' '$T_TMP/share2'"
ok "no private key material in clear in the archive" \
  sh -c "! grep -aq 'PRIVATE KEY' '$T_TMP/inkan.bak' && ! grep -aq 'SQLite format' '$T_TMP/inkan.bak'"
ok "backup.create is in the audit trail" sh -c "cat '$OLD'/sam/audit/audit-*.log | grep -q 'event=backup.create actor=operator:so:'"
ok "alice still signs after the backup; OpenSSL verifies" sign_verify alice

# The archive and its shares are one set: when a share cannot be written,
# nothing of the set is left behind.
out=$(inkanctl backup create --so-pin-file "$OLD/scm/so.pin" --out "$T_TMP/part.bak" \
  --share1-out "$T_TMP/part.s1" --share2-out "$T_TMP/no-such-dir/part.s2" 2>&1); rc=$?
ok "backup create whose share 2 cannot be written fails" test "$rc" -ne 0
ok "... saying nothing was kept" grep -q "nothing was kept" <<<"$out"
ok "... and leaves neither the archive nor share 1" test ! -e "$T_TMP/part.bak" -a ! -e "$T_TMP/part.s1"

# ---- carol's key is destroyed after the backup -----------------------------
# The operator revokes carol's credential: inkan-sam marks it destroyed,
# inkan-scm destroys the key, and the trail records key.destroy cred=ID.
destroy_after_backup() {
  inkanctl credential revoke --credential "$1" --reason backup-test | grep -q revoked
}
CAROL=${S_CRED[carol]}
ok "carol's key is destroyed after the backup (key.destroy cred=$CAROL)" destroy_after_backup "$CAROL"
inkan_stop

# ---- restore into a fresh state directory and token -------------------------
setup_backup_state "$T_TMP/new"
NEW=$INKAN_STATE
restore() { inkanctl backup restore --archive "$T_TMP/inkan.bak" "$@"; }

out=$(restore --share "$T_TMP/share1" --audit-dir "$OLD/sam/audit" 2>&1); rc=$?
ok "restore with one share alone is refused" test "$rc" -ne 0
is "... with one line" "$(printf '%s\n' "$out" | wc -l)" 1
ok "... naming dual control" grep -q "both shares are needed" <<<"$out"
out=$(restore --share "$T_TMP/share1" --share "$T_TMP/share1" --audit-dir "$OLD/sam/audit" 2>&1); rc=$?
ok "restore with share 1 twice is refused" test "$rc" -ne 0
ok "... naming dual control" grep -q "share 1 and share 2 are needed" <<<"$out"
cp "$T_TMP/inkan.bak" "$T_TMP/tampered.bak"
printf '\x01' | dd of="$T_TMP/tampered.bak" bs=1 seek=200 conv=notrunc status=none
out=$(inkanctl backup restore --archive "$T_TMP/tampered.bak" --share "$T_TMP/share1" \
  --share "$T_TMP/share2" --audit-dir "$OLD/sam/audit" 2>&1); rc=$?
ok "a tampered archive is refused" test "$rc" -ne 0
ok "... as not opened by the shares" grep -q "the shares do not open" <<<"$out"
ok "... before anything reached the fresh token" fails grep -q "restored" <<<"$out"

out=$(restore --share "$T_TMP/share2" --share "$T_TMP/share1" --audit-dir "$OLD/sam/audit" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
is "restore with both shares succeeds" "$rc" 0
ok "... leaves carol's destroyed key out" grep -q "left out: key $CAROL" <<<"$out"
ok "... brings back alice's key" grep -q "restored key ${S_CRED[alice]}" <<<"$out"
ok "... brings back bob's key" grep -q "restored key ${S_CRED[bob]}" <<<"$out"
ok "... and the row-MAC key" grep -q "restored row-MAC key" <<<"$out"

start_service
ok "alice logs in to the restored service" relogin alice
ok "bob logs in to the restored service" relogin bob
ok "carol logs in to the restored service" relogin carol
ok "alice signs after the restore; OpenSSL verifies with the SAME certificate's key" sign_verify alice
ok "bob (RSA-2048) signs after the restore; OpenSSL verifies with the SAME certificate's key" sign_verify bob
use alice
csc v2 credentials/info "{\"credentialID\":\"$CRED\",\"certificates\":\"single\"}" "$TOKEN"
is "alice's certificate is the one of before the backup" "$(jget '.cert.certificates[0]')" "$(cat "$T_TMP/alice.cert")"

# The destroyed key is not revived.
ok "carol cannot sign after the restore" fails sign_verify carol
use carol
next_otp; S_STEP[carol]=$OTP_STEP
authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$(digest sha256 carol-after)"
is "carol's credentials/authorize is refused" "$HTTP" 400
echo "# carol: $BODY"
ok "... with a clear error (credential revoked)" grep -qi "revoked" <<<"$BODY"
out=$(setpriv --reuid="$INKAN_UID_SAM" --regid="$INKAN_GID" --clear-groups \
  "$INKAN_BUILD/tests/scm-destroy" "$NEW/scm/scm.sock" "$CAROL")
is "the fresh token does not hold carol's key (NOT_FOUND)" "$out" "status=19"
ok "the new trail records backup.restore with the archived chain head" \
  sh -c "cat '$NEW'/sam/audit/audit-*.log | grep 'event=backup.restore' | grep -q 'archive_audit_head='"
ok "... and carol's key as destroyed after the backup" \
  sh -c "cat '$NEW'/sam/audit/audit-*.log | grep 'event=key.destroy' | grep 'reason=destroyed_after_backup' | grep -q 'cred=$CAROL'"
ok "the restored service's trail verifies (inkan-audit-verify)" \
  quiet "$INKAN_BUILD/tools/inkan-audit-verify" "$NEW/sam/audit" "$NEW/sam/audit/audit-key.pem"

# Restored keys stay wrappable: the restored service can be backed up.
out=$(inkanctl backup create --so-pin-file "$NEW/scm/so.pin" --out "$T_TMP/again.bak" \
  --share1-out "$T_TMP/again1" --share2-out "$T_TMP/again2" 2>&1); rc=$?
is "the restored service can be backed up again" "$rc" 0
ok "... with the 2 keys it holds" grep -q "2 signer key(s)" <<<"$out"
ok "alice still signs; OpenSSL verifies" sign_verify alice
done_testing
