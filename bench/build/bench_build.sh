#!/usr/bin/env bash
# How long a clean build takes, and what the unity build saves. Builds the same
# tree twice from empty folders in this one run, one after the other with the same
# -j: first file by file (-DOOMHARNESS_UNITY=OFF, the reference), then in unity
# batches (the default), and prints each wall time, the compile steps ninja ran,
# and the ratio unity / reference. TARGET narrows both builds to one target and
# what it needs (e.g. checks_tests), for a quicker comparison of the same kind.
# Nothing else should run on the machine meanwhile: both builds use every core.
# Usage: [TARGET=name] bench/build/bench_build.sh [BUILD_TYPE] [JOBS]
#        (defaults: Release, nproc; the folders are made under ${TMPDIR:-/var/tmp} and removed)
set -euo pipefail
cd "$(dirname "$0")/../.."
type=${1:-Release}
jobs=${2:-$(nproc)}
target=${TARGET:-all}
scratch=$(mktemp -d "${TMPDIR:-/var/tmp}/oomharness-bench-build.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# Prints "<seconds> <compile steps>" for one clean configure + build.
build() {
  local dir=$scratch/$1 t0 steps
  shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
  t0=$(date +%s.%N)
  cmake --build "$dir" -j"$jobs" --target "$target" >"$dir.log" 2>&1 || { tail -30 "$dir.log" >&2; exit 1; }
  steps=$(grep -c 'Building CXX object' "$dir.log" || true)
  echo "$(echo "$(date +%s.%N) - $t0" | bc) $steps"
}

read -r ref_sec ref_steps < <(build file-by-file -DOOMHARNESS_UNITY=OFF)
read -r uni_sec uni_steps < <(build unity -DOOMHARNESS_UNITY=ON)
printf 'clean %s build of %s, -j%s, %s\n' "$type" "$target" "$jobs" "$(date -u +%FT%TZ)"
printf '%-36s %8.1f s  %4d compile steps\n' "file by file (reference)" "$ref_sec" "$ref_steps"
printf '%-36s %8.1f s  %4d compile steps  ratio %.2f\n' "unity batches of 8" "$uni_sec" "$uni_steps" \
  "$(echo "$uni_sec / $ref_sec" | bc -l)"
