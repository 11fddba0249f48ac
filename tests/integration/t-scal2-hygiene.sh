#!/usr/bin/env bash
# t-scal2-hygiene.sh — issue 3 item 9 (R31): after a full signing session
# (login, authorize, sign, extendTransaction, revoke) neither the database
# (with its -wal), nor any log (daemon logs, the audit trail), nor the token
# directory holds the password, PIN, OTP, access token or SAD — in clear, in
# hex, in base64 / base64url, or (token, SAD) as their raw 32 bytes. The
# daemons cannot dump core (RLIMIT_CORE 0, not dumpable).
. "$INKAN_SRC/tests/integration/lib.sh"
. "$INKAN_SRC/tests/integration/t-scal2-lib.sh"
t2_start
ECDSA=1.2.840.10045.4.3.2

PW="Hygiene-Passw0rd-$RANDOM$RANDOM"
PIN=$(printf '%05d%05d' $RANDOM $RANDOM)
SECRET=$(inkan_add_signer hygiene "$PW" "$PIN") || bail "user add"
CRED=$(inkan_add_credential hygiene p256) || bail "credential"
TOKEN=$(login hygiene "$PW")
[ -n "$TOKEN" ] || bail "login"
OTP_STEP=-1
SECRETS=("$PW" "$PIN" "$TOKEN")
OTPS=()

h1=$(digest sha256 "hygiene one") h2=$(digest sha256 "hygiene two") h3=$(digest sha256 "hygiene three")
next_otp; OTPS+=("$OTP"); authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h1"
is "session: authorize" "$HTTP" 200
SECRETS+=("$SAD")
sign_hash "$CRED" "$TOKEN" "$SAD" $ECDSA "" "$h1"
is "session: sign" "$HTTP" 200
next_otp; OTPS+=("$OTP"); authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$h2" "$h3"
SECRETS+=("$SAD")
sign_hash "$CRED" "$TOKEN" "$SAD" $ECDSA "" "$h2"
csc v2 credentials/extendTransaction "{\"credentialID\":\"$CRED\",\"SAD\":\"$SAD\"}" "$TOKEN"
is "session: extendTransaction" "$HTTP" 200
SAD3=$(jget .SAD)
SECRETS+=("$SAD3")
sign_hash "$CRED" "$TOKEN" "$SAD3" $ECDSA "" "$h3"
is "session: sign with the extended SAD" "$HTTP" 200
# a wrong PIN and a wrong OTP are secrets too (someone's typo of the real one)
wrong_pin="${PIN}9" wrong_otp=$(printf '%06d' $(( (10#$OTP + 1) % 1000000 )))
next_otp; OTPS+=("$OTP" "$wrong_otp"); SECRETS+=("$wrong_pin")
authorize "$CRED" "$TOKEN" "$wrong_otp" "$wrong_pin" "$h1"
is "session: a failed authorize" "$HTTP" 400
csc v2 auth/revoke '{}' "$TOKEN"
ok "session: revoke ($HTTP)" test "$HTTP" = 204 -o "$HTTP" = 200

# --- no core dumps (while they run)
for n in inkan-scm inkan-sam inkan-sic; do
  p=$(inkan_pid $n)
  is "$n: RLIMIT_CORE is 0" "$(awk '/^Max core file size/ {print $5 "/" $6}' "/proc/$p/limits")" "0/0"
  if inkan_separate_uids; then
    # not dumpable: the kernel gives its /proc files to root
    is "$n: not dumpable (/proc/$p/environ belongs to root)" "$(stat -c %u "/proc/$p/environ")" 0
  fi
done

# Snapshot the live -wal, then stop (the checkpoint folds it into the file).
for f in "$DB"-wal "$DB"-shm; do [ -f "$f" ] && cp "$f" "$T_TMP/live-$(basename "$f")"; done
inkan_stop

# Every file under the state directory (database, -wal, logs, audit trail,
# token directory, configuration) and the live -wal snapshot.
search() { python3 - "$INKAN_STATE" "$T_TMP" "${SECRETS[@]}" -- "${OTPS[@]}" <<'EOF'
import base64, binascii, os, re, sys
state, tmp = sys.argv[1], sys.argv[2]
rest = sys.argv[3:]
sep = rest.index('--')
secrets, otps = rest[:sep], rest[sep + 1:]
def forms(s):
    b = s.encode()
    out = {b, binascii.hexlify(b), binascii.hexlify(b).upper(),
           base64.b64encode(b).rstrip(b'='), base64.urlsafe_b64encode(b).rstrip(b'=')}
    if len(s) == 43:                    # token / SAD: base64url of 32 bytes
        raw = base64.urlsafe_b64decode(s + '=')
        out |= {raw, binascii.hexlify(raw), binascii.hexlify(raw).upper(),
                base64.b64encode(raw).rstrip(b'=')}
    return out
files = []
for root, _, names in os.walk(state):
    files += [os.path.join(root, n) for n in names]
files += [os.path.join(tmp, n) for n in os.listdir(tmp) if n.startswith('live-')]
n = 0
for f in files:
    try:
        data = open(f, 'rb').read()
    except OSError:
        continue
    for i, s in enumerate(secrets):
        for form in forms(s):
            if form in data:
                print(f"secret #{i} ({len(s)} chars) as {form[:12]!r}... in {f}")
                n += 1
    for o in otps:
        # six digits on their own (not inside a longer number)
        for form in (o.encode(), binascii.hexlify(o.encode())):
            if re.search(rb'(?<![0-9])' + re.escape(form) + rb'(?![0-9])', data):
                print(f"OTP {o} in {f}")
                n += 1
print(f"hits={n} files={len(files)}")
EOF
}
hits=$(search)
printf '%s\n' "$hits" | sed 's/^/# /'
last=${hits##*$'\n'}
is "R31: no password, PIN, OTP, access token or SAD in the database, logs, audit trail or token directory" \
  "${last%% *}" hits=0
ok "the search looked at the database, its -wal, the logs and the token files" \
  test "${last##*files=}" -ge 8
# Control: the search does find a SAD planted in a log as base64 of its bytes.
printf '%s' "$SAD3" | tr -- '-_' '+/' | base64 -d 2>/dev/null | base64 >"$INKAN_STATE/log/planted.log"
hits=$(search); last=${hits##*$'\n'}
ok "control: a planted SAD (base64 of its raw bytes) is found" test "${last%% *}" != hits=0
rm -f "$INKAN_STATE/log/planted.log"
# The TOTP secret is in the database (it must be), never in a log.
ok "the TOTP secret is in no log" sh -c "! grep -rqF -- '$SECRET' '$INKAN_STATE/log'"

done_testing
