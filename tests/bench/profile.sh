#!/usr/bin/env bash
# profile.sh — where the signing path spends its time (issue 8 item 3),
# measured on the benchmark's own cases (tests/bench/run.sh):
#   profile.sh perf [BENCH ARGS]
#       perf cpu-clock sampling of the three daemons during each signing
#       case; per case: time by process and library, and the top symbols.
#   profile.sh callgrind sic|sam|scm [BENCH ARGS]
#       one daemon under valgrind's callgrind (SCM, SAM: counting only inside
#       their sign handler; SIC: everything): exact instruction counts,
#       insensitive to other load on the machine. Run one signing case
#       (--keys/--batches/--conns) and divide by its requests. Needs a build
#       configured with -Dseccomp_mode=log whose sandbox honours
#       INKAN_PROFILE_NO_SECCOMP (valgrind has no seccomp(2)).
# Needs INKAN_SRC and INKAN_BUILD. Output: $INKAN_BENCH_PROFILE_OUT
# (default $INKAN_BUILD/bench-profile). Not part of the test suite.
# Example: profile.sh perf --keys p256 --batches 1,100 --conns 8 --no-p11
set -uo pipefail
INKAN_SRC=${INKAN_SRC:?}
INKAN_BUILD=${INKAN_BUILD:?}
OUT=${INKAN_BENCH_PROFILE_OUT:-$INKAN_BUILD/bench-profile}
mode=${1:?perf or callgrind}; shift
mkdir -p "$OUT"
chmod 0777 "$OUT"       # the daemons run as their own uids
OUT=$(cd "$OUT" && pwd)
HOOK=$OUT/hook.sh

case $mode in
perf)
  command -v perf >/dev/null || { echo "profile.sh: perf is not installed" >&2; exit 1; }
  cat >"$HOOK" <<HOOK
#!/usr/bin/env bash
# hook start|stop CASE (called by inkan-bench around each signing case)
f=\$(echo "\$2" | tr ' ' '_')
if [ "\$1" = start ]; then
  perf record -q -e cpu-clock -F 1999 -g -p "\$INKAN_BENCH_PIDS" -o "$OUT/\$f.perf.data" >/dev/null 2>&1 &
  echo \$! >"$OUT/perf.pid"
  sleep 0.3
else
  p=\$(cat "$OUT/perf.pid"); kill -INT "\$p"
  while kill -0 "\$p" 2>/dev/null; do sleep 0.05; done
fi
HOOK
  chmod +x "$HOOK"
  INKAN_BENCH_JSON=$OUT/bench.json bash "$INKAN_SRC/tests/bench/run.sh" --hook "$HOOK" "$@"
  rc=$?
  for d in "$OUT"/*.perf.data; do
    [ -f "$d" ] || continue
    r=${d%.perf.data}.txt
    {
      echo "== ${d##*/}: share of samples by process and library"
      perf report -i "$d" --stdio --no-children --sort comm,dso -g none 2>/dev/null | grep -v '^#' | grep '%' | head -n 25
      echo "== top symbols"
      perf report -i "$d" --stdio --no-children --sort comm,dso,sym -g none 2>/dev/null | grep -v '^#' | grep '%' | head -n 40
    } >"$r"
    echo "profile: $r"
  done
  exit $rc
  ;;
callgrind)
  who=${1:?sic, sam or scm}; shift
  command -v valgrind >/dev/null || { echo "profile.sh: valgrind is not installed" >&2; exit 1; }
  grep -q "INKAN_SECCOMP_LOG 1" "$INKAN_BUILD/inkan-config.h" ||
    { echo "profile.sh: $INKAN_BUILD is not a -Dseccomp_mode=log build" >&2; exit 1; }
  # What to count: the sign handler of the SCM or SAM (so that start-up,
  # login and the Argon2id of authorize stay out), the whole of inkan-sic
  # (it has no expensive start-up; divide by the requests of the run).
  case $who in
    scm) toggle=(--collect-atstart=no --toggle-collect=scm_answer_sign --toggle-collect=scm_answer_mac) ;;
    sam) toggle=(--collect-atstart=no --toggle-collect=sam_answer_sign) ;;
    sic) toggle=() ;;
    *) echo "profile.sh: sic, sam or scm" >&2; exit 2 ;;
  esac
  # A build directory whose inkan-$who runs under valgrind; everything
  # else links to the real one.
  FAKE=$OUT/build
  rm -rf "$FAKE"; mkdir -p "$FAKE"
  for d in "$INKAN_BUILD"/*; do ln -s "$d" "$FAKE/${d##*/}"; done
  rm "$FAKE/$who"; mkdir "$FAKE/$who"
  for f in "$INKAN_BUILD/$who"/*; do ln -s "$f" "$FAKE/$who/${f##*/}"; done
  rm "$FAKE/$who/inkan-$who"
  # valgrind has no seccomp(2): INKAN_PROFILE_NO_SECCOMP asks a log-mode
  # build to skip the filter (see docs/performance.md, "Profiling").
  cat >"$FAKE/$who/inkan-$who" <<WRAP
#!/bin/sh
# valgrind makes its output file now, as root; the daemon writes it at exit,
# after dropping privileges: make it writable first.
out=$OUT/callgrind.$who.\$\$
: >"\$out"; chmod 0666 "\$out"
INKAN_PROFILE_NO_SECCOMP=1 exec valgrind --tool=callgrind ${toggle[*]} \
  --callgrind-out-file="\$out" "$INKAN_BUILD/$who/inkan-$who" "\$@"
WRAP
  chmod 0755 "$FAKE/$who/inkan-$who"
  # the profiled daemon may write its output file (Landlock fs_paths)
  SETUP=$OUT/setup.sh
  cat >"$SETUP" <<SETUP
#!/usr/bin/env bash
f=\$INKAN_STATE/inkan.conf
awk -v s="[$who]" -v o="$OUT" '/^\[/ { in_s = (\$0 == s) } in_s && \$1 == "fs_paths" { print \$0 " " o; next } { print }' "\$f" >"\$f.new" && cat "\$f.new" >"\$f" && rm -f "\$f.new"
SETUP
  chmod +x "$SETUP"
  rm -f "$OUT"/callgrind."$who".*
  INKAN_BUILD=$FAKE INKAN_BENCH_SETUP_HOOK=$SETUP INKAN_BENCH_JSON=$OUT/bench.json \
    bash "$INKAN_SRC/tests/bench/run.sh" "$@"
  rc=$?
  for f in "$OUT"/callgrind."$who".*; do
    case $f in *.txt) continue ;; esac
    [ -s "$f" ] || continue
    callgrind_annotate --inclusive=yes "$f" 2>/dev/null | head -n 70 >"$f.inclusive.txt"
    callgrind_annotate --inclusive=no "$f" 2>/dev/null | head -n 70 >"$f.self.txt"
    echo "profile: $f.{inclusive,self}.txt"
  done
  exit $rc
  ;;
*) echo "usage: profile.sh perf|callgrind ..." >&2; exit 2 ;;
esac
