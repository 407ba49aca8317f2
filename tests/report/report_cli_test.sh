#!/usr/bin/env bash
# `oomharness report DIR` and `show DIR` on run folders: a run written by
# `evaluate --out` is written again (same summary), and every bad folder is exit 2
# with the file and what was expected. Usage: report_cli_test.sh OOMHARNESS SOURCE_DIR
set -uo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
check() {  # check NAME EXPECTED_STATUS EXPECTED_TEXT -- COMMAND...
  local name=$1 want=$2 text=$3
  shift 4
  local out status
  out=$("$@" 2>&1)
  status=$?
  if [[ $status -ne $want ]] || [[ $out != *"$text"* ]]; then
    echo "FAIL $name: exit $status (expected $want), output should contain '$text':"
    echo "$out"
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

run=$tmp/run
"$bin" evaluate "$src/scenarios/three-services.json" \
  "$src/tests/checks/fixtures/recorded-three-services-bookworm.jsonl" --out "$run" >/dev/null
cp "$run/summary.txt" "$tmp/summary.orig"
rm "$run/summary.txt" "$run/report.html" "$run/junit.xml"
check "report writes the files again" 0 "three-services" -- "$bin" report "$run"
for f in summary.txt report.html junit.xml; do
  [[ -s $run/$f ]] || { echo "FAIL report did not write $f"; failures=$((failures + 1)); }
done
cmp -s "$run/summary.txt" "$tmp/summary.orig" || { echo "FAIL summary.txt differs"; failures=$((failures + 1)); }
check "show prints the summary" 0 "three-services: PASS" -- "$bin" show "$run"
[[ $("$bin" show "$run") == "$(cat "$tmp/summary.orig")" ]] || { echo "FAIL show differs from summary.txt"; failures=$((failures + 1)); }

# A run whose units come from unit files: show reads it back with the plan's settings
# (the stored scenario's files are not read again), MemoryHigh= from a drop-in included.
"$bin" evaluate "$src/scenarios/oomd-memory-pressure.json" \
  "$src/tests/checks/fixtures/recorded-oomd-memory-pressure-bookworm.jsonl" --out "$tmp/fromfiles" >/dev/null
check "show a run from unit files" 0 "oomd-memory-pressure: " -- "$bin" show "$tmp/fromfiles"

check "no such folder" 2 "$tmp/absent: expected a run folder" -- "$bin" report "$tmp/absent"
mkdir "$tmp/empty"
check "no result.json" 2 "$tmp/empty/result.json: expected a run's result file" -- "$bin" report "$tmp/empty"
check "show: no result.json" 2 "$tmp/empty/result.json" -- "$bin" show "$tmp/empty"
mkdir "$tmp/garbage" && echo '{"format":' > "$tmp/garbage/result.json"
check "not JSON" 2 "$tmp/garbage/result.json: expected JSON" -- "$bin" report "$tmp/garbage"
mkdir "$tmp/other" && echo '{"format": "something/2"}' > "$tmp/other/result.json"
check "another format" 2 "expected \"oomharness-result/1\"" -- "$bin" report "$tmp/other"
# A suite folder: each cell's reports, then the suite's index.html, junit.xml, summary.
mkdir "$tmp/suite" && cp -r "$run" "$tmp/suite/three-services-bookworm"
echo '{"format": "oomharness-suite/1", "verdict": "pass", "exit_status": 0, "cells": [{"scenario":
  "three-services", "release": "bookworm", "folder": "three-services-bookworm", "status": "done",
  "verdict": "pass", "exit_status": 0}]}' > "$tmp/suite/index.json"
rm "$tmp/suite/three-services-bookworm/report.html"
check "a suite folder" 0 "suite of 1 cell(s), verdict pass" -- "$bin" report "$tmp/suite"
for f in index.html junit.xml summary.txt three-services-bookworm/report.html; do
  [[ -s $tmp/suite/$f ]] || { echo "FAIL suite report: no $f"; failures=$((failures + 1)); }
done
grep -q 'href="three-services-bookworm/report.html"' "$tmp/suite/index.html" ||
  { echo "FAIL index.html does not link the cell's report"; failures=$((failures + 1)); }
check "show a suite" 0 "three-services" -- "$bin" show "$tmp/suite"
check "show says the suite's verdict is the recorded one" 0 "suite: pass (exit 0, as recorded when it ran)" -- \
  "$bin" show "$tmp/suite"
# Recorded as failed, but its cells pass by this build's rules (as a note once made a suite flaky):
# both verdicts are shown, the recorded one first.
sed -i 's/"verdict": "pass", "exit_status": 0, "cells"/"verdict": "fail", "exit_status": 1, "cells"/' "$tmp/suite/index.json"
check "show a suite judged again" 0 "suite: pass (exit 0) when its cells are judged again by this build: every cell passed" -- \
  "$bin" show "$tmp/suite"
check "show keeps the recorded verdict" 0 "suite: fail (exit 1, as recorded when it ran)" -- "$bin" show "$tmp/suite"
mkdir "$tmp/badsuite" && echo '{"format": "oomharness-suite/9"}' > "$tmp/badsuite/index.json"
check "a suite folder of another format" 2 "oomharness-suite/1" -- "$bin" report "$tmp/badsuite"
check "a file, not a folder" 2 "not a folder" -- "$bin" show "$tmp/summary.orig"

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "all passed"
