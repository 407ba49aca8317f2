#!/bin/sh
# oomharness as a user gets it from `cmake --install`: run from the installed
# prefix, from a working directory outside the checkout, with no source path.
#
#   install_test.sh install    CMAKE BUILD_DIR PREFIX        fresh install into PREFIX
#   install_test.sh check-plan PREFIX VERSION SOURCE_DIR     layout, --version, check, plan
#   install_test.sh e2e        PREFIX SCENARIO               `run` one shipped scenario in a guest
#
# POSIX sh only (CI machines may lack bash and python3).
set -eu

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# run STATUS CMD...: runs CMD, prints its output (kept in $out), fails unless it exits STATUS.
run() {
  want=$1
  shift
  echo "+ $*"
  set +e
  out=$("$@" 2>&1)
  status=$?
  set -e
  printf '%s\n' "$out"
  [ "$status" -eq "$want" ] || fail "exit status $status, expected $want: $*"
}

# expect TEXT: the last command's output contains TEXT.
expect() {
  case $out in
    *"$1"*) ;;
    *) fail "output lacks '$1'" ;;
  esac
}

# workdir [keep]: a working folder outside the checkout and the build tree, removed at
# exit; with "keep", kept (and named) when the test fails, for its results.
workdir() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/oomharness-install-test.XXXXXX")
  keep=${1:-}
  trap 'st=$?; if [ $st -ne 0 ] && [ -n "$keep" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi; exit $st' EXIT
  cd "$work"
}

# The "guest recipe <release>-<hash>" names from `oomharness --version` output in $out.
recipe_names() {
  printf '%s\n' "$out" | sed -n 's/^guest recipe \([^ ]*\) (.*)$/\1/p'
}

unset OOMHARNESS_RECIPE_DIR
mode=${1:-}
[ $# -gt 0 ] && shift

case $mode in
  install)
    [ $# -eq 3 ] || fail "usage: install CMAKE BUILD_DIR PREFIX"
    cmake=$1 build=$2 prefix=$3
    rm -rf "$prefix"
    run 0 "$cmake" --install "$build" --prefix "$prefix"
    ;;

  check-plan)
    [ $# -eq 3 ] || fail "usage: check-plan PREFIX VERSION SOURCE_DIR"
    prefix=$1 version=$2 src=$3
    oomharness=$prefix/bin/oomharness
    share=$prefix/share/oomharness
    workdir

    # Layout: only oomharness in bin/, the guest-side binaries in libexec/oomharness/.
    [ -x "$oomharness" ] || fail "$oomharness missing or not executable"
    [ "$(ls "$prefix/bin")" = oomharness ] || fail "bin/ holds more than oomharness: $(ls "$prefix/bin")"
    for helper in oomstress oomharness-guest; do
      [ -x "$prefix/libexec/oomharness/$helper" ] || fail "libexec/oomharness/$helper missing"
      [ ! -e "$prefix/bin/$helper" ] || fail "a copy of $helper in bin/"
    done
    for script in customize.sh guest/oomharness-job; do
      [ -x "$share/vm/$script" ] || fail "share/oomharness/vm/$script missing or not executable"
    done
    for file in scenarios/three-services.json scenarios/schema/scenario.schema.json vm/packages.txt; do
      [ -f "$share/$file" ] || fail "share/oomharness/$file missing"
    done
    [ -f "$prefix/share/doc/oomharness/README.md" ] || fail "share/doc/oomharness/README.md missing"
    [ -f "$prefix/share/doc/oomharness/docs/README.md" ] || fail "share/doc/oomharness/docs/ missing"
    # The recipe is found relative to the binary, not through a path baked in at build time.
    if grep -qaF "$src/vm" "$oomharness"; then fail "$oomharness contains the source path $src/vm"; fi

    # --version: the version, and the installed recipe hashes like the source's vm/
    # (same image names, so installed and built binaries share the image cache).
    run 0 "$oomharness" --version
    expect "oomharness $version"
    expect "guest recipe bookworm-"
    expect "($share/vm)"
    installed=$(recipe_names)
    [ -n "$installed" ] || fail "--version names no guest recipe"
    run 0 env OOMHARNESS_RECIPE_DIR="$src/vm" "$oomharness" --version
    expect "($src/vm)"
    source=$(recipe_names)
    [ "$installed" = "$source" ] || fail "installed recipe ($installed) hashes unlike $src/vm ($source)"

    # check and plan on the shipped scenarios.
    run 0 "$oomharness" check "$share/scenarios/three-services.json"
    expect "three-services.json: OK (3 services"  # warnings may follow
    run 0 "$oomharness" check "$share"/scenarios/*.json "$share"/scenarios/examples/*.json
    run 0 "$oomharness" plan "$share/scenarios/three-services.json"
    expect "systemd-run --unit=report-worker.service"
    expect "-p OOMScoreAdjust=600"
    run 0 "$oomharness" plan --json "$share/scenarios/three-services.json"
    expect '"scenario": "three-services"'

    # Bad input: exit status 2, for check and plan alike.
    printf '{"name": "broken"' >broken.json
    printf '{"name": "incomplete"}\n' >incomplete.json
    run 2 "$oomharness" check broken.json
    expect "invalid JSON"
    run 2 "$oomharness" check incomplete.json
    expect '$.services: missing'
    run 2 "$oomharness" plan incomplete.json
    run 2 "$oomharness" check no-such-scenario.json
    ;;

  e2e)
    [ $# -eq 2 ] || fail "usage: e2e PREFIX SCENARIO"
    prefix=$1 scenario=$2
    oomharness=$prefix/bin/oomharness
    workdir keep

    run 0 "$oomharness" --version
    image=$(recipe_names | grep '^bookworm-' || true)
    [ -n "$image" ] || fail "--version names no bookworm recipe"
    run 0 "$oomharness" run "$prefix/share/oomharness/scenarios/$scenario.json" --results "$work/results"
    result=
    for f in "$work"/results/*/result.json; do [ -f "$f" ] && result=$f; done
    [ -n "$result" ] || fail "no result.json under $work/results"
    echo "result: $result"
    grep -q '"verdict": "pass"' "$result" || fail "$result: verdict is not pass"
    # The image's own record, not the cache's folder layout: result.json names the
    # recipe the guest image was built from, and which build of it.
    grep -q "\"image_recipe\": \"$image\"" "$result" || fail "$result: vm.image_recipe is not $image (--version's recipe)"
    grep -q '"image_built_at": "[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T' "$result" || fail "$result: vm.image_built_at is not a time"
    ;;

  *)
    fail "usage: install_test.sh install|check-plan|e2e ..."
    ;;
esac
echo "PASS: $mode"
