#!/usr/bin/env bash
# Median time from `oomharness vm run` launch to COMMAND start, and to the end of
# a trivial COMMAND, over 5 runs (bookworm). The reference is the same machine's
# bare qemu process start (qemu -version), measured in the same run.
# Usage: bench/vm/bench_vm_boot.sh [build/bin/oomharness] [--accel tcg]
set -euo pipefail
bin=${1:-build/bin/oomharness}
shift || true
runs=5
"$bin" vm build >/dev/null
starts=() ends=()
for i in $(seq $runs); do
  t0=$(date +%s.%N)
  out=$("$bin" vm run "$@" -- true 2>&1)
  t1=$(date +%s.%N)
  starts+=("$(sed -n 's/.*command started \([0-9.]*\)s after launch.*/\1/p' <<<"$out")")
  ends+=("$(echo "$t1 - $t0" | bc)")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
q0=$(date +%s.%N); qemu-system-x86_64 -version >/dev/null; q1=$(date +%s.%N)
accel=$(sed -n 's/.*accelerator \([a-z]*\),.*/\1/p' <<<"$out")
printf 'vm run, bookworm, accelerator %s, %d runs\n' "$accel" "$runs"
printf '  launch -> COMMAND start: median %.1fs (all: %s)\n' "$(median "${starts[@]}")" "${starts[*]}"
printf '  launch -> end of `true`: median %.1fs (all: %s)\n' "$(median "${ends[@]}")" "$(printf '%.1f ' "${ends[@]}")"
printf '  reference, bare qemu process start: %.2fs\n' "$(echo "$q1 - $q0" | bc)"
printf '  target: COMMAND starts within 8 s of launch under TCG\n'
