#!/bin/bash
# The test:vm cases, run by init.sh inside the guest as root. First `doctor` and
# `solve all`, then every lesson done by hand with shell tools, as its text tells a learner
# (lessons/*.md, `container-lessons show ID`), and once in a wrong state; each followed by
# `container-lessons check ID --json` and `reset ID`. Lessons are named by id, so a new
# lesson in between changes nothing here; test/unit/curriculum.test.ts fails for a lesson
# that has no case of each kind (`check ID NAME 0`, `check ID NAME 1 'TITLE'`: the title of
# the check that must fail). One line per case:
#   VM-CASE <lesson> <name> PASS|FAIL (expected exit X, got Y; ...)
# followed, on FAIL, by what the check reported (or the command's output).
CL=container-lessons
LAB=$CONTAINER_LESSONS_HOME
R=$LAB/rootfs                 # the lab's root filesystem (lessons 3-7), prebuilt by the host
CGROUP=$(cat /vm/cgroup)      # v2 or v1: how init.sh mounted /sys/fs/cgroup
OUT=/tmp/cl-out
uptime_s() { local u _; read -r u _ </proc/uptime; echo "$u"; }

# result LESSON NAME EXPECTED GOT: the case's line (and the output when it failed), for the
# cases judged by an exit code alone (solve all, the core, reset, import)
result() {
  local verdict=PASS
  [ "$3" = "$4" ] || verdict=FAIL
  echo "VM-CASE $1 $2 $verdict (expected exit $3, got $4)" | tee -a /tmp/vm-results
  [ $verdict = PASS ] || sed 's/^/    | /' $OUT
}

# picture ID NAME REGEX...: `container-lessons picture ID` (the lesson's picture, drawn from
# the kernel on this cgroup layout) must show a line matching each extended REGEX
picture() {
  local id=$1 name=$2 re missing=""
  shift 2
  LANG=C.UTF-8 timeout 60 $CL picture "$id" >$OUT 2>&1
  for re in "$@"; do grep -Eq -- "$re" $OUT || missing="$missing '$re'"; done
  if [ -z "$missing" ]; then
    echo "VM-CASE $id picture-$name PASS" | tee -a /tmp/vm-results
  else
    echo "VM-CASE $id picture-$name FAIL (no line matches$missing)" | tee -a /tmp/vm-results
    sed 's/^/    | /' $OUT
  fi
}

# check ID NAME EXPECTED [TITLE]: `container-lessons check ID --json`, judged by its exit
# code and its report. A by-hand case (0) needs exit 0 and "passed": true. A wrong-state
# case (1) names the check that must fail, by its title (the lesson's CHECKS): it needs exit 1
# and that check's status "fail", so a check that could not run (an error, no JSON, another
# check failing first) is no pass. Every container started for the case (start_container)
# must have been seen running (container_up) and still be there when the check runs.
check() {
  local id=$1 name=$2 expected=$3 title=$4 fd rc verdict detail
  if [ "$expected" = 1 ] && [ -z "$title" ]; then
    echo "VM-CASE $id $name FAIL (a wrong-state case names the check that must fail: check ID NAME 1 'TITLE')" | tee -a /tmp/vm-results
    return
  fi
  for fd in "${!BG[@]}"; do
    if [ -z "${UP[$fd]}" ]; then
      detail="the container never started: ${CMD[$fd]}"
    elif [ ! -d "/proc/${UP[$fd]}" ]; then
      detail="the container (pid ${UP[$fd]}) ended before the check: ${CMD[$fd]}"
    else
      continue
    fi
    echo "VM-CASE $id $name FAIL (expected exit $expected, not checked: $detail)" | tee -a /tmp/vm-results
    echo "    | its output (/tmp/container$fd.log):"
    sed 's/^/    | /' "/tmp/container$fd.log" 2>/dev/null
    return
  done
  timeout 300 $CL check "$id" --json >$OUT 2>$OUT.err
  rc=$?
  # The report, read by node (no jq in the guest): the first line is the case's detail, the
  # others one line per check; exit 0 when the report is what the case expects.
  node -e '
const [file, id, expected, rc, title] = process.argv.slice(1);
const q = (c) => `"${c.title}": ${c.reason}`;
let r;
try {
  r = JSON.parse(require("fs").readFileSync(file, "utf8"));
} catch (e) {
  console.log(`got ${rc}; no report on stdout (${String(e.message).split("\n")[0]})`);
  process.exit(1);
}
const checks = Array.isArray(r.checks) ? r.checks : [];
const failed = checks.filter((c) => c.status === "fail");
const named = checks.find((c) => c.title === title);
let ok, detail;
if (r.id !== id) [ok, detail] = [false, `got ${rc}; the report is of lesson ${r.id}`];
else if (expected === "0") [ok, detail] = [rc === "0" && r.passed === true, rc === "0" && r.passed === true ? "got 0; passed" : `got ${rc}; passed: ${r.passed}; failed: ${failed.map(q).join("; ") || "none"}`];
else if (rc === "1" && r.passed === false && named?.status === "fail") [ok, detail] = [true, `got 1; "${title}" failed`];
else [ok, detail] = [false, `got ${rc}; passed: ${r.passed}; "${title}" ${named ? named.status : "not in the report"}; failed: ${failed.map(q).join("; ") || "none"}`];
console.log(detail);
for (const c of checks) console.log(`${c.status} ${q(c)}`);
process.exit(ok ? 0 : 1);
' $OUT "$id" "$expected" "$rc" "$title" >$OUT.judged 2>&1
  if [ $? = 0 ]; then verdict=PASS; else verdict=FAIL; fi
  detail=$(head -1 $OUT.judged)
  if [ "$expected" = 1 ]; then
    echo "VM-CASE $id $name $verdict (expected exit 1 with \"$title\" failing, $detail)"
  else
    echo "VM-CASE $id $name $verdict (expected exit 0, $detail)"
  fi | tee -a /tmp/vm-results
  if [ $verdict = FAIL ]; then
    tail -n +2 $OUT.judged | sed 's/^/    | /'
    sed 's/^/    | stderr: /' $OUT.err
  fi
}
# reset ID: must exit 0; a line only when it does not
reset_lesson() {
  timeout 300 $CL reset "$1" >$OUT 2>&1
  local rc=$?
  [ $rc = 0 ] || result "$1" reset 0 $rc
}

# A learner's shell left running in a second terminal: CMD in the background, its stdin a
# fifo held open on FD (writing to FD types into it; closing FD is Ctrl-D). container_up FD
# then waits for it; a check while a container on some FD was never seen running fails.
declare -A BG CMD UP
start_container() {
  local fd=$1
  shift
  rm -f /tmp/fifo$fd && mkfifo /tmp/fifo$fd
  # (a subshell that outlives CMD, its stderr aside: no "Killed" job notice when reset ends CMD)
  ( "$@" </tmp/fifo$fd >/tmp/container$fd.log 2>&1; : ) 2>/dev/null &
  BG[$fd]=$!
  CMD[$fd]="$*"
  UP[$fd]=
  eval "exec $fd>/tmp/fifo$fd"
}
stop_container() {
  eval "exec $1>&-"
  wait "${BG[$1]}" 2>/dev/null
  unset "BG[$1]" "CMD[$1]" "UP[$1]"
}
# descends PID ANCESTOR: PID is ANCESTOR or one of its descendants
descends() {
  local p=$1 k v
  while [ -n "$p" ] && [ "$p" -gt 1 ]; do
    [ "$p" = "$2" ] && return 0
    v=
    while read -r k v; do [ "$k" = PPid: ] && break; done 2>/dev/null <"/proc/$p/status"
    p=$v
  done
  return 1
}
# container_up FD: waits up to 30 s for the container started on FD: a `sh` started by it
# whose root is the rootfs. Its host pid goes into CPID and UP[FD]; when none comes, a
# VM-NOTE with the container's output, and status 1.
container_up() {
  local fd=$1 i p comm
  CPID=
  for i in $(seq 300); do
    for p in /proc/[0-9]*; do
      [ -e $p/root/.container-lessons-rootfs ] || continue
      comm=
      read -r comm 2>/dev/null <$p/comm
      p=${p#/proc/}
      if [ "$comm" = sh ] && descends "$p" "${BG[$fd]}"; then
        CPID=$p
        UP[$fd]=$p
        return 0
      fi
    done
    sleep 0.1
  done
  echo "VM-NOTE the container on fd $fd never started (${CMD[$fd]}): $(cat /tmp/container$fd.log 2>/dev/null)"
  return 1
}

# ---------------------------------------------------------------- the leak guard
# The test suite's own guard (test/support/kernel-state.mjs): a snapshot now, compared with
# one after every case ("nothing left behind" below). First it must catch one object of
# each kind left on purpose, a group at the top of the cgroup hierarchy among them, and
# see nothing once they are gone.
KS="node /vm/kernel-state.mjs"
$KS save /tmp/kernel-before.json
guard_selftest() {
  local top ctl dir=/tmp/cl-guard-mnt
  # v1: cpu is a link to the hierarchy (cpu,cpuacct), whose real path the guard prints.
  if [ "$CGROUP" = v2 ]; then top=/sys/fs/cgroup; else top=$(readlink -f /sys/fs/cgroup/cpu); fi
  mkdir $top/cl-guard || return 1
  ctl=""
  if [ "$CGROUP" = v2 ]; then   # a controller the root offers and does not yet pass down
    for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
      grep -qw "$c" /sys/fs/cgroup/cgroup.subtree_control || { ctl=$c; break; }
    done
    [ -n "$ctl" ] && echo "+$ctl" > /sys/fs/cgroup/cgroup.subtree_control
  fi
  mkdir -p $dir && mount -t tmpfs cl-guard $dir
  ip link add clguard0 type veth peer name clguard1
  env CONTAINER_LESSONS_TAG=guard sleep 300 &
  local sleeper=$!
  $KS diff /tmp/kernel-before.json >$OUT.guard 2>&1
  local caught=$?
  kill $sleeper; wait $sleeper 2>/dev/null
  ip link del clguard0
  umount $dir && rmdir $dir
  [ -n "$ctl" ] && echo "-$ctl" > /sys/fs/cgroup/cgroup.subtree_control
  rmdir $top/cl-guard
  cat $OUT.guard
  [ $caught = 1 ] || { echo "the guard saw nothing"; return 1; }
  for want in "+ $top/cl-guard" "+ $dir tmpfs cl-guard" "+ clguard0 " "sleep (the project's)"; do
    grep -qF -- "$want" $OUT.guard || { echo "the guard missed: $want"; return 1; }
  done
  if [ -n "$ctl" ]; then grep -q -- "^  + /sys/fs/cgroup: .*$ctl" $OUT.guard || { echo "the guard missed: +$ctl in subtree_control"; return 1; }; fi
  $KS diff /tmp/kernel-before.json || { echo "the guard still sees the above after everything was removed"; return 1; }
}
guard_selftest >$OUT 2>&1
result core leak-guard-self-test 0 $?

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
# The core's group on the memory and pids controllers on this layout (limits written and
# read back, a process in it, its counters), then removed with the controllers it enabled.
# Lesson 8 (memory-pids, its cases below) stands on it.
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
check overlay lowerdir-swapped 1 'lowerdir lists the top layer first'
reset_lesson overlay

# ---------------------------------------------------------------- cgroup CPU limit
CPU_ENABLED=""
if [ "$CGROUP" = v2 ]; then
  G=/sys/fs/cgroup/container
  grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control || { echo +cpu > /sys/fs/cgroup/cgroup.subtree_control; CPU_ENABLED=1; }
  quota() { echo "$1 100000" > $G/cpu.max; }
else
  G=/sys/fs/cgroup/cpu/container
  quota() { echo 100000 > $G/cpu.cfs_period_us; echo "$1" > $G/cpu.cfs_quota_us; }
fi
l2_group() {                     # l2_group QUOTA: the group, the quota, a busy loop in it
  mkdir $G
  quota "$1"
  # The loop moves itself in before it spins, and ends by itself within a minute.
  timeout 60 sh -c "echo \$\$ > $G/cgroup.procs && while : ; do : ; done" &
  LOOP=$!
  sleep 0.2
}
l2_group 20000
check cgroup-cpu quota-20000 0
picture cgroup-cpu quota-20000 'now (1[5-9]|2[0-5]) %' 'under the quota: (1[5-9]|2[0-5]) %'
reset_lesson cgroup-cpu                   # moves the loop out (it is the learner's), so kill it too
kill $LOOP; wait $LOOP 2>/dev/null

l2_group 50000
check cgroup-cpu quota-50000 1 'quota 20000 per period 100000'
reset_lesson cgroup-cpu
kill $LOOP; wait $LOOP 2>/dev/null
[ -n "$CPU_ENABLED" ] && echo -cpu > /sys/fs/cgroup/cgroup.subtree_control   # as the learner found it

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
container_up 7 && P=$CPID && for i in $(seq 300); do   # until it has typed everything up to `exec sh`
  grep -q ' - proc ' /proc/$P/mountinfo 2>/dev/null && ! grep -q old_root /proc/$P/mountinfo &&
    [ ! -e /proc/$P/root/.old_root ] && break
  sleep 0.1
done
check mount-namespace unshare-pivot_root 0
reset_lesson mount-namespace
stop_container 7

start_container 7 chroot $R sh            # no namespace at all: chroot only
container_up 7
check mount-namespace chroot-no-namespace 1 'its own mount namespace'
reset_lesson mount-namespace
stop_container 7

# ---------------------------------------------------------------- PID namespace
start_container 7 unshare --mount --uts --ipc --pid --fork --mount-proc=$R/proc chroot $R sh
container_up 7
check pid-namespace unshare-pid-mount-proc 0
reset_lesson pid-namespace
stop_container 7

start_container 7 unshare --mount --fork --mount-proc=$R/proc chroot $R sh   # no --pid
container_up 7
check pid-namespace no-pid-namespace 1 'its own PID namespace'
reset_lesson pid-namespace
stop_container 7

# ---------------------------------------------------------------- network namespace
start_container 7 unshare --mount --uts --ipc --pid --net --fork --mount-proc=$R/proc chroot $R sh
container_up 7
check network-namespace unshare-net 0
reset_lesson network-namespace
stop_container 7

start_container 7 unshare --mount --pid --fork --mount-proc=$R/proc chroot $R sh   # no --net
container_up 7
check network-namespace no-net-namespace 1 'its own network namespace'
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
A=
container_up 7 && A=$CPID && plug $A 0
start_container 8 unshare --mount --uts --ipc --pid --net --fork --mount-proc=$R/proc chroot $R sh
container_up 8 && plug $CPID 1
check network bridge-two-containers 0
[ -n "$A" ] && nsenter -t $A -n ip route del default
check network no-default-route 1 'the container: links up, lo, address, default route'
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
check layers mounted-no-deletion-yet 1 'a deletion is a whiteout in upper'
rm $LAB/layers/web1/merged/srv/www/index.html
check layers rm-no-commit-yet 1 'a commit is a layer of upper alone, named by its chain id'
# The container's shell as the text starts it, fed what a learner types inside: a write.
printf '%s\n' hostname "echo 'made in the container' > /srv/www/new.html" exit |
  unshare --mount --uts --ipc --pid --fork --mount-proc=$LAB/layers/web1/merged/proc \
  chroot $LAB/layers/web1/merged sh -c 'hostname "$(cat /etc/hostname)"; exec sh' >$OUT 2>&1
[ "$(cat $OUT)" = web1 ] || result 7 container-shell-says-web1 0 1
# The commit, as the text writes it.
cd $LAB/layers
TOP=$(grep -o '"top": "[^"]*"' $LAB/images/web.json | cut -d'"' -f4)
tar -C web1/diff -cf web1.tar --sort=name --format=posix --numeric-owner \
  --pax-option=delete=atime,delete=ctime --xattrs \
  --xattrs-include=trusted.overlay.opaque --xattrs-include=security.capability .
DIFFID=sha256:$(sha256sum < web1.tar | cut -c1-64)
NEW=$(printf 'sha256:%s %s' $TOP $DIFFID | sha256sum | cut -c1-64)
mkdir -p $NEW/diff $NEW/work
tar -C $NEW/diff -xf web1.tar --xattrs \
  --xattrs-include=trusted.overlay.opaque --xattrs-include=security.capability
rm web1.tar
SHORT=$(tr -dc A-Z2-7 < /dev/urandom | head -c 26)
printf %s $SHORT > $NEW/link
ln -s ../$NEW/diff l/$SHORT
printf %s "l/$(cat $TOP/link):$(cat $TOP/lower)" > $NEW/lower
cd /
check layers commit-by-hand 0
ln -sfn ../$NEW/dif $LAB/layers/l/$SHORT           # a typo: the l/ link dangles
check layers commit-l-link-dangling 1 'a commit is a layer of upper alone, named by its chain id'
ln -sfn ../$NEW/diff $LAB/layers/l/$SHORT
rm $LAB/layers/$NEW/diff/srv/www/index.html && touch $LAB/layers/$NEW/diff/srv/www/index.html
check layers commit-whiteout-as-file 1 'a commit is a layer of upper alone, named by its chain id'
reset_lesson layers
[ ! -e $LAB/layers/$NEW ] || result 7 reset-removes-the-commit 0 1

# ---------------------------------------------------------------- run: the reference runtime
# `container-lessons run IMAGE CMD` (the capstone's interface) on this guest's cgroup layout:
# the command's exit code, the quota in its group's file, the hog (at most 128 MiB) OOM-killed
# under --memory, a fork loop (at most 20 sleeps of 30 s, ended with their PID namespace)
# stopped by --pids, SIGTERM, and no container directory left (the final diff covers the rest).
$CL demo-image >$OUT 2>&1 && $CL import $LAB/image-src/web-oci --name rt >$OUT 2>&1 || result run import 0 1
$CL run rt sh -c 'cat /etc/motd >/dev/null; exit 7' >$OUT 2>&1
result run exit-code 7 $?
# (stdout alone: the pipeline's "Killed" and broken pipes go to stderr)
# (the hog's processes first in the OOM killer's choice: a second victim, taken before the
# first's memory is freed, was once the container's PID 1)
$CL run --memory 32m rt sh -c "(echo 1000 > /proc/self/oom_score_adj; yes | tr -d '\\n' | head -c 128M | tail) | wc -c" >$OUT 2>$OUT.err
RT_RC=$?
[ "$(cat $OUT)" = 0 ] && [ $RT_RC = 0 ]
RT_OK=$?
[ $RT_OK = 0 ] || { echo "VM-NOTE run --memory 32m: exit $RT_RC, output: $(tr '\n' ' ' <$OUT) / $(tr '\n' ' ' <$OUT.err)"; dmesg | grep -iE 'oom|killed process|memory cgroup' | tail -6 | sed 's/^/VM-NOTE   /'; }
result run memory-enforced 0 $RT_OK
$CL run --pids 8 rt sh -c 'for i in $(seq 20); do sleep 30 & echo started; done 2>/dev/null' >$OUT 2>$OUT.err
RT_N=$(grep -c started $OUT)
[ "$RT_N" -gt 0 ] && [ "$RT_N" -lt 8 ]
result run pids-enforced 0 $?
$CL run --cpus 0.5 rt sh -c 'sleep 30; exit 0' >$OUT 2>&1 &
RT_PID=$!
RT_QUOTA=""
for i in $(seq 100); do
  if [ "$CGROUP" = v2 ]; then RT_QUOTA=$(cat /sys/fs/cgroup/container-lessons-run-$RT_PID/cpu.max 2>/dev/null)
  else RT_QUOTA=$(cat /sys/fs/cgroup/cpu/container-lessons-run-$RT_PID/cpu.cfs_quota_us 2>/dev/null); fi
  [ -n "$RT_QUOTA" ] && break
  sleep 0.1
done
case "$RT_QUOTA" in "50000 100000" | 50000) RT_OK=0 ;; *) RT_OK=1; echo "quota read: '$RT_QUOTA'" >>$OUT ;; esac
kill -TERM $RT_PID; wait $RT_PID
result run sigterm-exits-143 143 $?
result run cpu-quota 0 $RT_OK
[ -z "$(ls -A $LAB/containers 2>/dev/null)" ]
result run nothing-left 0 $?
reset_lesson layers

# ---------------------------------------------------------------- memory and pids limits
# As lessons/08-memory-pids.md tells a learner: the group, a shell that joins it and becomes
# the container, the hog and the bomb typed into the container's shell (so they run in the
# group, never on the host), the counters read on the host. The hog allocates at most
# 128 MiB; the bomb is at most 127 shells and 63 sleeps, all ended within about 20 s;
# l8_empty kills what is left.
L8_ENABLED=""
if [ "$CGROUP" = v2 ]; then
  M=/sys/fs/cgroup/container; P=$M
  for c in memory pids; do
    grep -qw $c /sys/fs/cgroup/cgroup.subtree_control || { echo +$c > /sys/fs/cgroup/cgroup.subtree_control; L8_ENABLED="$L8_ENABLED $c"; }
  done
  MEMMAX=$M/memory.max; SWAPMAX=$M/memory.swap.max; NOLIMIT=max
else
  M=/sys/fs/cgroup/memory/container; P=/sys/fs/cgroup/pids/container
  MEMMAX=$M/memory.limit_in_bytes; SWAPMAX=$M/memory.memsw.limit_in_bytes; NOLIMIT=-1
fi
l8_group() {                     # l8_group LIMIT: the group, LIMIT as its memory limit, no swap, 20 tasks
  mkdir -p $M $P
  echo "$1" > $MEMMAX
  if [ "$1" != "$NOLIMIT" ] && [ -e $SWAPMAX ]; then
    if [ "$CGROUP" = v2 ]; then echo 0 > $SWAPMAX; else echo "$1" > $SWAPMAX; fi
  fi
  echo 20 > $P/pids.max
}
l8_container() {                 # the container's shell on fd 7, in the group from its first instruction
  start_container 7 sh -c "echo \$\$ > $M/cgroup.procs && echo \$\$ > $P/cgroup.procs && exec unshare --mount --uts --ipc --pid --fork --mount-proc=$R/proc chroot $R sh"
  container_up 7
}
l8_hog() {                       # typed into the container's shell; waits for wc's count (0: tail killed)
  echo "yes | tr -d '\\n' | head -c 128M | tail | wc -c; echo hog-done" >&7
  for i in $(seq 300); do grep -q hog-done /tmp/container7.log && return 0; sleep 0.1; done
  echo "VM-NOTE the hog did not end: $(cat /tmp/container7.log)"
}
l8_bomb() {                      # typed into the container's shell; waits for the first refused fork
  echo 'bomb() { [ $1 -gt 0 ] && bomb $(($1 - 1)) | bomb $(($1 - 1)) | sleep 20; }; (bomb 6)' >&7
  for i in $(seq 200); do grep -q '^max [1-9]' $P/pids.events && break; sleep 0.1; done
}
l8_empty() {                     # kill everything in the group but the container's shell ($1), until none is left
  local i p left
  for i in $(seq 50); do
    left=
    for p in $(cat $P/cgroup.procs); do [ "$p" = "$1" ] || { kill -9 $p 2>/dev/null; left=1; }; done
    [ -z "$left" ] && return 0
    sleep 0.1
  done
}

l8_group 64M
l8_container && L8_SH=$CPID
l8_hog
l8_bomb
l8_empty "$L8_SH"
check memory-pids by-hand 0
picture memory-pids by-hand "of 64.0 MiB" 'OOM kills: [1-9]' 'forks refused: [1-9]' "$([ "$CGROUP" = v2 ] && echo 'memory.current of memory.max' || echo 'memory.usage_in_bytes of memory.limit_in_bytes')"
reset_lesson memory-pids
stop_container 7

l8_group $NOLIMIT                # a limit of max: no limit at all (the hog is not run)
l8_container
check memory-pids limit-max 1 'memory limit 64 MiB'
reset_lesson memory-pids
stop_container 7

l8_group $NOLIMIT                # the limit written one directory up: the root group takes none
{ echo 64M > $(dirname $M)/$(basename $MEMMAX); } 2>/dev/null && echo "VM-NOTE the root group took a memory limit"
l8_container
check memory-pids limit-on-parent 1 'memory limit 64 MiB'
reset_lesson memory-pids
stop_container 7

# The hog started outside the group: in a limited group of its own (never unlimited), so
# "container" counts no OOM kill.
if [ "$CGROUP" = v2 ]; then E=/sys/fs/cgroup/cl-elsewhere; else E=/sys/fs/cgroup/memory/cl-elsewhere; fi
l8_group 64M
l8_container && L8_SH=$CPID
l8_bomb
l8_empty "$L8_SH"
mkdir $E && echo 64M > $E/$(basename $MEMMAX)
[ -e $E/$(basename $SWAPMAX) ] && { if [ "$CGROUP" = v2 ]; then echo 0; else echo 64M; fi; } > $E/$(basename $SWAPMAX)
timeout 60 sh -c "echo \$\$ > $E/cgroup.procs && exec chroot $R sh -c \"yes | tr -d '\\\\n' | head -c 128M | tail | wc -c\"" >$OUT 2>&1
grep -q oom_kill.1 $E/$( [ "$CGROUP" = v2 ] && echo memory.events || echo memory.oom_control) || echo "VM-NOTE the hog elsewhere was not killed: $(cat $OUT)"
rmdir $E
check memory-pids hog-outside-the-group 1 'the kernel OOM-killed a process of the group, within the limit'
reset_lesson memory-pids
stop_container 7

# Swap on (a zram device: compressed, in the guest's own memory, 128 MiB at most). With the
# group's swap held, the hog is still killed; with it left unlimited, the hog swaps instead
# and nothing is killed. The hog stays bounded by its own 128 MiB.
BB=/vm/busybox
if [ -e /sys/block/zram0 ] && echo 128M > /sys/block/zram0/disksize && $BB mkswap /dev/zram0 >/dev/null && $BB swapon /dev/zram0; then
  l8_group 64M
  l8_container && L8_SH=$CPID
  l8_hog
  l8_bomb
  l8_empty "$L8_SH"
  check memory-pids by-hand-with-swap 0
  reset_lesson memory-pids
  stop_container 7

  l8_group 64M
  if [ "$CGROUP" = v2 ]; then echo max > $SWAPMAX; else echo -1 > $SWAPMAX; fi   # swap left unlimited
  l8_container && L8_SH=$CPID
  l8_hog
  grep -q '^134217728$' /tmp/container7.log || echo "VM-NOTE the hog with unlimited swap did not get through: $(cat /tmp/container7.log)"
  check memory-pids swap-unlimited 1 'no swap beyond the limit'
  reset_lesson memory-pids
  stop_container 7
  $BB swapoff /dev/zram0 && echo 1 > /sys/block/zram0/reset
else
  echo "VM-NOTE no zram swap in this guest: the cases with swap on did not run"
fi
for c in $L8_ENABLED; do echo -$c > /sys/fs/cgroup/cgroup.subtree_control; done   # as the learner found it

# ---------------------------------------------------------------- the other namespaces: user (rootless), cgroup, time, IPC
# The uid the lesson runs its rootless container as (no SUDO_USER here: an id no passwd or
# group entry uses), as `show other-namespaces` prints it.
U=$($CL show other-namespaces | sed -n 's/.*setpriv --reuid \([0-9]*\) .*/\1/p' | head -1)
U=${U:-20000}
rootless() {                     # rootless [UNSHARE OPTION...]: the lesson's container, as uid U
  start_container 7 setpriv --reuid "$U" --regid "$U" --clear-groups unshare --user --map-root-user \
    --mount --uts --ipc --pid --net --cgroup "$@" --fork --mount-proc=$R/proc chroot $R sh
}
queue() { nsenter --target "$CPID" --ipc ipcmk -Q >/dev/null; }   # a message queue inside
rootless --time --boottime 86400
container_up 7 && queue
check other-namespaces rootless-container 0
reset_lesson other-namespaces
stop_container 7

rootless --time                  # a time namespace, but no offset written
container_up 7 && queue
check other-namespaces time-without-offset 1 'a time namespace with a boottime offset'
reset_lesson other-namespaces
stop_container 7

# made by root with --map-root-user: uid_map "0 0 1", root inside is the host's root
start_container 7 unshare --user --map-root-user --mount --uts --ipc --pid --net --cgroup --time --boottime 86400 \
  --fork --mount-proc=$R/proc chroot $R sh
container_up 7 && queue
check other-namespaces root-maps-to-root 1 'root inside maps to an unprivileged uid'
reset_lesson other-namespaces
stop_container 7

# made by root without a map: uid 65534 inside (--root: chroot(1) would run without capabilities)
start_container 7 unshare --user --mount --uts --ipc --pid --net --cgroup --time --boottime 86400 \
  --fork --root=$R --mount-proc sh
container_up 7 && queue
check other-namespaces no-uid-map 1 'root inside maps to an unprivileged uid'
reset_lesson other-namespaces
stop_container 7

# ---------------------------------------------------------------- locking root in
# As lessons/10-locking-root-in.md tells a learner: a plain chroot (the check's escape reads
# the host's file from it), lesson 3's container with every capability, the same with
# setpriv's locks as its last step (no filter: this guest's setpriv is older than 2.41), and
# runc from the config.json its text shows, turned into a detached container.
echo only the host can read this > $LAB/host-secret.txt
start_container 7 chroot $R sh
container_up 7
check locking-root-in plain-chroot 1 'the chroot escape finds no host file'
reset_lesson locking-root-in
stop_container 7

l10_pivoted() {                  # lesson 3's container typed into fd 7, ending in `exec $*`
  start_container 7 unshare --mount --uts --ipc --pid --net --fork sh
  cat >&7 <<EOF
mount --make-rprivate /
hostname locked
mount --bind $R $R
cd $R
mkdir -p .old_root
pivot_root . .old_root
mount -t proc proc /proc
umount -l /.old_root
rmdir /.old_root
cd /
exec $*
EOF
  container_up 7
}
l10_settled() {                  # l10_settled PID PATTERN: until PID's status matches PATTERN
  for i in $(seq 300); do grep -q "$2" /proc/$1/status 2>/dev/null && return 0; sleep 0.1; done
  echo "VM-NOTE pid $1 never showed $2"
}
l10_pivoted sh && P=$CPID && for i in $(seq 300); do
  ! grep -q old_root /proc/$P/mountinfo 2>/dev/null && [ ! -e /proc/$P/root/.old_root ] && break
  sleep 0.1
done
check locking-root-in every-capability 1 "capabilities no wider than Docker's 14"
reset_lesson locking-root-in
stop_container 7

l10_pivoted setpriv --bounding-set -all,+chown,+dac_override,+fsetid,+fowner,+mknod,+net_raw,+setgid,+setuid,+setfcap,+setpcap,+net_bind_service,+sys_chroot,+kill,+audit_write --inh-caps -all --no-new-privs sh &&
  l10_settled $CPID '^NoNewPrivs:.1'
check locking-root-in setpriv-no-filter 1 "a seccomp filter refuses unshare and Docker's other refusals"
reset_lesson locking-root-in
stop_container 7

if command -v runc >/dev/null; then
  # The config.json as the text shows it (`show`), in the bundle, with no terminal and a
  # shell that waits: a detached container.
  # runc (its cgroup v2 manager) turns on every controller in cgroup.subtree_control from
  # the root down to the container's group, and `runc delete` leaves them on: the case
  # puts back what runc changed, as a learner's machine keeps it.
  L10_SUBTREE=$(cat /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null)
  mkdir -p $LAB/runc-bundle
  $CL show locking-root-in | node -e '
const text = require("fs").readFileSync(0, "utf8").split("\n");
const from = text.findIndex((l) => /config\.json <<.EOF.$/.test(l));
const to = text.findIndex((l, i) => i > from && l.trim() === "EOF");
const c = JSON.parse(text.slice(from + 1, to).join("\n"));
c.process.terminal = false;
c.process.args = ["sh", "-c", "while : ; do sleep 3600; done"];
require("fs").writeFileSync(process.argv[1], JSON.stringify(c));' $LAB/runc-bundle/config.json
  runc run --detach --bundle $LAB/runc-bundle container-lessons-locked </dev/null >$OUT 2>&1 ||
    echo "VM-NOTE runc run failed: $(cat $OUT)"
  check locking-root-in runc-config 0
  reset_lesson locking-root-in
  [ ! -e /run/runc/container-lessons-locked ] && [ ! -e $LAB/runc-bundle ] || result locking-root-in reset-deletes-the-runc-container 0 1
  if [ "$CGROUP" = v2 ]; then
    for c in $(cat /sys/fs/cgroup/cgroup.subtree_control); do
      case " $L10_SUBTREE " in *" $c "*) ;; *) echo "-$c" > /sys/fs/cgroup/cgroup.subtree_control ;; esac
    done
  fi
else
  echo "VM-NOTE no runc in the guest: the runc case is left out"
fi

# ---------------------------------------------------------------- capstone: the bash reference
# capstone/mydocker.sh on this cgroup layout, with a lab of its own (an image imported from
# the prebuilt rootfs): a container with every limit (its group's files read from here), the
# command as PID 1 in its own cgroup namespace, the hostname, SIGTERM; a hog OOM-killed;
# forks refused; eth0 on a bridge this case makes; exit codes; and nothing of it left. On v2
# it turns cpu, memory and pids on in the root's cgroup.subtree_control and leaves them on,
# as lesson 2 may: the case puts back what it changed.
capstone_case() (
  export CONTAINER_LESSONS_HOME=$LAB/capstone-lab CONTAINER_LESSONS_ROOTFS=$R
  local M=/opt/container-lessons/capstone/mydocker.sh H=$LAB/capstone-lab G P i out rc left run=""
  local probe='echo ready; while :; do sleep 1; done'
  bad() { echo "capstone: $*"; exit 1; }
  trap '[ -z "$run" ] || { kill -TERM $run; wait $run; }; ip link del capbr0 2>/dev/null' EXIT
  $CL demo-image >/dev/null && $CL import $H/image-src/web-oci --name web >/dev/null || bad "no image"
  out=$($M run web sh -c 'echo out; exit 7'); rc=$?
  [ $rc = 7 ] && [ "$out" = out ] || bad "exit 7: got $rc ($out)"
  $M run --name t1 --hostname h1 --cpus 0.5 --memory 32m --pids 16 web sh -c "$probe" >/tmp/cap1.out 2>&1 &
  run=$!
  for i in $(seq 300); do grep -q ready /tmp/cap1.out && break; sleep 0.1; done
  P=$(for p in /proc/[0-9]*; do [ "$(tr '\0' ' ' <$p/cmdline 2>/dev/null)" = "sh -c $probe " ] && echo ${p#/proc/}; done | head -1)
  [ -n "$P" ] || bad "no container: $(cat /tmp/cap1.out)"
  if [ "$CGROUP" = v2 ]; then
    G=/sys/fs/cgroup/mydocker-t1
    [ "$(cat $G/cpu.max)" = "50000 100000" ] && [ "$(cat $G/memory.max)" = 33554432 ] && [ "$(cat $G/pids.max)" = 16 ] || bad "v2 limits: $(cat $G/cpu.max $G/memory.max $G/pids.max)"
  else
    [ "$(cat /sys/fs/cgroup/cpu/mydocker-t1/cpu.cfs_quota_us)" = 50000 ] && [ "$(cat /sys/fs/cgroup/memory/mydocker-t1/memory.limit_in_bytes)" = 33554432 ] &&
      [ "$(cat /sys/fs/cgroup/pids/mydocker-t1/pids.max)" = 16 ] || bad "v1 limits"
  fi
  grep -q 'NSpid:.*[[:space:]]1$' /proc/$P/status || bad "not PID 1: $(grep NSpid /proc/$P/status)"
  [ "$(nsenter -t $P -u hostname)" = h1 ] || bad "hostname $(nsenter -t $P -u hostname)"
  nsenter -t $P -C cat /proc/$P/cgroup | grep -qv ':/$' && bad "its cgroup namespace: $(nsenter -t $P -C cat /proc/$P/cgroup)"
  kill -TERM $run; wait $run; rc=$?; run=""
  [ $rc = 143 ] || bad "SIGTERM: exit $rc"
  out=$($M run --memory 32m web sh -c "(echo 1000 >/proc/self/oom_score_adj; yes | tr -d '\n' | head -c 128M | tail >/dev/null); echo hog=\$?" 2>/dev/null)
  [ "$out" = hog=137 ] || bad "the hog: $out"
  out=$($M run --pids 8 web sh -c 'i=0; while [ $i -lt 20 ]; do sleep 1 & i=$((i+1)); done 2>&1; wait' 2>&1)
  echo "$out" | grep -qi fork || bad "forks not refused: $out"
  ip link add capbr0 type bridge && ip addr add 10.77.0.1/24 dev capbr0 && ip link set capbr0 up
  out=$(MYDOCKER_BRIDGE=capbr0 MYDOCKER_GATEWAY=10.77.0.1 $M run --ip 10.77.0.2/24 web sh -c 'ip -o addr show eth0; ip route' 2>&1)
  ip link del capbr0
  echo "$out" | grep -q 'inet 10.77.0.2/24' && echo "$out" | grep -q 'default via 10.77.0.1 dev eth0' || bad "--ip: $out"
  left=$(ls $H/containers; ls -d /sys/fs/cgroup/mydocker-* /sys/fs/cgroup/*/mydocker-* 2>/dev/null; ip -o link | grep mydocker)
  [ -z "$left" ] || bad "left behind: $left"
)
CAP_SUBTREE=$(cat /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null)
capstone_case >$OUT 2>&1
result capstone bash-reference 0 $?
if [ "$CGROUP" = v2 ]; then
  for c in $(cat /sys/fs/cgroup/cgroup.subtree_control); do
    case " $CAP_SUBTREE " in *" $c "*) ;; *) echo "-$c" > /sys/fs/cgroup/cgroup.subtree_control ;; esac
  done
fi
rm -rf $LAB/capstone-lab

# ---------------------------------------------------------------- capstone: the lesson
# Lesson 11 as a learner does it: `capstone init` writes the skeleton into the lab's
# mydocker/, the learner fills in every piece (the bash reference, what the TODOs ask for)
# and `check capstone` grades it with the whole suite on this layout. The wrong state: the
# reference with only its network piece open (the skeleton generator's --open), which must
# fail the network check. The suite puts back what the runtime turned on in the root's
# subtree_control (v2) by itself.
$CL capstone init >$OUT 2>&1 || result capstone init 0 $?
cp /opt/container-lessons/capstone/mydocker.sh $LAB/mydocker/mydocker.sh
check capstone pieces-filled-in 0
node /opt/container-lessons/scripts/capstone-skeleton.mjs --open network --out $LAB/mydocker/mydocker.sh >$OUT 2>&1 || result capstone network-open-made 0 $?
check capstone network-open 1 'with --ip: eth0 with that address, its peer on the bridge, a default route via the gateway'
reset_lesson capstone
rm -rf $LAB/mydocker $LAB/capstone

# ---------------------------------------------------------------- capstone: the runc peer
# The same suite against capstone/peers/runc-mydocker.sh (the interface on runc), where runc
# is installed: every check must pass on this layout too (what runc turns on in the root's
# subtree_control the suite puts back).
if command -v runc >/dev/null; then
  timeout 300 $CL check capstone --runtime /opt/container-lessons/capstone/peers/runc-mydocker.sh >$OUT 2>&1
  result capstone runc-peer-passes-the-suite 0 $?
  rm -rf $LAB/capstone
else
  echo "VM-NOTE capstone runc peer: skipped, runc is not installed in the guest"
fi

# ---------------------------------------------------------------- nothing left behind
# The leak guard's snapshot from before the first case against the machine now: mounts
# with their propagation, cgroups at every depth and subtree_control, processes, links,
# addresses, routes, network settings.
sleep 1                          # orphans of the last case reaped by init
$KS diff /tmp/kernel-before.json >$OUT 2>&1
result all nothing-left-behind 0 $?
echo VM-CASES-DONE >>/tmp/vm-results
