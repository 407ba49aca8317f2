#!/usr/bin/env bash
# What restoring a saved guest saves (docs/guest-vm.md#saved-guests), per scenario,
# against cold boots measured in the same run. Each scenario runs three times, one
# after the other:
#   1. first use  restored when its machine has a saved guest, else booted to be
#                 saved (the cost every later run is spared)
#   2. cold       --cold-boot: the reference
#   3. restored   from the save round 1 made or found
# and for each run, from its result.json:
#   overhead = wall time of the command - the observation (pressure phase to the
#              last phase, both on the guest's clock): everything the harness adds
#              around the scenario's own time (setup, boot or restore, units and
#              baselines, power-off, reports)
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
import json, os, statistics, sys
work, scenarios = sys.argv[1], sys.argv[2:]
def facts(folder):
    r = json.load(open(os.path.join(folder, "result.json")))
    t, phases = r["timing"], r["timeline"]["phases"]
    end = max((p["t"] for p in phases), default=t["pressure_t"])
    observation = end - t["pressure_t"]
    return {"overhead": t["wall_sec"] - observation, "start": t["boot_sec"], "wall": t["wall_sec"],
            "how": r["vm"].get("start", "?"), "note": r["vm"].get("start_note", ""),
            "verdict": r["verdict"]}
rows, same = {}, True
print(f"| scenario | first use: overhead (start) | cold: overhead (start) | restored: overhead (start) | verdicts |")
print(f"|---|---|---|---|---|")
for s in scenarios:
    name = os.path.basename(s)[:-5]
    f = {k: facts(os.path.join(work, f"{name}-{k}")) for k in ("first", "cold", "restored")}
    rows[name] = f
    same &= f["cold"]["verdict"] == f["restored"]["verdict"] == f["first"]["verdict"]
    cell = lambda k: f"{f[k]['overhead']:.1f} s ({f[k]['how']} {f[k]['start']:.1f} s)"
    print(f"| {name} | {cell('first')} | {cell('cold')} | {cell('restored')} | "
          f"{f['first']['verdict']}/{f['cold']['verdict']}/{f['restored']['verdict']} |")
med = lambda k, key: statistics.median(r[k][key] for r in rows.values())
print(f"median overhead: cold {med('cold', 'overhead'):.1f} s (reference), restored {med('restored', 'overhead'):.1f} s, "
      f"ratio {med('restored', 'overhead') / med('cold', 'overhead'):.2f}; first use {med('first', 'overhead'):.1f} s")
print(f"median start: cold {med('cold', 'start'):.1f} s, restored {med('restored', 'start'):.1f} s, "
      f"ratio {med('restored', 'start') / med('cold', 'start'):.2f}")
print("verdicts: " + ("the same in every round" if same else "DIFFER between rounds (see the folders)"))
for name, f in rows.items():
    if f["first"]["note"]:
        print(f"first use of {name}: {f['first']['note']}")
PY
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
