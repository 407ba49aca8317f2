#!/usr/bin/env bash
# What a suite costs and what parallel guests buy, on this host, each figure a
# ratio against a reference measured in the same script:
#   1. in-guest fill rate: oomstress filling 384 MiB as fast as it can in one
#      guest alone (the reference), then in each of two guests at once: the
#      per-guest slowdown;
#   2. suite throughput: the same 4-scenario suite with -j 1 (the reference) and
#      with -j 2 --oversubscribe (two 2-vCPU guests on this host's CPUs):
#      scenarios per hour and the ratio;
#   3. harness overhead per scenario, from each cell's result.json: the command's
#      wall time less the scenario's own time (its units asked to start to the
#      last phase; bench/overhead.py), against the scenario's own time;
#   4. the harness's own host memory per running guest: the peak RSS of each
#      cell's oomharness process (index.json harness_peak_rss_bytes), not qemu.
# Usage: bench/suite/bench_suite.sh [path/to/oomharness] [scenario ...]
# Takes about 12 minutes under TCG on 2 cores. Boots guests: never on a host
# that must not be loaded.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/bin/oomharness}
shift || true
scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(scenarios/three-services.json scenarios/memorymax-contained.json
                                          scenarios/image-worker.json scenarios/half-alive-continue.json)
# The suites' folders stay (results/ is not committed), to look into any cell that did not pass.
work=results/bench-suite-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$work"
echo "# folders in $work"

echo "# 1. in-guest fill rate (oomstress --target 384M, as fast as it can; MiB/s from its own last report)"
fill() {  # prints MiB/s
  "$bin" vm run --memory 1G --cpus 2 --timeout 120s -- \
    /opt/oomharness/bin/oomstress --target 384M --hold 0s --report-interval 0.2s 2>/dev/null |
    python3 -c '
import json, sys
rate = float("nan")
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if r.get("time_to_target", -1) > 0:
        rate = r["bytes_allocated"] / 1048576 / r["time_to_target"]
print(f"{rate:.0f}")' 
}
solo=$(fill)
fill >"$work/a" & fill >"$work/b" & wait
pa=$(cat "$work/a"); pb=$(cat "$work/b")
python3 - "$solo" "$pa" "$pb" <<'PY'
import sys
solo, a, b = (float(x) for x in sys.argv[1:])
print(f"solo {solo:.0f} MiB/s; two guests at once {a:.0f} and {b:.0f} MiB/s; per-guest ratio {(a + b) / 2 / solo:.2f}")
PY

echo "# 2. suite throughput (${#scenarios[@]} scenarios)"
declare -A wall
for mode in "-j 1" "-j 2 --oversubscribe"; do
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$bin" run --quiet --results "$work/${mode// /_}" $mode "${scenarios[@]}" >"$work/out" 2>&1 || true
  wall[$mode]=$(python3 -c "import time; print(time.time() - $start)")
  echo "$mode: $(tail -1 "$work/out")"
done
python3 - "${#scenarios[@]}" "${wall[-j 1]}" "${wall[-j 2 --oversubscribe]}" "$work" <<'PY'
import glob, json, statistics, sys
sys.path.insert(0, "bench")
from overhead import facts as run_facts
n, w1, w2, work = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
print(f"-j 1: {w1:.0f} s, {n * 3600 / w1:.0f} scenarios/hour (reference)")
print(f"-j 2: {w2:.0f} s, {n * 3600 / w2:.0f} scenarios/hour; ratio {w1 / w2:.2f}")
print("# 3. overhead per scenario and 4. harness memory per guest")
for mode in sorted(glob.glob(work + "/-j_*")):
    index = json.load(open(glob.glob(mode + "/*-suite/index.json")[0]))
    rows = []
    for cell in index["cells"]:
        try:
            f = run_facts(f"{glob.glob(mode + '/*-suite')[0]}/{cell['folder']}/result.json")
        except OSError:
            continue
        rows.append((cell["scenario"], f["overhead"], f["scenario"], f["start"], f["how"],
                     cell["harness_peak_rss_bytes"] / 1048576,
                     cell["verdict"] if cell["verdict"] == "pass" else cell["verdict"] + ": " + cell["reason"]))
    print(f"{mode.rsplit('/', 1)[1].replace('_', ' ')}:")
    rows = [r for r in rows if r[1] is not None]  # a setup that failed before its units started
    for s, over, own, boot, how, rss, v in rows:
        print(f"  {s:<22} overhead {over:5.1f} s ({how} {boot:4.1f} s) vs the scenario's own {own:5.1f} s  "
              f"harness RSS {rss:4.1f} MiB  {v}")
    if rows:
        print(f"  median overhead {statistics.median(r[1] for r in rows):.1f} s; "
              f"largest harness RSS {max(r[5] for r in rows):.1f} MiB")
PY
