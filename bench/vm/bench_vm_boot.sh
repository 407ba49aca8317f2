#!/usr/bin/env bash
# How fast a disposable guest gets to work. Medians over N runs (default 5),
# bookworm guest, host clock throughout:
#   launch -> COMMAND start: from starting `oomharness vm run` until the host sees
#     the line COMMAND writes first thing to $OOMHARNESS_RESULTS
#   launch -> `true` done:   wall time of `oomharness vm run -- true` (qemu gone)
# under the accelerator `--accel auto` picks and, when that is KVM, under forced
# TCG too. Reference in the same run: a bare qemu process start (qemu -version).
# With PACKAGES="nginx redis-server" it also boots each package's own image
# (a scenario's guest.packages) and prints its start median against the base
# image's from the same run, as a ratio.
# Usage: [PACKAGES="p ..."] bench/vm/bench_vm_boot.sh [path/to/oomharness] [runs]
set -euo pipefail
bin=${1:-build/bin/oomharness}
runs=${2:-5}
release=bookworm

now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

build_out=$("$bin" vm build --release "$release" 2>&1)
image_dir=$(sed -n 's/^image \(.*\)/\1/p' <<<"$build_out")
build_sec=$(sed -n 's/.*"build_sec": *\([0-9.]*\).*/\1/p' "$image_dir/image.json")

# Prints "<start seconds> <accelerator> <payload disk seconds>" for one run.
time_to_start() {
  local t0 line accel payload started=""
  t0=$(now)
  while IFS= read -r line; do
    [[ -z $started && $line == 'result: started' ]] && started=$(echo "$(now) - $t0" | bc)
    [[ $line == vm:\ completed* ]] || continue
    accel=$(sed -n 's/.*accelerator \([a-z]*\) .*/\1/p' <<<"$line")
    payload=$(sed -n 's/.*payload disk \([0-9.]*\)s.*/\1/p' <<<"$line")
  done < <("$bin" vm run --release "$release" "$@" -- sh -c 'echo started > "$OOMHARNESS_RESULTS"' 2>&1)
  echo "${started:-nan} ${accel:-?} ${payload:-?}"
}

time_to_end() {
  local t0 t1
  t0=$(now)
  "$bin" vm run --release "$release" "$@" -- true >/dev/null 2>&1
  t1=$(now)
  echo "$t1 - $t0" | bc
}

bench() {  # bench LABEL [vm run flags]
  local label=$1 starts=() ends=() payloads=() accel="?" i r
  shift
  for ((i = 0; i < runs; i++)); do
    read -r s accel p <<<"$(time_to_start "$@")"
    starts+=("$s") payloads+=("$p")
    ends+=("$(time_to_end "$@")")
  done
  printf '| %-12s | %-4s | %6.1f s | %6.1f s | %6.1f s | %6.1f s | %6.3f s | %s/ %s|\n' "$label" "$accel" \
    "$(median "${starts[@]}")" "$(printf '%s\n' "${starts[@]}" | sort -g | head -1)" \
    "$(median "${ends[@]}")" "$(printf '%s\n' "${ends[@]}" | sort -g | head -1)" \
    "$(median "${payloads[@]}")" "$(printf '%.1f ' "${starts[@]}")" "$(printf '%.1f ' "${ends[@]}")"
  last_accel=$accel
  last_start=$(median "${starts[@]}")
}

q0=$(now); qemu-system-x86_64 -version >/dev/null; q1=$(now)
printf 'oomharness vm run, %s guest, %d runs each, medians (host clock); load before: %s\n' \
  "$release" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '| %-12s | %-4s | %8s | %8s | %8s | %8s | %8s | %s |\n' "--accel" "used" "start" "min" "done" "min" "payload" "all runs: start / done"
printf '|%s|\n' "--------------|------|----------|----------|----------|----------|----------|-----------------------"
last_accel=""
bench auto --accel auto
base_start=$last_start
[[ $last_accel == kvm ]] && bench tcg --accel tcg
ratios=""
for package in ${PACKAGES:-}; do
  "$bin" vm build --release "$release" --package "$package" >/dev/null 2>&1
  bench "+$package" --accel auto --package "$package"
  ratios+=$(printf '%s start %.2fx the base image'"'"'s; ' "$package" "$(echo "$last_start / $base_start" | bc -l)")
done
printf 'start: launch -> COMMAND start; done: launch -> `true` done, qemu gone; payload: building the payload disk\n'
printf 'load after: %s (other guests on the same cores slow TCG down; min is the least disturbed run)\n' \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'reference: bare qemu process start %.2f s; guest image build (first time) %.0f s, cached afterwards\n' \
  "$(echo "$q1 - $q0" | bc)" "${build_sec:-0}"
[[ -n $ratios ]] && printf 'packages (auto, same run): %s\n' "${ratios%; }"
printf 'target: COMMAND starts within 8 s of launch under TCG\n'
