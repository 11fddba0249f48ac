#!/usr/bin/env bash
# t-hardening-units.sh — issue 6: the systemd units as built (policy/systemd,
# paths substituted) parse cleanly and score at most 1.0 (inkan-scm,
# inkan-sam) and 2.0 (inkan-sic) in `systemd-analyze security --offline=yes`
# (systemd's own timesyncd scores 2.3). Skipped without systemd-analyze.
set -u
INKAN_BUILD=${INKAN_BUILD:?}
units=$INKAN_BUILD/policy/systemd
if ! command -v systemd-analyze >/dev/null; then
  echo "1..0 # SKIP systemd-analyze is not installed (Debian package: systemd)"; exit 0
fi
if ! systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
  echo "1..0 # SKIP this systemd-analyze has no --offline (needs systemd >= 250)"; exit 0
fi
n=0 fail=0
t() { n=$((n + 1)); if [ "$1" = ok ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=$((fail + 1)); fi; }

for u in inkan-scm.service inkan-sam.service inkan-sic.service; do
  out=$(cd "$units" && systemd-analyze security --offline=yes --no-pager "$u" 2>&1)
  level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  case $u in inkan-sic.service) max=2.0 ;; *) max=1.0 ;; esac
  if [ -n "$level" ] && awk -v l="$level" -v m="$max" 'BEGIN { exit !(l <= m) }'; then
    t ok "$u exposure $level <= $max"
  else
    t fail "$u exposure '${level:-?}' <= $max"; printf '%s\n' "$out" | sed 's/^/# /' | grep -v '^# ✓'
  fi
  bad=$(printf '%s\n' "$out" | grep -iE 'unknown (key|lvalue)|failed to parse|invalid' || true)
  if [ -z "$bad" ]; then t ok "$u: every directive is understood"; else t fail "$u: every directive is understood"; echo "# $bad"; fi
done
# The unit parser on all units (binaries and users need not exist here).
for u in "$units"/*.service "$units"/*.socket; do
  bad=$(systemd-analyze verify --man=no "$u" 2>&1 | grep -iE 'unknown|failed to parse|invalid|bad' | grep -v 'is not executable' || true)
  if [ -z "$bad" ]; then t ok "$(basename "$u") parses"; else t fail "$(basename "$u") parses"; echo "# $bad"; fi
done
echo "1..$n"
[ "$fail" -eq 0 ]
