#!/bin/sh
# regenerate_fixtures.sh PYTHON3 FIXTURES_DIR WORK_DIR
# Reruns FIXTURES_DIR/make_fixtures.py into WORK_DIR and compares every
# synthetic-*.jsonl with the committed one, both ways. Exit 77 (CTest: skipped)
# when no python3 is available.
python=$1 fixtures=$2 work=$3
if [ -z "$python" ] || ! "$python" -c 'import json, hashlib' 2>/dev/null; then
  echo "SKIPPED: python3 not found; cannot regenerate tests/checks/fixtures/synthetic-*.jsonl (install python3 to run this test)"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work" || exit 1
"$python" "$fixtures/make_fixtures.py" "$work" || { echo "make_fixtures.py failed"; exit 1; }
status=0
for f in "$fixtures"/synthetic-*.jsonl; do
  name=$(basename "$f")
  if [ ! -f "$work/$name" ]; then echo "$name: committed but no longer generated"; status=1; continue; fi
  cmp -s "$f" "$work/$name" || { echo "$name: differs from what make_fixtures.py writes (rerun it)"; status=1; }
done
for f in "$work"/*.jsonl; do
  name=$(basename "$f")
  [ -f "$fixtures/$name" ] || { echo "$name: generated but not committed"; status=1; }
done
[ "$status" -eq 0 ] && echo "every synthetic fixture is what make_fixtures.py writes"
exit $status
