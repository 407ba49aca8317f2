"""What a run cost beyond the scenario's own time, from its result.json: the one
definition bench/vm/bench_restore.sh and bench/suite/bench_suite.sh both print.

  scenario  the scenario's own time, on the guest's clock: from the phase
            `units_starting` (the runner asks systemd to start the scenario's
            units) to the last phase (`settled` or `time_limit`). It holds each
            unit's start_after and the time to fill its baseline, which are the
            scenario's, and the observation.
  overhead  the command's wall time less that: everything the harness adds
            (host setup, boot or restore, the guest's own setup, power-off,
            reports).
  before_pressure_overhead  the older, wider measure: wall time less the
            observation alone (the phase `pressure` to the last phase), which
            also charges start_after and baselines to the harness.

Only differences on the guest's clock are used: a restored guest's clock starts
where its saving boot left it. Runs recorded before `units_starting` existed
have no `scenario` figure (None)."""
import json


def facts(result_json_path):
    r = json.load(open(result_json_path))
    t, phases = r["timing"], r["timeline"]["phases"]
    end = max((p["t"] for p in phases), default=t["pressure_t"])
    starting = next((p["t"] for p in phases if p["name"] == "units_starting"), None)
    scenario = end - starting if starting is not None else None
    return {
        "wall": t["wall_sec"],
        "start": t["boot_sec"],
        "scenario": scenario,
        "overhead": t["wall_sec"] - scenario if scenario is not None else None,
        "observation": end - t["pressure_t"],
        "before_pressure_overhead": t["wall_sec"] - (end - t["pressure_t"]),
        "how": r["vm"].get("start", "") or "cold boot",
        "note": r["vm"].get("start_note", ""),
        "verdict": r["verdict"],
    }
