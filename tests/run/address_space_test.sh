#!/usr/bin/env bash
# oomharness under an address-space limit (ulimit -v) on inputs at their size
# limits: 32 MiB timelines (the most evaluate reads) of the shapes that take the
# most memory or are written largest, the run folder each leaves (which its own
# readers must take: show is not 2), and
# a 96 MiB result.json nested as deep as bytes allow. Each must end with a verdict
# (0 pass, 1 fail, 3 inconclusive) or refuse its input (2), never die on an
# allocation (134: std::bad_alloc, or any signal). The limit is a small multiple of
# the largest input (README: Reliability). Not under the sanitizers: ASan reserves
# terabytes of address space (scripts/ci-sanitize leaves it out).
# Usage: address_space_test.sh OOMHARNESS SOURCE_DIR WORK_DIR LIMIT_KIB
set -uo pipefail
bin=$1 src=$2 work=$3 limit_kib=$4
rm -rf "$work"
mkdir -p "$work"
failures=0
fixture=$src/tests/checks/fixtures/recorded-three-services-bookworm.jsonl
scenario=$src/scenarios/three-services.json
size=$((32 * 1024 * 1024))

limited() {  # limited NAME ALLOWED_STATUSES -- COMMAND...: runs COMMAND within the limit
  local name=$1 allowed=$2
  shift 3
  (ulimit -v "$limit_kib" && exec "$@") >"$work/$name.out" 2>&1
  local status=$?
  if [[ " $allowed " == *" $status "* ]]; then
    echo "ok   $name: exit $status within ulimit -v $limit_kib"
  else
    echo "FAIL $name: exit $status (allowed: $allowed) within ulimit -v $limit_kib"
    tail -5 "$work/$name.out"
    failures=$((failures + 1))
  fi
}

for kind in processes pids garbage; do
  python3 "$src/tests/run/make_big_timeline.py" "$fixture" "$work/$kind.jsonl" "$size" "$kind"
  limited "evaluate-$kind" "0 1 2 3" -- "$bin" evaluate "$scenario" "$work/$kind.jsonl" --out "$work/run-$kind"
  if [[ -f $work/run-$kind/result.json ]]; then
    # What evaluate wrote, its own readers take (within report/limits.hpp): not 2.
    limited "show-$kind" "0 1 3" -- "$bin" show "$work/run-$kind"
  fi
  rm -f "$work/$kind.jsonl"
done

# One byte past the timeline's limit: refused before it is read.
python3 "$src/tests/run/make_big_timeline.py" "$fixture" "$work/over.jsonl" $((size + 1)) tiny
limited "evaluate-over-limit" "2" -- "$bin" evaluate "$scenario" "$work/over.jsonl" --out "$work/run-over"
rm -f "$work/over.jsonl"

# A result.json of 96 MiB, all nesting: refused while parsing (exit 2).
mkdir -p "$work/deep"
python3 -c "import sys; n = 48 * 1024 * 1024; sys.stdout.write('[' * n + ']' * n)" >"$work/deep/result.json"
limited "show-deep-result" "2" -- "$bin" show "$work/deep"
rm -rf "$work"
((failures == 0)) || exit 1
echo "all within ulimit -v $limit_kib"
