#!/bin/bash
# Facts about Podman under systemd in this guest: what docs/containers.md reads from sources.
set -u
exec 2>&1
echo "== versions"; podman --version; conmon --version | head -1; crun --version | head -1; uname -r; systemctl --version | head -1
echo "== storage"; podman info --format '{{.Store.GraphDriverName}} {{.Host.CgroupManager}} {{.Host.CgroupsVersion}} {{.Host.OCIRuntime.Name}}'
d=$(mktemp -d); mkdir -p $d/rootfs; cp /opt/oomharness/payload/oomstress $d/rootfs/oomstress; tar -C $d/rootfs -cf $d/rootfs.tar .
t0=$(date +%s.%N); podman import --change 'ENTRYPOINT ["/oomstress"]' $d/rootfs.tar localhost/oomstress:probe >/dev/null; echo "import: $(awk -v a=$t0 -v b=$(date +%s.%N) 'BEGIN{printf "%.2f", b-a}') s"
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}'

run_case() {  # name, unit properties..., -- podman args
  local name=$1; shift
  local props=(); while [[ $1 != -- ]]; do props+=(-p "$1"); shift; done; shift
  echo; echo "==== case $name: systemd-run ${props[*]} podman run $*"
  local t0=$(date +%s.%N)
  systemd-run --unit="$name" "${props[@]}" -p OOMScoreAdjust=300 podman run --name "$name" --network none --pull=never "$@" localhost/oomstress:probe --target 200M --rate 8M/s --report-interval 5s >/dev/null
  local cpid="" cg=""
  for i in $(seq 1 60); do
    cpid=$(podman inspect "$name" --format '{{.State.Pid}}' 2>/dev/null); [[ -n $cpid && $cpid != 0 ]] && break; sleep 0.5
  done
  echo "container start after $(awk -v a=$t0 -v b=$(date +%s.%N) 'BEGIN{printf "%.2f", b-a}') s; pid $cpid"
  if [[ -n $cpid && $cpid != 0 ]]; then
    echo "container pid cgroup: $(cat /proc/$cpid/cgroup) oom_score_adj=$(cat /proc/$cpid/oom_score_adj)"
    local cg=/sys/fs/cgroup$(cut -d: -f3 /proc/$cpid/cgroup)
    echo "its memory.max=$(cat $cg/memory.max 2>/dev/null) parent memory.max=$(cat $cg/../memory.max 2>/dev/null) oom.group=$(cat $cg/memory.oom.group 2>/dev/null)"
  fi
  echo "unit cgroup tree:"; systemd-cgls --no-pager -u "$name.service" 2>/dev/null | head -12
  for p in $(pgrep -x conmon); do echo "conmon pid $p cgroup $(cut -d: -f3 /proc/$p/cgroup) oom_score_adj=$(cat /proc/$p/oom_score_adj)"; done
  for p in $(pgrep -x podman); do echo "podman pid $p cgroup $(cut -d: -f3 /proc/$p/cgroup) oom_score_adj=$(cat /proc/$p/oom_score_adj)"; done
  sleep 1
  for i in $(seq 1 40); do [[ $(podman inspect "$name" --format '{{.State.Status}}' 2>/dev/null) == running ]] || break; sleep 0.5; done
  echo "container left running after $(awk -v a=$t0 -v b=$(date +%s.%N) 'BEGIN{printf "%.2f", b-a}') s"
  [[ -n ${cg:-} ]] && echo "memory.events ($cg): $(tr '\n' ' ' < $cg/memory.events 2>/dev/null)" && echo "scope memory.events: $(tr '\n' ' ' < $cg/../memory.events 2>/dev/null)"
  for i in $(seq 1 30); do [[ $(systemctl show -P ActiveState "$name") == active ]] || break; sleep 1; done
  echo "unit: $(systemctl show -p ActiveState -p SubState -p Result -p ExecMainStatus -p ExecMainCode -p NRestarts -p OOMPolicy "$name" | tr '\n' ' ')"
  echo "inspect: $(podman inspect "$name" --format 'Status={{.State.Status}} OOMKilled={{.State.OOMKilled}} ExitCode={{.State.ExitCode}} RestartCount={{.RestartCount}} CgroupPath={{.State.CgroupPath}}' 2>&1)"
  podman rm -f "$name" >/dev/null 2>&1; systemctl reset-failed "$name" 2>/dev/null
}
dmesg -C
run_case limit-default -- --memory 64m --memory-swap 64m
run_case limit-split Delegate=yes -- --memory 64m --memory-swap 64m --cgroups=split
run_case limit-adj -- --memory 64m --memory-swap 64m --oom-score-adj 700
echo; echo "== kernel oom-kill summaries"; dmesg | grep -E "oom-kill:|Killed process|Memory cgroup out of memory" 
echo "== journal: units"; journalctl --no-pager -o short-monotonic -u 'limit-*' | grep -iE "oom|fail|exit|Deactivated|Consumed" | head -30
echo "== leftover scopes"; systemctl list-units --all --no-pager 'libpod*' | head
