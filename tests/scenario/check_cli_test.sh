#!/bin/sh
# `oomharness check` from the command line, on inputs that used to crash it or
# stop it early. POSIX sh; run by CTest (tests/scenario/CMakeLists.txt).
#   check_cli_test.sh many    OOMHARNESS SOURCE_DIR WORK_DIR
#       check good.json bad.json good.json: all three reported, in order, exit 2
#   check_cli_test.sh hostile OOMHARNESS SOURCE_DIR WORK_DIR
#       80,000 levels of nesting, a FIFO, a folder, /dev/null, a description with an
#       escape sequence: each reported with its error, no raw ESC on stdout, exit 2
#   check_cli_test.sh evaluate OOMHARNESS SOURCE_DIR WORK_DIR
#       evaluate with a timeline that is a folder, a FIFO, /dev/zero or one byte over
#       32 MiB: exit 2 at once, naming the file and what was expected
#   check_cli_test.sh rejudge OOMHARNESS SOURCE_DIR WORK_DIR
#       a real recording judged against its scenario with another guest memory and another
#       OOMScoreAdjust: exit 2 naming both files and each field; --rejudge judges it and the
#       verdict says so; the unchanged scenario still judges it (exit 0)
#   check_cli_test.sh packaged OOMHARNESS SOURCE_DIR WORK_DIR
#       a service whose unit file is a package's, in an empty image cache: check and plan
#       did not read it, say how to build the image and exit 3; a package not in
#       guest.packages is the scenario's mistake, exit 2 (for run too, before any image is built)
set -u
mode=$1 bin=$2 src=$3 work=$4
good=$src/scenarios/three-services.json
fail() { printf 'FAIL: %s\n--- output (exit %s) ---\n%s\n' "$1" "$rc" "$out"; exit 1; }
has() { printf '%s\n' "$out" | grep -F -q -- "$1" || fail "no line with: $1"; }

rm -rf "$work" && mkdir -p "$work" || exit 1
case $mode in
many)
  bad=$src/tests/scenario/bad/number-overflow.json
  out=$("$bin" check "$good" "$bad" "$good" 2>&1); rc=$?
  [ "$rc" -eq 2 ] || fail "expected exit 2"
  [ "$(printf '%s\n' "$out" | grep -c -F "$good: OK (3 services)")" -eq 2 ] ||
    fail "expected $good reported OK twice"
  has "$bad: 1 error"
  has "error: $bad: \$.guest.cpus: expected a finite number; got 1e400"
  # In the order given: good, bad, good.
  order=$(printf '%s\n' "$out" | grep -E '^[^ ].*: (OK|[0-9]+ errors?)' | sed 's/:.*//' | tr '\n' ' ')
  [ "$order" = "$good $bad $good " ] || fail "files reported out of order: $order"
  ;;
hostile)
  awk 'BEGIN { for (i = 0; i < 80000; i++) printf "{\"a\":"; printf "1";
               for (i = 0; i < 80000; i++) printf "}" }' >"$work/deep.json" || exit 1
  mkfifo "$work/fifo.json" && mkdir "$work/folder.json" || exit 1
  esc=$src/tests/scenario/bad/description-escape-sequence.json
  out=$("$bin" check "$work/deep.json" "$work/fifo.json" "$work/folder.json" /dev/null "$esc" "$good" 2>&1)
  rc=$?
  [ "$rc" -eq 2 ] || fail "expected exit 2 (139 is the old stack overflow)"
  has "error: $work/deep.json: \$.a.a.a"
  has "nested deeper than 64 levels"
  has "error: $work/fifo.json: expected a regular file; got a FIFO"
  # A folder stands for its *.json files (as for run); this one has none.
  has "error: $work/folder.json: expected a folder with scenario files (*.json directly in it); found none"
  has "error: /dev/null: expected a regular file; got a character device"
  has "error: $esc: \$.description: control character U+001B"
  has "$good: OK (3 services)"
  if printf '%s' "$out" | grep -q "$(printf '\033')"; then fail "a raw ESC reached the output"; fi
  ;;
evaluate)
  mkfifo "$work/fifo.jsonl" && mkdir "$work/folder.jsonl" || exit 1
  truncate -s 33554433 "$work/big.jsonl" || exit 1
  for timeline in "$work/folder.jsonl" "$work/fifo.jsonl" /dev/zero "$work/big.jsonl"; do
    out=$("$bin" evaluate "$good" "$timeline" 2>&1); rc=$?
    [ "$rc" -eq 2 ] || fail "expected exit 2 for $timeline"
  done
  out=$("$bin" evaluate "$good" "$work/folder.jsonl" 2>&1); rc=$?
  has "error: $work/folder.jsonl: expected a regular file; got a directory"
  out=$("$bin" evaluate "$good" "$work/fifo.jsonl" 2>&1); rc=$?
  has "error: $work/fifo.jsonl: expected a regular file; got a FIFO"
  out=$("$bin" evaluate "$good" /dev/zero 2>&1); rc=$?
  has "error: /dev/zero: expected a regular file; got a character device"
  out=$("$bin" evaluate "$good" "$work/big.jsonl" 2>&1); rc=$?
  has "error: $work/big.jsonl: expected a timeline file (observer JSON lines) of at most 32MiB (33554432 bytes); got 33554433 bytes"
  ;;
rejudge)
  rec=$src/tests/checks/fixtures/recorded-three-services-bookworm.jsonl
  changed=$work/changed.json
  sed 's/"OOMScoreAdjust": 600/"OOMScoreAdjust": 500/; s/"memory": "1G"/"memory": "2G"/' "$good" >"$changed" || exit 1
  out=$("$bin" evaluate "$changed" "$rec" --out "$work/refused" 2>&1); rc=$?
  [ "$rc" -eq 2 ] || fail "expected exit 2 for another scenario's timeline"
  has "error: $rec was not recorded with the plan $changed gives: 2 difference(s), found by its guest, unit_setup and oomd records (it has no plan record)"
  has "  guest.memory: the timeline says MemTotal 972MiB, the scenario says 2G"
  has "  services.report-worker.unit.OOMScoreAdjust: the timeline says 600 (its systemd-run line), the scenario says 500"
  has "judge it against this scenario anyway with --rejudge"
  [ ! -e "$work/refused" ] || fail "a refused timeline wrote reports"
  out=$("$bin" evaluate "$changed" "$rec" --rejudge --out "$work/rejudged" 2>&1); rc=$?
  [ "$rc" -eq 3 ] || fail "expected exit 3 (the settings differ: setup inconclusive) with --rejudge"
  has "; re-judged against a changed scenario (guest.memory, services.report-worker.unit.OOMScoreAdjust))"
  grep -F -q '"note.rejudged"' "$work/rejudged/result.json" || fail "no note.rejudged in result.json"
  grep -F -q 're-judged against a changed scenario' "$work/rejudged/summary.txt" || fail "summary.txt does not say re-judged"
  out=$("$bin" evaluate "$good" "$rec" 2>&1); rc=$?
  [ "$rc" -eq 0 ] || fail "expected exit 0 for the scenario the timeline was recorded with"
  if printf '%s\n' "$out" | grep -F -q 're-judged'; then fail "the own scenario's verdict says re-judged"; fi
  ;;
packaged)
  mkdir -p "$work/cache" "$work/s/units/nginx.service.d" || exit 1
  printf '[Service]\nOOMPolicy=continue\n' >"$work/s/units/nginx.service.d/10-oom.conf"
  scenario() {
    printf '{"name": "p", "description": "d", "guest": {"packages": ["nginx"]},
      "services": [{"name": "nginx", "why": "w", "unit_file": {"package": "%s"},
                    "drop_ins": ["units/nginx.service.d"]}],
      "expect": {"never_killed": ["nginx"]}}\n' "$1" >"$work/s/$1.json"
  }
  scenario nginx && scenario nginx-common
  for cmd in check plan; do
    out=$(XDG_CACHE_HOME="$work/cache" "$bin" $cmd "$work/s/nginx.json" 2>&1); rc=$?
    [ "$rc" -eq 3 ] || fail "$cmd: expected exit 3 (the packaged unit was not read)"
    has "\$.services[0].unit_file: a packaged unit file is read from the bookworm guest image with nginx, which is not built yet, so it was not checked"
    has "oomharness vm build --release bookworm --package nginx"
  done
  out=$(XDG_CACHE_HOME="$work/cache" "$bin" check "$work/s/nginx-common.json" 2>&1); rc=$?
  [ "$rc" -eq 2 ] || fail "expected exit 2 for a package not in guest.packages"
  has "\$.services[0].unit_file.package: expected one of guest.packages"
  # run reports the scenario's own mistakes before it would build the image.
  out=$(XDG_CACHE_HOME="$work/cache" "$bin" run "$work/s/nginx-common.json" --results "$work/results" 2>&1); rc=$?
  [ "$rc" -eq 2 ] || fail "run: expected exit 2 for a package not in guest.packages"
  has "\$.services[0].unit_file.package: expected one of guest.packages"
  # Nothing was built.
  [ -z "$(ls "$work/cache/oomharness/images" 2>/dev/null)" ] || fail "check, plan or run built an image"
  ;;
*) echo "usage: $0 many|hostile|evaluate|rejudge|packaged OOMHARNESS SOURCE_DIR WORK_DIR" >&2; exit 2 ;;
esac
echo "ok: check $mode"
