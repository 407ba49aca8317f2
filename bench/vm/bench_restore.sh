#!/usr/bin/env bash
# What restoring a saved guest saves (docs/guest-vm.md#saved-guests), per scenario,
# against cold boots measured in the same run. Each scenario runs three times, one
# after the other:
#   1. first use  restored when its machine has a saved guest, else booted to be
#                 saved (the cost every later run is spared)
#   2. cold       --cold-boot: the reference
#   3. restored   from the save round 1 made or found
# and for each run, from its result.json (bench/overhead.py says how):
#   overhead = wall time of the command - the scenario's own time (its units asked
#              to start to the last phase, on the guest's clock): what the harness
#              adds (setup, boot or restore, the guest's own setup, power-off,
#              reports)
#   before pressure = the older, wider measure: wall time - the observation
#              (pressure to the last phase), which also counts each unit's
#              start_after and baseline
#   start    = qemu launch (or restore) to the job's command (vm.boot_sec)
# and the verdicts, which must not differ between cold and restored runs.
# Usage: bench/vm/bench_restore.sh [path/to/oomharness] [scenario ...]
# About 3.5 minutes per scenario under TCG on 2 cores. Boots guests: never on a
# host that must not be loaded.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/bin/oomharness}
shift || true
scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(scenarios/three-services.json scenarios/memorymax-contained.json
                                          scenarios/half-alive-continue.json scenarios/image-worker.json)
work=results/bench-restore-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$work"
echo "# folders in $work; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in "${scenarios[@]}"; do
  name=$(basename "$s" .json)
  for round in first cold restored; do
    mkdir -p "$work/$name-$round"
    flags=(--quiet --run-dir "$work/$name-$round")
    [[ $round == cold ]] && flags+=(--cold-boot)
    "$bin" run "${flags[@]}" "$s" >"$work/$name-$round.out" 2>&1 || true
  done
done
python3 - "$work" "${scenarios[@]}" <<'PY'
import os, statistics, sys
sys.path.insert(0, "bench")
from overhead import facts as run_facts
work, scenarios = sys.argv[1], sys.argv[2:]
def facts(folder):
    try:
        return run_facts(os.path.join(folder, "result.json"))
    except (OSError, ValueError, KeyError) as e:
        return {"overhead": None, "before_pressure_overhead": None, "start": None, "how": "no result",
                "note": str(e), "verdict": "none"}
sec = lambda v: "n/a" if v is None else f"{v:.1f} s"
rows, same = {}, True
print("| scenario | first use: overhead; before pressure (start) | cold | restored | verdicts |")
print("|---|---|---|---|---|")
for s in scenarios:
    name = os.path.basename(s)[:-5]
    f = {k: facts(os.path.join(work, f"{name}-{k}")) for k in ("first", "cold", "restored")}
    rows[name] = f
    same &= f["cold"]["verdict"] == f["restored"]["verdict"] == f["first"]["verdict"]
    cell = lambda k: (f"{sec(f[k]['overhead'])}; {sec(f[k]['before_pressure_overhead'])} "
                      f"({f[k]['how']} {sec(f[k]['start'])})")
    print(f"| {name} | {cell('first')} | {cell('cold')} | {cell('restored')} | "
          f"{f['first']['verdict']}/{f['cold']['verdict']}/{f['restored']['verdict']} |")
def med(k, key):
    values = [r[k][key] for r in rows.values() if r[k][key] is not None]
    return statistics.median(values) if values else float("nan")
for key, what in (("overhead", "overhead"), ("before_pressure_overhead", "before-pressure overhead"), ("start", "start")):
    print(f"median {what}: cold {med('cold', key):.1f} s (reference), restored {med('restored', key):.1f} s, "
          f"ratio {med('restored', key) / med('cold', key):.2f}; first use {med('first', key):.1f} s")
print("verdicts: " + ("the same in every round" if same else "DIFFER between rounds (see the folders)"))
for name, f in rows.items():
    if f["first"]["note"]:
        print(f"first use of {name}: {f['first']['note']}")
PY
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
