#!/usr/bin/env bash
#
# ==============================================================================================
# Generated from capstone/mydocker.sh by scripts/capstone-skeleton.mjs, with these pieces left
# for you to write: root, cgroup, namespaces, network, cleanup. Each says what it must do, which
# lesson teaches it and what shows it done in the kernel. Until it is written, root or
# namespaces stops mydocker (exit 125, "TODO: root ..."); any other piece is skipped with a
# note, and the container runs without it. Check your work with: sudo container-lessons check
# capstone --runtime ./mydocker.sh
# ==============================================================================================
# shellcheck disable=SC2034 # some variables are used only by the pieces left open
#
# mydocker: `docker run` in bash, made of the commands the lessons taught: mount, the cgroup
# files, unshare, pivot_root, ip and nsenter. Run it as root:
#
#   mydocker run [--name N] [--hostname H] [--cpus C] [--memory M] [--pids P]
#                [--ip ADDR/PREFIX] IMAGE CMD [ARG...]
#
# IMAGE is an image imported into the lab's layer store (lesson 7: `container-lessons import`).
# The environment says where things are:
#   CONTAINER_LESSONS_HOME  the lab: its layers/, images/ and the containers' own directories
#                           (default: ~/container-lessons of the user who ran sudo)
#   MYDOCKER_BRIDGE         with --ip: the bridge to plug the container into (lesson 6's)
#   MYDOCKER_GATEWAY        with --ip: the bridge's address, the container's default route
# mydocker exits with CMD's code (128+n when CMD dies of signal n), and 125 when it could not
# start the container; SIGINT or SIGTERM stops the container. When mydocker has exited,
# nothing of the container is left.
#
# How it runs: three processes, one after the other in a chain.
#
#   mydocker run        this script, on the host: checks the arguments, makes the container's
#    |                  directories and cgroup, starts the rest, plugs in the network, waits
#    +- unshare         util-linux unshare, already in the cgroup: makes the new namespaces,
#       = mydocker init then runs this script again in them (the same process): it starts
#        |              PID 1, waits for it and exits with its status
#        +- PID 1       of the new PID namespace (a subshell of mydocker init): mounts the
#                       overlay, /proc and /dev, pivot_root, then exec CMD (still PID 1)
#
# (runc works the same way: it re-executes itself as `runc init` inside the new namespaces.)
#
# Each piece a lesson taught sits between a line "# --- BEGIN <piece> (<lessons>) ---" and
# a line "# --- END <piece> ---". Its lines starting with `##` say what it must do and where
# the kernel shows it done.
# capstone/skeleton/mydocker.sh is this file with every piece but args emptied (made by
# scripts/capstone-skeleton.mjs): that is the learner's starting point.
set -u

# The CFS period: --cpus C is a quota of C periods in every period (lesson 2).
readonly PERIOD=100000

# What the pieces hand to each other. They are set here, empty, so that a piece left out of
# the skeleton leaves them empty rather than unset.
LAB=""            # the lab: $CONTAINER_LESSONS_HOME
NAME=""           # --name
HOST=""           # --hostname (default: the name)
CPU_QUOTA=""      # --cpus, as microseconds per PERIOD
MEMORY_BYTES=""   # --memory, in bytes
PIDS=""           # --pids
IP=""             # --ip ADDR/PREFIX
BRIDGE=""         # $MYDOCKER_BRIDGE
GATEWAY=""        # $MYDOCKER_GATEWAY
IMAGE=""          # the image's name
IMAGE_TOP=""      # the directory name of the image's top layer in $LAB/layers
CMD=()            # the command and its arguments
CDIR=""           # the container's directory: $LAB/containers/$NAME
CDIR_MADE=0       # 1 once this run made $CDIR (only then does cleanup remove it)
LOWERDIRS=""      # the overlay's lowerdir=, top first
CGROUP_DIRS=()    # the cgroup directories made for the container
UNSHARE_FLAGS=()  # the namespaces the container gets
VETH=""           # the host's end of the container's veth pair
CONTAINER_PID=""  # unshare, then mydocker init: in the container's namespaces, PID 1's parent
READY=""          # the file descriptor that tells the container to go on
TODO_SAID=""      # the pieces a TODO note was printed for

die() {
  echo "mydocker: $*" >&2
  exit 125
}

# An open piece of the skeleton calls todo. root and namespaces cannot be left out: without
# them CMD would run in the host's own root directory and namespaces, so the runtime stops
# there with exit 125. The other pieces are skipped with a one-line note, and the container
# runs without them: the conformance suite then fails exactly the checks of what is missing.
todo() {
  local piece=$1 lessons=$2
  if [[ $piece == root || $piece == namespaces ]]; then
    TODO_SAID=stop # the runtime stops here: no more notes on the way out
    die "TODO: $piece ($lessons) is not written yet"
  fi
  [[ $TODO_SAID == stop || " $TODO_SAID " == *" $piece "* ]] && return 0
  TODO_SAID+=" $piece"
  echo "mydocker: TODO: $piece ($lessons) is not written yet: skipped" >&2
}

usage() {
  cat <<'EOF'
usage: mydocker run [--name N] [--hostname H] [--cpus C] [--memory M] [--pids P]
                    [--ip ADDR/PREFIX] IMAGE CMD [ARG...]
  --name N        a name of its own among running containers (default: mydocker-<pid>)
  --hostname H    its hostname (default: its name)
  --cpus C        at most C CPUs (a quota of C x 100000 us per 100000 us, lesson 2)
  --memory M      at most M bytes of memory, no swap (k, m, g allowed: 64m; lesson 8)
  --pids P        at most P processes and threads (lesson 8)
  --ip ADDR/PRE   eth0 with that address on $MYDOCKER_BRIDGE, default route via
                  $MYDOCKER_GATEWAY (lesson 6)
IMAGE is an image of the lab's layer store ($CONTAINER_LESSONS_HOME/images/IMAGE.json).
EOF
}

# The lab, as the workbook finds it: CONTAINER_LESSONS_HOME, or the home of the user who ran
# sudo, or this user's home.
lab_dir() {
  if [[ -n ${CONTAINER_LESSONS_HOME:-} ]]; then
    echo "$CONTAINER_LESSONS_HOME"
  elif [[ -n ${SUDO_USER:-} ]] && [[ $SUDO_USER != root ]]; then
    echo "$(getent passwd "$SUDO_USER" | cut -d: -f6)/container-lessons"
  else
    echo "${HOME:-/root}/container-lessons"
  fi
}

# An IPv4 address: four numbers up to 255.
is_ipv4() {
  local IFS=. octets o
  [[ $1 =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || return 1
  read -ra octets <<<"$1"
  for o in "${octets[@]}"; do ((10#$o <= 255)) || return 1; done
}

# Read `run`'s options and check every one of them before anything is made: a bad argument
# touches nothing.
parse_args() {
  # --- BEGIN args (given) ---
  local opt value
  while (($# > 0)); do
    case $1 in
      --name=* | --hostname=* | --cpus=* | --memory=* | --pids=* | --ip=*)
        opt=${1%%=*} value=${1#*=}
        shift
        ;;
      --name | --hostname | --cpus | --memory | --pids | --ip)
        (($# >= 2)) || die "$1 needs a value"
        opt=$1 value=$2
        shift 2
        ;;
      -h | --help) usage; exit 0 ;;
      --) shift; break ;;
      -*) die "unknown option $1 (mydocker --help lists them)" ;;
      *) break ;;
    esac
    case $opt in
      --name) NAME=$value ;;
      --hostname) HOST=$value ;;
      --pids) PIDS=$value ;;
      --ip) IP=$value ;;
      --cpus)
        # A decimal number, in whole microseconds of quota: 0.2 -> 20000.
        # (BASH_REMATCH holds the groups of the last match: the one with groups comes last.)
        [[ $value =~ [0-9] && $value =~ ^([0-9]{0,6})(\.([0-9]*))?$ ]] ||
          die "--cpus $value: not a number of CPUs (such as 0.5)"
        local whole=${BASH_REMATCH[1]:-0} fraction=${BASH_REMATCH[3]:-}00000
        CPU_QUOTA=$((10#$whole * PERIOD + 10#${fraction:0:5}))
        local cpus
        cpus=$(nproc)
        ((CPU_QUOTA >= 1000 && CPU_QUOTA <= cpus * PERIOD)) ||
          die "--cpus $value: the range of CPUs is from 0.01 to $cpus.00 ($cpus CPUs here)"
        ;;
      --memory)
        [[ $value =~ ^([0-9]{1,12})([bkmgBKMG]?)$ ]] ||
          die "--memory $value: not an amount of memory (such as 64m: bytes, or k, m, g)"
        local number=$((10#${BASH_REMATCH[1]})) unit=${BASH_REMATCH[2],,}
        case $unit in
          k) MEMORY_BYTES=$((number * 1024)) ;;
          m) MEMORY_BYTES=$((number * 1024 * 1024)) ;;
          g) MEMORY_BYTES=$((number * 1024 * 1024 * 1024)) ;;
          *) MEMORY_BYTES=$number ;;
        esac
        # As docker run: less than this cannot even start the container's first process.
        ((MEMORY_BYTES >= 6 * 1024 * 1024)) || die "--memory $value: the minimum is 6m"
        ;;
    esac
  done
  (($# >= 1)) || die "no IMAGE given (usage: mydocker run [OPTIONS] IMAGE CMD [ARG...])"
  IMAGE=$1
  shift
  (($# >= 1)) || die "no command given (usage: mydocker run [OPTIONS] IMAGE CMD [ARG...])"
  CMD=("$@")

  ((EUID == 0)) || die "run me as root (sudo): mounts, namespaces and cgroups need it"
  LAB=$(lab_dir)
  NAME=${NAME:-mydocker-$$}
  HOST=${HOST:-$NAME}
  [[ $NAME =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]] ||
    die "--name $NAME: letters, digits, _ . - only (up to 64), starting with a letter or digit"
  [[ $HOST =~ ^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$ ]] ||
    die "--hostname $HOST: letters, digits, . - only (up to 64), starting with a letter or digit"
  [[ -z $PIDS || $PIDS =~ ^[1-9][0-9]{0,8}$ ]] || die "--pids $PIDS: not a number of processes (such as 32)"
  if [[ -n $IP ]]; then
    local address=${IP%/*} prefix=${IP#*/}
    if [[ $IP != */* ]] || ! is_ipv4 "$address" || ! [[ $prefix =~ ^[0-9]{1,2}$ ]] || ((10#$prefix < 1 || 10#$prefix > 32)); then
      die "--ip $IP: not an IPv4 address with a prefix length (such as 10.0.0.2/24)"
    fi
    BRIDGE=${MYDOCKER_BRIDGE:-}
    GATEWAY=${MYDOCKER_GATEWAY:-}
    [[ -n $BRIDGE ]] || die "--ip needs MYDOCKER_BRIDGE: the bridge to plug the container into (lesson 6)"
    [[ -d /sys/class/net/$BRIDGE/bridge ]] || die "MYDOCKER_BRIDGE=$BRIDGE: no such bridge on this host (lesson 6 makes one)"
    is_ipv4 "$GATEWAY" || die "--ip needs MYDOCKER_GATEWAY: the bridge's IPv4 address (now '${GATEWAY}')"
  fi

  # The image: images/<IMAGE>.json names its top layer ("top": the layer's directory).
  local record=$LAB/images/$IMAGE.json
  [[ $IMAGE =~ ^[A-Za-z0-9_-][A-Za-z0-9._-]*$ && -f $record ]] ||
    die "no image '$IMAGE' in $LAB/images (import one: container-lessons import)"
  [[ $(<"$record") =~ \"top\":\ *\"([0-9a-f]{64})\" ]] || die "$record names no top layer"
  IMAGE_TOP=${BASH_REMATCH[1]}
  [[ -f $LAB/layers/$IMAGE_TOP/link ]] || die "image '$IMAGE': its top layer $IMAGE_TOP is not in $LAB/layers"

  CDIR=$LAB/containers/$NAME
  [[ ! -e $CDIR ]] || die "--name $NAME: a container of that name is running (or $CDIR was left behind)"
  # --- END args ---
}

# The container's root filesystem, part 1 (on the host): the image's layers, and the
# container's own directories.
prepare_root() {
  # --- BEGIN root (lesson 7) ---
  ## Find the image's layers in $LAB/layers and make the container's directories.
  ## lowerdir= lists the image's top layer first ($LAB/layers/l/ + the top layer's link
  ## file), then the layers its lower file names (l/<short>:l/<short>..., nearest first).
  ## Claim the name with mkdir $CDIR (it fails if another container has it), set
  ## CDIR_MADE=1, and make $CDIR/upper, $CDIR/work and $CDIR/merged.
  ## Done when: the container's /proc/<pid>/mountinfo shows / as an overlay with these
  ## lowerdirs and upperdir=$CDIR/upper.
  # TODO: write this (lesson 7); the lines above say what it must do.
  todo root 'lesson 7'
  # --- END root ---
}

# The container's root filesystem, part 2 (in the container's new mount namespace): the
# overlay. Mounted there, it goes away with the namespace: no mount on the host to forget.
mount_root() {
  # --- BEGIN root (lesson 7) ---
  ## Mount the overlay at $CDIR/merged: lowerdir=$LOWERDIRS, upperdir=$CDIR/upper,
  ## workdir=$CDIR/work (lessons 1 and 7). The image's layers are only read; every write of
  ## the container lands in upper.
  ## Done when: /proc/<pid>/mountinfo (the container's) shows / as that overlay.
  # TODO: write this (lesson 7); the lines above say what it must do.
  todo root 'lesson 7'
  # --- END root ---
}

# The container's cgroup: made on the host before the container starts, with its limits.
make_cgroup() {
  # --- BEGIN cgroup (lessons 2, 8) ---
  ## Make a cgroup of the container's own and write its limits; add each directory made to
  ## CGROUP_DIRS (join_cgroup puts the container in them, cleanup removes them).
  ## Which kind of machine: stat -fc %T /sys/fs/cgroup says cgroup2fs on v2, tmpfs on v1 or
  ## hybrid (lesson 2). v2: one directory; enable cpu, memory, pids in the parent's
  ## cgroup.subtree_control; cpu.max "QUOTA PERIOD", memory.max, memory.swap.max 0, pids.max.
  ## v1 and hybrid: one directory per controller (/sys/fs/cgroup/cpu, memory, pids);
  ## cpu.cfs_period_us and cpu.cfs_quota_us, memory.limit_in_bytes (and
  ## memory.memsw.limit_in_bytes, the same: no swap), pids.max (lesson 8).
  ## Done when: /proc/<pid>/cgroup of the container names the group, and its files hold
  ## the limits.
  # TODO: write this (lessons 2, 8); the lines above say what it must do.
  todo cgroup 'lessons 2, 8'
  # --- END cgroup ---
}

# Runs in the process that is about to become unshare: in the group before the namespaces
# are made, so that everything the container starts is in it from its first instruction,
# and its cgroup namespace has the group as its root.
join_cgroup() {
  # --- BEGIN cgroup (lessons 2, 8) ---
  ## Write this process's pid ($BASHPID: this is a subshell) into cgroup.procs of each
  ## directory in CGROUP_DIRS (lesson 8: a shell joins the group, then becomes the container).
  ## Done when: /proc/<pid>/cgroup of the container's PID 1 shows the group.
  # TODO: write this (lessons 2, 8); the lines above say what it must do.
  todo cgroup 'lessons 2, 8'
  # --- END cgroup ---
}

# mydocker init waits for PID 1 and is no part of the container, but it made the namespaces
# from inside the group (so that the cgroup namespace has the group as its root). Once it has
# forked PID 1 into the group, it goes back to this script's own groups: only the container's
# processes count against its limits, and the OOM killer chooses among them alone.
release_init() {
  # --- BEGIN cgroup (lessons 2, 8) ---
  ## Wait until mydocker init has forked PID 1 (/proc/$CONTAINER_PID/task/$CONTAINER_PID/children
  ## names it), then write $CONTAINER_PID into cgroup.procs of this script's own group in
  ## each hierarchy of CGROUP_DIRS: /proc/self/cgroup says which group that is (lesson 2).
  ## Done when: the group's cgroup.procs lists the container's processes and nothing else.
  # TODO: write this (lessons 2, 8); the lines above say what it must do.
  todo cgroup 'lessons 2, 8'
  # --- END cgroup ---
}

# Start unshare, which becomes `mydocker init`, in the background: CONTAINER_PID.
start_container() {
  # --- BEGIN namespaces (lessons 3-5, 9) ---
  ## Choose the namespaces: UNSHARE_FLAGS for util-linux unshare. mnt, uts, ipc, net, pid and
  ## cgroup (lessons 3, 4, 5, 9); --propagation private (lesson 3: mounts inside stay
  ## inside). No --fork: a new PID namespace takes in only the children of the process that
  ## made it (lesson 4), and `mydocker init` forks PID 1 itself, to have its exit status.
  ## Done when: /proc/<pid>/ns/* of the container differ from /proc/self/ns/* of the host.
  # TODO: write this (lessons 3-5, 9); the lines above say what it must do.
  todo namespaces 'lessons 3-5, 9'
  # --- END namespaces ---
  local self
  self=$(readlink -f "${BASH_SOURCE[0]}")
  # A subshell: it joins the cgroup, then becomes unshare. Its stdin is named, or bash would
  # give a background command /dev/null instead of ours.
  (
    join_cgroup
    exec {READY}>&- # the container must not hold the host's end
    exec unshare "${UNSHARE_FLAGS[@]}" -- "$BASH" "$self" init "$CDIR" "$LOWERDIRS" "$HOST" "${CMD[@]}"
  ) 0<&0 &
  CONTAINER_PID=$!
}

# The network, from the host: the container's network namespace is unshare's.
connect_network() {
  # --- BEGIN network (lesson 6) ---
  ## Give the container's network namespace lo, up; and with --ip a veth pair: the host's
  ## end up and enslaved to $BRIDGE, the container's end named eth0, with $IP, up, and a
  ## default route via $GATEWAY. Set VETH to the host's end (cleanup deletes it).
  ## nsenter -t $CONTAINER_PID -n runs a command in the container's network namespace
  ## (lesson 6), once unshare has made it.
  ## Done when: ip -n inside (nsenter -t <pid> -n ip addr; ip route) shows lo up, eth0 with
  ## the address and the default route; /proc/<pid>/net/route has it; ping crosses.
  # TODO: write this (lesson 6); the lines above say what it must do.
  todo network 'lesson 6'
  # --- END network ---
}

# In the container, as PID 1 of its PID namespace: /proc, /dev, the hostname, pivot_root.
# pivot_root moves the root of every process of the mount namespace, mydocker init's too.
# The tools used before pivot_root are the host's; after it, the image's (umount, rmdir).
enter_root() {
  # --- BEGIN namespaces (lessons 3-5, 9) ---
  ## Turn $CDIR/merged into the container's /, as lesson 3 does with the rootfs:
  ## mount --make-rprivate /; hostname $HOST (the UTS namespace is the container's own);
  ## a fresh proc at merged/proc (mounted from inside the new PID namespace, lesson 4) and a
  ## small /dev (a tmpfs with null, zero, full, random, urandom, tty and a devpts of its own);
  ## cd merged; mkdir .old_root; pivot_root . .old_root; umount -l /.old_root;
  ## rmdir /.old_root; cd /.
  ## Done when: /proc/<pid>/mountinfo of the container holds /, /proc and /dev only, and no
  ## host file is reachable from its root; /proc/1 inside is the command.
  # TODO: write this (lessons 3-5, 9); the lines above say what it must do.
  todo namespaces 'lessons 3-5, 9'
  # --- END namespaces ---
}

# CMD, with the environment docker run gives (not the host's variables), as PID 1.
exec_command() {
  local term=${TERM:-} var
  for var in $(compgen -e); do unset "$var" 2>/dev/null; done
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOSTNAME=$HOST HOME=/root
  if [[ -n $term ]]; then export TERM=$term; fi
  exec "$@"
}

# Everything the container was, removed. It runs on the way out, once the container is dead.
cleanup() {
  # --- BEGIN cleanup (lessons 2-8, Clean up) ---
  ## Remove what this run made: the veth (deleting the host's end deletes both), the cgroup
  ## directories (rmdir, once no process is left in them), and $CDIR with upper, work and
  ## merged (only if CDIR_MADE: another container's directory is not ours). The overlay,
  ## /proc and /dev were mounted in the container's own mount namespace: they went with it.
  ## Done when: nothing is left: no mount, no directory in $LAB/containers, no cgroup, no
  ## link (ip link), no process.
  # TODO: write this (lessons 2-8, Clean up); the lines above say what it must do.
  todo cleanup 'lessons 2-8, Clean up'
  # --- END cleanup ---
}

# Stop the container, if it still runs: SIGKILL to its PID 1 ends every process of its PID
# namespace, and mydocker init, its parent, exits then. Once PID 1 has exited, its
# namespaces (with their mounts and links) are gone.
stop_container() {
  [[ -n $CONTAINER_PID ]] || return 0
  local pid1=""
  read -r pid1 _ 2>/dev/null <"/proc/$CONTAINER_PID/task/$CONTAINER_PID/children"
  if [[ -n $pid1 ]]; then
    kill -KILL "$pid1" 2>/dev/null
  else
    kill -KILL "$CONTAINER_PID" 2>/dev/null # PID 1 is not there yet
  fi
  wait "$CONTAINER_PID" 2>/dev/null
  CONTAINER_PID=""
}

# On the way out, whatever the way: stop the container, clean up, keep the exit code.
on_exit() {
  local status=$?
  trap '' INT TERM # a second Ctrl-C must not cut the cleanup short
  stop_container
  cleanup
  exit "$status"
}

# mydocker run: on the host.
run() {
  parse_args "$@"
  trap on_exit EXIT
  trap 'exit 130' INT  # 128 + SIGINT: on_exit stops the container
  trap 'exit 143' TERM # 128 + SIGTERM
  prepare_root
  make_cgroup
  # The container waits on this pipe until the host side is done (the network): opened
  # read-write, so that neither side blocks in open() and a write never blocks.
  mkfifo "$CDIR/ready" || die "cannot make $CDIR/ready"
  exec {READY}<>"$CDIR/ready"
  start_container
  release_init
  connect_network
  echo go >&"$READY"
  local status=0
  wait "$CONTAINER_PID" || status=$?
  CONTAINER_PID=""
  exit "$status"
}

# mydocker init CDIR LOWERDIRS HOST CMD...: in the container's new namespaces, but not yet in
# its PID namespace, which takes in only the children of the process that made it (lesson
# 4). Its child is PID 1 there: it makes the container's root and becomes CMD. This process
# waits for it and exits with its status: CMD's code, or 128+n if CMD died of signal n.
# (unshare --fork would do the same, but unshare 2.38 exits 1 when its child dies of SIGKILL.)
container_init() {
  CDIR=$1 LOWERDIRS=$2 HOST=$3
  shift 3
  (
    # Until the host says go; if it is gone instead (end of file), so is this.
    go=""
    read -r go <"$CDIR/ready"
    [[ $go == go ]] || exit 125
    mount_root
    enter_root
    exec_command "$@"
  ) 0<&0 &
  local pid1=$! status=0
  # Ctrl-C or SIGTERM is for mydocker run, which stops the container: this process stays
  # until PID 1 has ended, to report how.
  trap '' INT TERM
  wait "$pid1" || status=$?
  exit "$status"
}

case ${1:-} in
  run) shift; run "$@" ;;
  init) shift; container_init "$@" ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 125 ;;
esac
