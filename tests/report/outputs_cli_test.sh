#!/usr/bin/env bash
# What oomharness writes: results as private as their inputs, from the user's umask;
# `evaluate --out` never replaces a run unless told; nothing from a results folder
# reaches the terminal raw. Usage: outputs_cli_test.sh OOMHARNESS SOURCE_DIR
set -uo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
mode() { stat -c %a "$1"; }
expect_mode() {  # expect_mode NAME FILE MODE
  [[ $(mode "$2") == "$3" ]] && echo "ok   $1" || fail "$1: $2 is $(mode "$2"), expected $3"
}
# Inputs copied where everyone can read them: the checkout may sit in a private
# folder (/root), which would make every output private.
mkdir "$tmp/in"
cp "$src/scenarios/three-services.json" "$src/tests/checks/fixtures/recorded-three-services-bookworm.jsonl" "$tmp/in/"
chmod 644 "$tmp/in/"*
scenario=$tmp/in/three-services.json
recording=$tmp/in/recorded-three-services-bookworm.jsonl
evaluate() { "$bin" evaluate "$@" >"$tmp/out.txt" 2>&1; }

# The user's umask, not a fixed 0644.
(umask 027 && evaluate "$scenario" "$recording" --out "$tmp/run027")
expect_mode "umask 027: result.json" "$tmp/run027/result.json" 640
expect_mode "umask 027: report.html" "$tmp/run027/report.html" 640
expect_mode "umask 027: the folder" "$tmp/run027" 750
(umask 022 && evaluate "$scenario" "$recording" --out "$tmp/run022")
expect_mode "umask 022: summary.txt" "$tmp/run022/summary.txt" 644

# An input others cannot read: its own mode, or a folder above it they cannot search.
mkdir -p "$tmp/open" "$tmp/closed/inner"
cp "$scenario" "$tmp/open/private.json" && chmod 600 "$tmp/open/private.json"
(umask 022 && evaluate "$tmp/open/private.json" "$recording" --out "$tmp/from-private-file")
expect_mode "a 0600 scenario: result.json" "$tmp/from-private-file/result.json" 600
expect_mode "a 0600 scenario: the folder" "$tmp/from-private-file" 700
cp "$recording" "$tmp/closed/inner/t.jsonl" && chmod 644 "$tmp/closed/inner/t.jsonl" && chmod 700 "$tmp/closed"
(umask 022 && evaluate "$scenario" "$tmp/closed/inner/t.jsonl" --out "$tmp/from-closed-folder")
expect_mode "a timeline in a 0700 folder: junit.xml" "$tmp/from-closed-folder/junit.xml" 600
# A drop-in of mode 0600 beside a world-readable scenario (read confined, below it).
mkdir "$tmp/drop" && cp -r "$src/scenarios/many-units.json" "$src/scenarios/many-units" "$tmp/drop/"
cp "$src/tests/checks/fixtures/recorded-many-units-bookworm.jsonl" "$tmp/drop/"
chmod -R u=rwX,go=rX "$tmp/drop"
chmod 600 "$(find "$tmp/drop/many-units" -name '*.conf' | sort | head -1)"
(umask 022 && evaluate "$tmp/drop/many-units.json" "$tmp/drop/recorded-many-units-bookworm.jsonl" \
  --out "$tmp/from-private-drop-in")
expect_mode "a 0600 drop-in: result.json" "$tmp/from-private-drop-in/result.json" 600
# `report` reads the private result.json: what it writes again stays private.
rm "$tmp/from-private-file/summary.txt"
(umask 022 && "$bin" report "$tmp/from-private-file" >/dev/null 2>&1)
expect_mode "report of a private run: summary.txt" "$tmp/from-private-file/summary.txt" 600

# Never overwrite a run.
cp "$tmp/run022/result.json" "$tmp/result.before"
evaluate "$scenario" "$recording" --out "$tmp/run022"; status=$?
if [[ $status -eq 2 ]] && grep -q "run022: --out: expected a folder without a run in it; it has result.json" "$tmp/out.txt" &&
   cmp -s "$tmp/run022/result.json" "$tmp/result.before"; then echo "ok   --out over a run is refused"
else fail "--out over a run: exit $status, $(cat "$tmp/out.txt")"; fi
evaluate "$scenario" "$recording" --out "$tmp/run022" --replace; status=$?
[[ $status -eq 0 ]] && echo "ok   --replace writes over it" || fail "--replace: exit $status: $(cat "$tmp/out.txt")"

# diff's tolerance is a number.
for t in 'NaN%' 'inf%' '-1%' '1e9%'; do
  "$bin" diff "$tmp/run022" "$tmp/run027" --tolerance "$t" >"$tmp/out.txt" 2>&1; status=$?
  [[ $status -eq 2 ]] && echo "ok   --tolerance $t refused" || fail "--tolerance $t: exit $status"
done

# Terminal escapes from index.json never reach the terminal or summary.txt: names
# are escaped; a folder or verdict with one is refused, and the refusal is escaped.
esc=$'\e'
suite=$tmp/suite && mkdir "$suite" && cp -r "$tmp/run022" "$suite/cell"
index() {  # index SCENARIO FOLDER VERDICT
  printf '{"format": "oomharness-suite/1", "verdict": "pass", "exit_status": 0, "cells": [{"scenario": "%s", "release": "bookworm", "folder": "%s", "status": "done", "verdict": "%s", "exit_status": 0}]}' "$1" "$2" "$3" >"$suite/index.json"
}
index 'three\u001b[31m' cell pass
"$bin" show "$suite" >"$tmp/show.txt" 2>&1; status=$?
"$bin" report "$suite" >>"$tmp/show.txt" 2>&1
if [[ $status -eq 0 ]] && ! grep -q "$esc" "$tmp/show.txt" "$suite/summary.txt" && grep -q 'three\\x1b\[31m' "$tmp/show.txt"; then
  echo "ok   show and summary.txt escape a scenario name's ESC"
else fail "escaped name: exit $status: $(cat -v "$tmp/show.txt")"; fi
for bad in 'folder=cell\u001b[31m' 'verdict=pass\u001b[31m'; do
  if [[ $bad == folder=* ]]; then index three "${bad#folder=}" pass; else index three cell "${bad#verdict=}"; fi
  "$bin" show "$suite" >"$tmp/show.txt" 2>&1; status=$?
  if [[ $status -eq 2 ]] && ! grep -q "$esc" "$tmp/show.txt"; then echo "ok   a $bad is refused, escaped"
  else fail "$bad: exit $status: $(cat -v "$tmp/show.txt")"; fi
done
# A cell folder that is a link out of the suite folder is refused before anything is
# written through it.
mkdir "$tmp/elsewhere" && ln -s "$tmp/elsewhere" "$suite/out" && index three out pass
"$bin" report "$suite" >"$tmp/show.txt" 2>&1; status=$?
if [[ $status -eq 2 ]] && grep -q 'cells\[0\].folder: .*"out" is a link that leads out of it' "$tmp/show.txt" &&
   [[ -z $(ls -A "$tmp/elsewhere") ]]; then echo "ok   a cell folder linked out of the suite is refused"
else fail "linked cell: exit $status: $(cat "$tmp/show.txt"); elsewhere has: $(ls -A "$tmp/elsewhere")"; fi

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "all passed"
