#!/bin/bash
# The test:vm cases, run by init.sh inside the guest as root. First `doctor` and
# `solve all`, then every lesson done by hand with shell tools, as its text tells a learner
# (lessons/*.md, `container-lessons show ID`), and once in a wrong state; each followed by
# `container-lessons check ID` and `reset ID`. Lessons are named by id, so a new lesson
# in between changes nothing here; test/unit/curriculum.test.ts fails for a lesson that
# has no case of each kind. One line per case:
#   VM-CASE <lesson> <name> PASS|FAIL (expected exit X, got Y)
# followed, on FAIL, by the command's output.
CL=container-lessons
LAB=$CONTAINER_LESSONS_HOME
R=$LAB/rootfs                 # the lab's root filesystem (lessons 3-7), prebuilt by the host
CGROUP=$(cat /vm/cgroup)      # v2 or v1: how init.sh mounted /sys/fs/cgroup
OUT=/tmp/cl-out
uptime_s() { local u _; read -r u _ </proc/uptime; echo "$u"; }

# result LESSON NAME EXPECTED GOT: the case's line (and the output when it failed)
result() {
  local verdict=PASS
  [ "$3" = "$4" ] || verdict=FAIL
  echo "VM-CASE $1 $2 $verdict (expected exit $3, got $4)" | tee -a /tmp/vm-results
  [ $verdict = PASS ] || sed 's/^/    | /' $OUT
}
# check ID NAME EXPECTED: `container-lessons check ID`, compared with the expected exit code
check() {
  timeout 300 $CL check "$1" >$OUT 2>&1
  result "$1" "$2" "$3" $?
}
# reset ID: must exit 0; a line only when it does not
reset_lesson() {
  timeout 300 $CL reset "$1" >$OUT 2>&1
  local rc=$?
  [ $rc = 0 ] || result "$1" reset 0 $rc
}

# A learner's shell left running in a second terminal: CMD in the background, its stdin a
# fifo held open on FD (writing to FD types into it; closing FD is Ctrl-D).
declare -A BG
start_container() {
  local fd=$1
  shift
  rm -f /tmp/fifo$fd && mkfifo /tmp/fifo$fd
  # (a subshell that outlives CMD, its stderr aside: no "Killed" job notice when reset ends CMD)
  ( "$@" </tmp/fifo$fd >/tmp/container$fd.log 2>&1; : ) 2>/dev/null &
  BG[$fd]=$!
  eval "exec $fd>/tmp/fifo$fd"
}
stop_container() {
  eval "exec $1>&-"
  wait "${BG[$1]}" 2>/dev/null
}
# container_pid [PID...]: the host pid of a `sh` whose root is the rootfs (not one of PID...)
container_pid() {
  local i p
  for i in $(seq 300); do
    for p in /proc/[0-9]*; do
      p=${p#/proc/}
      [[ " $* " == *" $p "* ]] && continue
      if [ "$(cat /proc/$p/comm 2>/dev/null)" = sh ] && [ -e /proc/$p/root/.container-lessons-rootfs ]; then
        echo "$p"
        return 0
      fi
    done
    sleep 0.1
  done
  echo "VM-NOTE no container started: $(cat /tmp/container*.log 2>/dev/null)" >&2
  return 1
}

# ---------------------------------------------------------------- doctor, solve all
echo "---- container-lessons doctor"
$CL doctor 2>&1 | sed 's/^/  doctor| /'
t0=$(uptime_s)
timeout 1200 $CL solve all >$OUT 2>&1
rc=$?
t1=$(uptime_s)
echo "VM-TIME solve-all $(awk "BEGIN{print $t1 - $t0}")s"
grep -E '^Lesson [0-9]+: |lessons: ' $OUT | sed 's/^/  solve| /'
result all solve-all 0 $rc         # on failure: the whole output of solve all

# ---------------------------------------------------------------- the cgroup-cpu lesson's window, measured
# Not a case: how close the CPU check's measurement (measureShare) comes to 20 % at each
# window length under emulation, for choosing WINDOW_MS (bench/window.mjs).
timeout 300 node /opt/container-lessons/bench/window.mjs --rounds 5 --windows 300,500,1000,2000 2>&1 | sed 's/^/VM-MEASURE /'

# ---------------------------------------------------------------- the core's cgroups: memory and pids
# Not a lesson yet: the core's group on the memory and pids controllers on this layout
# (limits written and read back, a process in it, its counters), then removed with the
# controllers it enabled. The lessons on memory and pids limits stand on it.
node --input-type=module -e '
import { Cgroup, Ledger } from "/opt/container-lessons/dist/core/index.js";
import { spawn } from "node:child_process";
const g = new Cgroup("cl-vm-memory-pids", ["memory", "pids"]);
const ledger = new Ledger();
g.create(ledger);
try {
  g.setMemoryLimit(64 * 2 ** 20, { swap: false });
  g.setPidsLimit(20);
  if (g.memoryLimit() !== 64 * 2 ** 20 || g.pidsLimit() !== 20) throw new Error(`limits read back as ${g.memoryLimit()}, ${g.pidsLimit()}`);
  const s = spawn("sleep", ["30"]);
  g.addProcess(s.pid);
  const pids = g.pidsStats();
  console.log(JSON.stringify({ dirs: g.dirs, memory: g.memoryStats(), pids }));
  s.kill("SIGKILL");
  await new Promise((r) => s.on("exit", r));
  if (pids.current !== 1) throw new Error(`pids.current is ${pids.current}, not 1`);
} finally {
  const errors = await ledger.cleanup();
  if (errors.length) throw new Error(errors.map((e) => e.message).join("; "));
}
if (g.anyExists()) throw new Error(`${g.dir} is still there`);
' >$OUT 2>&1
result core cgroup-memory-pids 0 $?

# ---------------------------------------------------------------- overlay
l1_layers() {
  mkdir -p $LAB/ufs && cd $LAB/ufs || return
  mkdir lower1 lower2 upper work merged
  touch lower1/a.txt lower2/b.txt upper/c.txt
  echo lower1 > lower1/n.txt; echo lower2 > lower2/n.txt
  echo lower > lower2/x.txt; echo upper > upper/x.txt
}
l1_layers
mount -t overlay overlay -o lowerdir=./lower2:./lower1,upperdir=./upper,workdir=./work ./merged
rm merged/a.txt
cd /
check overlay mount-by-hand 0
reset_lesson overlay

l1_layers
mount -t overlay overlay -o lowerdir=./lower1:./lower2,upperdir=./upper,workdir=./work ./merged
rm merged/a.txt
cd /
check overlay lowerdir-swapped 1
reset_lesson overlay

# ---------------------------------------------------------------- cgroup CPU limit
if [ "$CGROUP" = v2 ]; then
  G=/sys/fs/cgroup/container
  grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control || echo +cpu > /sys/fs/cgroup/cgroup.subtree_control
  quota() { echo "$1 100000" > $G/cpu.max; }
else
  G=/sys/fs/cgroup/cpu/container
  quota() { echo 100000 > $G/cpu.cfs_period_us; echo "$1" > $G/cpu.cfs_quota_us; }
fi
l2_group() {                     # l2_group QUOTA: the group, a busy loop, the quota, the move
  mkdir $G
  while : ; do : ; done &
  LOOP=$!
  quota "$1"
  echo $LOOP > $G/cgroup.procs
}
l2_group 20000
check cgroup-cpu quota-20000 0
reset_lesson cgroup-cpu                   # moves the loop out (it is the learner's), so kill it too
kill $LOOP; wait $LOOP 2>/dev/null

l2_group 50000
check cgroup-cpu quota-50000 1
reset_lesson cgroup-cpu
kill $LOOP; wait $LOOP 2>/dev/null

# ---------------------------------------------------------------- mount namespace
echo only the host can read this > $LAB/host-only.txt
start_container 7 unshare --mount --uts --fork sh
cat >&7 <<EOF
mount --make-rprivate /
hostname container
mount --bind $R $R
cd $R
mkdir -p .old_root
pivot_root . .old_root
mount -t proc proc /proc
umount -l /.old_root
rmdir /.old_root
cd /
exec sh
EOF
P=$(container_pid)
for i in $(seq 300); do   # until it has typed everything up to `exec sh`
  grep -q ' - proc ' /proc/$P/mountinfo 2>/dev/null && ! grep -q old_root /proc/$P/mountinfo &&
    [ ! -e /proc/$P/root/.old_root ] && break
  sleep 0.1
done
check mount-namespace unshare-pivot_root 0
reset_lesson mount-namespace
stop_container 7

start_container 7 chroot $R sh            # no namespace at all: chroot only
container_pid >/dev/null
check mount-namespace chroot-no-namespace 1
reset_lesson mount-namespace
stop_container 7

# ---------------------------------------------------------------- PID namespace
start_container 7 unshare --mount --uts --ipc --pid --fork --mount-proc=$R/proc chroot $R sh
container_pid >/dev/null
check pid-namespace unshare-pid-mount-proc 0
reset_lesson pid-namespace
stop_container 7

start_container 7 unshare --mount --fork --mount-proc=$R/proc chroot $R sh   # no --pid
container_pid >/dev/null
check pid-namespace no-pid-namespace 1
reset_lesson pid-namespace
stop_container 7

# ---------------------------------------------------------------- network namespace
start_container 7 unshare --mount --uts --ipc --pid --net --fork --mount-proc=$R/proc chroot $R sh
container_pid >/dev/null
check network-namespace unshare-net 0
reset_lesson network-namespace
stop_container 7

start_container 7 unshare --mount --pid --fork --mount-proc=$R/proc chroot $R sh   # no --net
container_pid >/dev/null
check network-namespace no-net-namespace 1
reset_lesson network-namespace
stop_container 7

# ---------------------------------------------------------------- veth, bridge, routes
# The subnet the lesson picked on this machine, as `show network` prints it (10.99.0 when free).
NET=$($CL show network | sed -n 's#^ip addr add \([0-9.]*\)\.1/[0-9]* dev clbr0.*#\1#p' | head -1)
NET=${NET:-10.99.0}
plug() {                         # plug PID N: clvethN from the bridge into the container
  ip link add clveth$2 type veth peer name eth0 netns $1
  ip link set clveth$2 master clbr0 up
  nsenter -t $1 -n ip link set lo up
  nsenter -t $1 -n ip addr add $NET.$(($2 + 2))/24 dev eth0
  nsenter -t $1 -n ip link set eth0 up
  nsenter -t $1 -n ip route add default via $NET.1
}
ip link add clbr0 type bridge
ip addr add $NET.1/24 dev clbr0
ip link set clbr0 up
start_container 7 unshare --mount --uts --ipc --pid --net --fork --mount-proc=$R/proc chroot $R sh
A=$(container_pid)
plug $A 0
start_container 8 unshare --mount --uts --ipc --pid --net --fork --mount-proc=$R/proc chroot $R sh
B=$(container_pid $A)
plug $B 1
check network bridge-two-containers 0
nsenter -t $A -n ip route del default
check network no-default-route 1
reset_lesson network
stop_container 7
stop_container 8

# ---------------------------------------------------------------- image layers
$CL demo-image >$OUT 2>&1 || result 7 demo-image 0 $?
$CL import $LAB/image-src/web-oci --name web >$OUT 2>&1 || result 7 import 0 $?
cd $LAB/layers
TOP=$(sed -n 's/.*"top": *"\([^"]*\)".*/\1/p' $LAB/images/web.json)
mkdir -p web1-init/diff/etc web1/diff web1/work web1/merged
echo web1 > web1-init/diff/etc/hostname
LOWER=$PWD/l/$(cat $TOP/link):$(sed "s#l/#$PWD/l/#g" $TOP/lower)
mount -t overlay overlay -o lowerdir=$PWD/web1-init/diff:$LOWER,upperdir=$PWD/web1/diff,workdir=$PWD/web1/work $PWD/web1/merged
cd /
check layers mounted-no-deletion-yet 1
rm $LAB/layers/web1/merged/srv/www/index.html
check layers mount-by-hand-and-rm 0
reset_lesson layers

# ---------------------------------------------------------------- nothing left behind
left=$(
  awk -v lab="$LAB/" 'index($5, lab) == 1 {print "mount " $5}' /proc/self/mountinfo
  [ -e $G ] && echo "cgroup $G"
  ip -o link show | awk -F': ' '$2 ~ /^(clbr0|clveth)/ {print "link " $2}'
  for p in /proc/[0-9]*; do [ -e $p/root/.container-lessons-rootfs ] && echo "process ${p#/proc/}"; done
)
if [ -z "$left" ]; then
  echo "VM-CASE all nothing-left-behind PASS (left: nothing)" | tee -a /tmp/vm-results
else
  echo "VM-CASE all nothing-left-behind FAIL (left: $(echo $left))" | tee -a /tmp/vm-results
fi
echo VM-CASES-DONE >>/tmp/vm-results
