# t-scal2-lib.sh — helpers of the issue 3 tests (t-scal2-*.sh), sourced after
# lib.sh: start with [sam] settings of the test's own, restart or kill one
# daemon, read and edit the SAM's database as the SAM's own uid, issue
# certificates with chosen validity dates. Not a test by itself.
# shellcheck shell=bash

# t2_start [KEY=VALUE...] — like t_start, with these [sam] settings.
t2_start() {
  local kv
  inkan_setup "$T_TMP/state" "$(free_port)" || bail "setup failed"
  for kv in "$@"; do sam_conf "${kv%%=*}" "${kv#*=}"; done
  inkan_start || bail "daemons did not start"
  URL=$(inkan_url)
  CACERT=$(inkan_cacert)
  export CURL_CA_BUNDLE=$CACERT INKAN_CACERT=$CACERT
  SAMLOG=$INKAN_STATE/log/inkan-sam.log
  DB=$INKAN_STATE/sam/inkan.db
}

# sam_conf KEY VALUE — set (or, with VALUE "-", remove) a [sam] key.
sam_conf() {
  sed -i "/^$1 *=/d" "$INKAN_STATE/inkan.conf"
  [ "$2" = - ] || sed -i "/^\[sam\]/a $1 = $2" "$INKAN_STATE/inkan.conf"
}

# stop_one NAME [SIGNAL] — stop one daemon (SIGKILL: as a crash would).
stop_one() {
  local p i
  p=$(inkan_pid "$1") || return 0
  kill "-${2:-TERM}" "$p" 2>/dev/null
  for i in $(seq 1 100); do inkan_running "$p" || break; sleep 0.05; done
  wait "$p" 2>/dev/null
  rm -f "$INKAN_STATE/run/$1.pid"
}

# start_one NAME — start one daemon again and wait for its socket.
start_one() {
  case $1 in
    inkan-scm) rm -f "$INKAN_STATE/scm/scm.sock"
               _inkan_start_one inkan-scm && _inkan_wait_socket "$INKAN_STATE/scm/scm.sock" inkan-scm ;;
    inkan-sam) rm -f "$INKAN_STATE/sam/"*.sock
               _inkan_start_one inkan-sam && _inkan_wait_socket "$INKAN_STATE/sam/admin.sock" inkan-sam ;;
  esac
}
restart_sam() { stop_one inkan-sam && start_one inkan-sam; }

# db SQL — sqlite3 on the SAM's database as the database's owner (root would
# leave -wal/-shm files the SAM cannot open).
db() {
  local own
  own=$(stat -c %u:%g "$DB")
  if [ "$(id -u)" -eq 0 ] && [ "${own%%:*}" != 0 ]; then
    setpriv --reuid="${own%%:*}" --regid="${own##*:}" --clear-groups sqlite3 -batch "$DB" "$1"
  else
    sqlite3 -batch "$DB" "$1"
  fi
}

# issue_cert CSR START END OUT — the test CA signs with these validity dates
# (YYYYMMDDHHMMSSZ), through `openssl ca` (Debian 12's openssl 3.0 x509 -req
# has no -not_before/-not_after).
issue_cert() {
  local d=$INKAN_STATE/ca
  if [ ! -f "$d/ca.cnf" ]; then
    : >"$d/index.txt"
    printf '1000\n' >"$d/serial"
    cat >"$d/ca.cnf" <<EOF
[ ca ]
default_ca = test
[ test ]
dir = $d
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
x509_extensions = ee
[ any ]
commonName = supplied
[ ee ]
keyUsage = critical,digitalSignature,nonRepudiation
basicConstraints = CA:FALSE
EOF
  fi
  openssl ca -batch -config "$d/ca.cnf" -in "$1" -startdate "$2" -enddate "$3" \
    -out "$4" -notext >/dev/null 2>&1
}

# cred_with_dates USER START END -> prints the credential id; its certificate
# is valid from START to END (UTC, YYYYMMDDHHMMSSZ).
cred_with_dates() {
  local user=$1 id csr
  read -r id csr < <(inkan_enrol "$user" p256) && [ -n "$csr" ] || return 1
  issue_cert "$csr" "$2" "$3" "${csr%.csr}.pem" || return 1
  inkanctl credential import-cert --credential "$id" --cert "${csr%.csr}.pem" \
    --chain "$INKAN_STATE/ca/ca.pem" >/dev/null || return 1
  echo "$id"
}

# utc OFFSET_SECONDS -> YYYYMMDDHHMMSSZ
utc() { date -u -d "@$(( $(date +%s) + $1 ))" +%Y%m%d%H%M%SZ; }

# count_log PATTERN -> lines of the SAM's log matching it
count_log() { grep -c -- "$1" "$SAMLOG" 2>/dev/null || true; }
