#!/bin/bash
# PID 1 of the test:vm guest (run by the initramfs's /init once the real root is /).
# Sets the machine up like a learner's VM, runs cases.sh, prints the verdict, powers off.
# Whatever happens, the last thing is `poweroff -f`; the host reads the serial log.
export PATH=/bin:/sbin HOME=/root TERM=dumb NO_COLOR=1 CONTAINER_LESSONS_HOME=/lab
BB=/vm/busybox
uptime_s() { local u _; read -r u _ </proc/uptime; echo "$u"; }

mount -t proc proc /proc
echo "VM-START $(cat /vm/kernel), cgroup $(cat /vm/cgroup)"
echo "VM-TIME boot-to-userspace $(uptime_s)s (guest uptime when init started)"
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /lab && mount -t tmpfs -o mode=755 lab /lab
hostname clvm
ip link set lo up

# cgroups: v2 alone (as on current distributions), or v1 only (one hierarchy per controller).
# v1 also mounts devices and freezer, as systemd does on a v1 machine: runc needs devices
# (lesson 10 and the capstone run it), the lessons need only the first three.
if [ "$(cat /vm/cgroup)" = v1 ]; then
  mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
  for c in cpu,cpuacct memory pids devices freezer; do
    mkdir /sys/fs/cgroup/$c && mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c
  done
  ln -s cpu,cpuacct /sys/fs/cgroup/cpu
  ln -s cpu,cpuacct /sys/fs/cgroup/cpuacct
else
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
fi

# Kernel modules, dependencies first (no modules.dep here: insmod each file).
while read -r m; do
  $BB insmod /vm/modules/$m.ko || echo "VM-NOTE insmod $m failed"
done </vm/modules.order

cp -a /lab-seed/rootfs /lab/rootfs

: >/tmp/vm-results
t0=$(uptime_s)
bash /vm/cases.sh
rc=$?
t1=$(uptime_s)

fails=$(grep -c ' FAIL ' /tmp/vm-results)
total=$(wc -l </tmp/vm-results)
grep -q '^VM-CASES-DONE' /tmp/vm-results || { echo "VM-NOTE cases.sh stopped early (exit $rc)"; fails=$((fails + 1)); }
echo "VM-TIME cases $(awk "BEGIN{print $t1 - $t0}")s, guest total $(uptime_s)s"
echo "VM-NOTE $((total - 1)) cases run"
if [ "$fails" -eq 0 ]; then
  echo "VM-VERDICT PASS"
else
  echo "VM-VERDICT FAIL $fails failures"
fi
$BB sync
$BB poweroff -f
