# count-results.jq — from meson's testlog.json (slurped), count individual
# checks: TAP "ok"/"not ok" lines and cmocka "[ OK ]"/"[ FAILED ]" lines.
# A suite that failed, crashed or timed out counts at least one failure, and
# a passing suite with no countable lines counts as one pass.
def lines: (.stdout // "") | split("\n");
map(
  . as $t
  | [lines[]] as $l
  | ([$l[] | select(test("^ok ") and (test("# *SKIP"; "i") | not))] | length) as $tap_ok
  | ([$l[] | select(test("^ok ") and test("# *SKIP"; "i"))] | length) as $tap_skip
  | ([$l[] | select(test("^not ok "))] | length) as $tap_nok
  | ([$l[] | select(test("^\\[       OK \\] "))] | length) as $cm_ok
  | ([$l[] | select(test("^\\[  FAILED  \\] ") and (test("test\\(s\\)") | not))] | length) as $cm_nok
  | ($tap_ok + $cm_ok) as $ok
  | ($tap_nok + $cm_nok) as $nok
  | if ($t.result == "SKIP") then {p: 0, f: 0, s: ([1, $tap_skip] | max)}
    elif ($t.result == "OK" or $t.result == "EXPECTEDFAIL") then
      {p: (if ($ok + $nok) == 0 then 1 else $ok end), f: $nok, s: $tap_skip}
    else {p: $ok, f: ([1, $nok] | max), s: $tap_skip}
    end
)
| {p: (map(.p) | add // 0), f: (map(.f) | add // 0), s: (map(.s) | add // 0)}
| "\(.p) passed, \(.f) failed, \(.s) skipped"
