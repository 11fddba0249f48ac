# hardening-lib.sh — helpers for the issue-6 tests (t-hardening*, t-fault*,
# t-malformed*): stop, kill and restart one daemon of a running set (the
# restart stands in for systemd's Restart=), or start it with extra
# environment or under a wrapper that execs it (socket activation).
# Sourced after lib.sh.
# shellcheck shell=bash

D_TOOLS=$INKAN_BUILD/tests

# d_kill NAME [SIGNAL] — signal one daemon and wait until it is gone; its
# exit status (128+signal when killed) is left in D_RC.
d_kill() {
  local n=$1 sig=${2:-TERM} p i
  D_RC=
  p=$(inkan_pid "$n") || return 0
  [ -n "$p" ] || return 0
  kill -"$sig" "$p" 2>/dev/null
  for i in $(seq 1 200); do inkan_running "$p" || break; sleep 0.05; done
  wait "$p" 2>/dev/null
  D_RC=$?
  rm -f "$INKAN_STATE/run/$n.pid"
}

# d_started NAME PID — has this process logged its start (after the
# sandbox, just before serving)?
d_started() { grep -q "$1\[$2\]: info: started" "$INKAN_STATE/log/$1.log" 2>/dev/null; }

# d_wait NAME — until the daemon's current process serves (0), or died (1).
d_wait() {
  local n=$1 p i
  p=$(inkan_pid "$n")
  for i in $(seq 1 $((2 * $(inkan_wait_steps)))); do
    d_started "$n" "$p" && break
    inkan_running "$p" || return 1
    sleep 0.05
  done
  d_started "$n" "$p" || return 1
  if [ "$n" = inkan-sic ]; then
    for i in $(seq 1 "$(inkan_wait_steps)"); do
      curl -sk -o /dev/null -X POST -H 'Content-Type: application/json' -d '{}' \
        "$(inkan_url)/csc/v2/info" && return 0
      sleep 0.05
    done
    return 1
  fi
  return 0
}

# d_start NAME [VAR=VALUE...] [-- WRAPPER...] — start one daemon of the set
# with the set's config (or $D_CONFIG), extra environment and an optional
# wrapper that execs it; waits until it serves.
d_start() {
  local n=$1; shift
  local envs=() wrap=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  if [ "${1:-}" = -- ]; then shift; wrap=("$@"); fi
  case $n in
    inkan-scm) rm -f "$INKAN_STATE/scm/scm.sock" ;;
    inkan-sam) rm -f "$INKAN_STATE/sam/sam.sock" "$INKAN_STATE/sam/admin.sock" ;;
  esac
  local vg
  mapfile -t vg < <(inkan_wrap "$n")
  env "${envs[@]}" "${wrap[@]}" "${vg[@]}" "$(inkan_bin "$n")" --config "${D_CONFIG:-$INKAN_STATE/inkan.conf}" \
    >>"$INKAN_STATE/log/$n.log" 2>&1 &
  echo $! >"$INKAN_STATE/run/$n.pid"
  d_wait "$n"
}

# d_restart NAME — SIGKILL-free restart of one daemon.
d_restart() { d_kill "$1" TERM; d_start "$1"; }

# The uid:gid a daemon runs as in this set (empty when not root).
d_owner() {
  inkan_is_root || return 0
  if inkan_separate_uids; then
    case $1 in
      inkan-scm) echo "$INKAN_UID_SCM:$INKAN_GID" ;;
      inkan-sam) echo "$INKAN_UID_SAM:$INKAN_GID" ;;
      inkan-sic) echo "$INKAN_UID_SIC:$INKAN_GID" ;;
    esac
  else
    echo "$INKAN_UID_SCM:$INKAN_GID"
  fi
}

# db_counts — one line of row counts of every table of the SAM's database
# (sqlite3 CLI, read-only); empty when the CLI is missing.
db_counts() {
  command -v sqlite3 >/dev/null || return 0
  local db=$INKAN_STATE/sam/inkan.db t out=""
  for t in $(sqlite3 -readonly "$db" "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name" 2>/dev/null); do
    out="$out $t=$(sqlite3 -readonly "$db" "SELECT count(*) FROM \"$t\"" 2>/dev/null)"
  done
  echo "$out"
}
