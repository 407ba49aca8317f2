#!/usr/bin/env bash
# How well the guest observer keeps up while the guest thrashes. Runs
# scenarios/thrash-no-swap.json (768M, no swap, a slow leak: a minute and more
# with MemAvailable near zero before the kernel kills) once per release and
# reads the recorded timeline:
#   sample interval: the longest between consecutive guest samples, as a ratio
#     of the planned interval recorded in plan.json (the reference, same run);
#     target: the longest under 1 s, i.e. a ratio under 2 at 0.5 s
#   kill latency: kernel line timestamp -> the observer emitting the kill record
#     (seen_t - t), against the 100 ms target
#   the stall itself: seconds with MemAvailable near zero, peak memory PSI full
# Usage: bench/observer/bench_observer.sh [path/to/oomharness] [release ...]
set -euo pipefail
bin=${1:-build/bin/oomharness}
shift || true
releases=("$@")
[[ ${#releases[@]} -gt 0 ]] || releases=(bookworm trixie)
cd "$(dirname "$0")/../.."

printf '%-9s %9s %8s %7s %9s %7s %8s %9s %5s\n' release interval planned ratio kill_ms samples gaps near_zero psi
for release in "${releases[@]}"; do
  out=$("$bin" run --quiet --release "$release" scenarios/thrash-no-swap.json 2>&1) || true
  dir=$(sed -n 's/.*details in \(results\/[^ ]*\).*/\1/p' <<<"$out" | tail -1)
  [[ -n $dir && -f $dir/results.jsonl ]] || { echo "$release: no results ($out)" >&2; continue; }
  python3 - "$dir" "$release" <<'PY'
import json, sys
d, release = sys.argv[1], sys.argv[2]
recs = [json.loads(l) for l in open(d + "/results.jsonl") if l.strip()]
plan = json.load(open(d + "/plan.json"))
planned = plan.get("sample_interval_sec", 0.5)
ts = sorted(r["t"] for r in recs if r["type"] == "guest_sample")
longest = max((b - a for a, b in zip(ts, ts[1:])), default=0)
kills = [r for r in recs if r["type"] == "oom_kill" and r.get("seen_t", 0) > 0]
kill_ms = max(((k["seen_t"] - k["t"]) * 1000 for k in kills), default=float("nan"))
gaps = sum(1 for r in recs if r["type"] == "observer_gap")
guest = next(r for r in recs if r["type"] == "guest")
near = max(16 << 20, int(0.05 * guest["mem_total_bytes"]))
gs = sorted((r for r in recs if r["type"] == "guest_sample"), key=lambda r: r["t"])
near_zero = sum(b["t"] - a["t"] for a, b in zip(gs, gs[1:]) if a["mem_available_bytes"] <= near)
psi = max((g["pressure_full_avg10"] for g in gs), default=0)
print(f"{release:<9} {longest:8.2f}s {planned:7.2f}s {longest / planned:7.2f} {kill_ms:9.0f} {len(ts):7d} {gaps:8d} {near_zero:8.1f}s {psi:4.1f}%")
PY
done
