#!/usr/bin/env bash
# runc-mydocker: the capstone's interface (capstone/INTERFACE.md) on top of runc, the OCI
# runtime Docker and Kubernetes use. A real peer for the conformance suite: the same
# arguments turned into an OCI bundle, and runc does the container. Run it as root:
#
#   runc-mydocker.sh run [--name N] [--hostname H] [--cpus C] [--memory M] [--pids P]
#                        [--ip ADDR/PREFIX] IMAGE CMD [ARG...]
#
# The environment is capstone/mydocker.sh's: CONTAINER_LESSONS_HOME (the lab: its layers/,
# images/, containers/), MYDOCKER_BRIDGE and MYDOCKER_GATEWAY (with --ip).
#
# What is whose:
#   this script   the image: reads the layer store and mounts the overlay itself (runc knows
#                 no images: an OCI bundle is a root directory and a config.json); the
#                 network: runc does none. With --ip it makes a network namespace, plugs a
#                 veth into it and hands runc the namespace's path to join (in Kubernetes,
#                 the same split: the kubelet's runtime makes the pod's network namespace
#                 and a CNI plugin wires it; runc only joins it).
#   runc          the namespaces, the cgroup and its limits, /proc, /dev, pivot_root, the
#                 hostname, the capabilities, and CMD as PID 1 (`runc init` re-executes runc
#                 inside the new namespaces, as capstone/mydocker.sh's `init` does).
#
# The bundle: $CONTAINER_LESSONS_HOME/containers/<name>/bundle/config.json, its root.path
# the merged directory beside it. runc run stays in the foreground and passes stdio through
# (terminal false); SIGINT or SIGTERM to this script is sent to the container (runc kill),
# and SIGKILL follows if it is still there GRACE seconds later (the suite's `sh -c` is PID 1
# of its PID namespace, which ignores signals it has no handler for: lesson 4). The exit code
# is runc's, which is the container's: CMD's code, 128+n when it died of signal n; 125 when
# the container could not be made.
#
# On cgroup v2, runc turns on the controllers its config needs in cgroup.subtree_control of
# every group from the root down to the container's, and leaves them on after `runc delete`
# (other groups may use them by then). This script does not put them back; a test that must
# leave the machine as it found it does (test/integration/mydocker-runc.test.ts).
set -u

# The CFS period: --cpus C is a quota of C periods in every period (lesson 2).
readonly PERIOD=100000
# Seconds between the signal forwarded to the container and SIGKILL.
readonly GRACE=2
# The capabilities a Docker container keeps: moby's DefaultCapabilities() (the same list as
# src/core/capabilities.ts DOCKER_DEFAULT_CAPS; lesson 10).
readonly CAPS=(CAP_CHOWN CAP_DAC_OVERRIDE CAP_FSETID CAP_FOWNER CAP_MKNOD CAP_NET_RAW CAP_SETGID
  CAP_SETUID CAP_SETFCAP CAP_SETPCAP CAP_NET_BIND_SERVICE CAP_SYS_CHROOT CAP_KILL CAP_AUDIT_WRITE)

LAB=""            # the lab: $CONTAINER_LESSONS_HOME
NAME=""           # --name; also runc's container id
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
MERGED_MOUNTED=0  # 1 once the overlay is mounted at $CDIR/merged
NETNS=""          # with --ip: the file the container's network namespace is bound to
VETH=""           # with --ip: the host's end of the veth pair
RUNC_PID=""       # `runc run`, in the background of this script
RUNC_STARTED=0    # 1 once `runc run` was started with $NAME (only then is runc's container ours)

die() {
  echo "runc-mydocker: $*" >&2
  exit 125
}

usage() {
  cat <<'EOF'
usage: runc-mydocker.sh run [--name N] [--hostname H] [--cpus C] [--memory M] [--pids P]
                            [--ip ADDR/PREFIX] IMAGE CMD [ARG...]
  --name N        a name of its own among running containers, and runc's container id
                  (default: mydocker-<pid>)
  --hostname H    its hostname (default: its name)
  --cpus C        at most C CPUs (a quota of C x 100000 us per 100000 us)
  --memory M      at most M bytes of memory, no swap (k, m, g allowed: 64m)
  --pids P        at most P processes and threads
  --ip ADDR/PRE   eth0 with that address on $MYDOCKER_BRIDGE, default route via
                  $MYDOCKER_GATEWAY
IMAGE is an image of the lab's layer store ($CONTAINER_LESSONS_HOME/images/IMAGE.json).
runc does the container: it must be installed (runc --version).
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

# The arguments, as capstone/mydocker.sh reads them: every one checked before anything is
# made, so that a bad one touches nothing.
parse_args() {
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
      -*) die "unknown option $1 (runc-mydocker.sh --help lists them)" ;;
      *) break ;;
    esac
    case $opt in
      --name) NAME=$value ;;
      --hostname) HOST=$value ;;
      --pids) PIDS=$value ;;
      --ip) IP=$value ;;
      --cpus)
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
        ((MEMORY_BYTES >= 6 * 1024 * 1024)) || die "--memory $value: the minimum is 6m"
        ;;
    esac
  done
  (($# >= 1)) || die "no IMAGE given (usage: runc-mydocker.sh run [OPTIONS] IMAGE CMD [ARG...])"
  IMAGE=$1
  shift
  (($# >= 1)) || die "no command given (usage: runc-mydocker.sh run [OPTIONS] IMAGE CMD [ARG...])"
  CMD=("$@")

  ((EUID == 0)) || die "run me as root (sudo): mounts, namespaces and cgroups need it"
  command -v runc >/dev/null || die "runc is not installed (Debian and Ubuntu: apt install runc)"
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

  local record=$LAB/images/$IMAGE.json
  [[ $IMAGE =~ ^[A-Za-z0-9_-][A-Za-z0-9._-]*$ && -f $record ]] ||
    die "no image '$IMAGE' in $LAB/images (import one: container-lessons import)"
  [[ $(<"$record") =~ \"top\":\ *\"([0-9a-f]{64})\" ]] || die "$record names no top layer"
  IMAGE_TOP=${BASH_REMATCH[1]}
  [[ -f $LAB/layers/$IMAGE_TOP/link ]] || die "image '$IMAGE': its top layer $IMAGE_TOP is not in $LAB/layers"

  CDIR=$LAB/containers/$NAME
  [[ ! -e $CDIR ]] || die "--name $NAME: a container of that name is running (or $CDIR was left behind)"
  # runc's container ids are machine-wide (/run/runc/<id>): another runc container of that
  # name, the lab's or not, is not ours to replace.
  ! runc state "$NAME" >/dev/null 2>&1 || die "--name $NAME: runc already has a container of that name (runc list)"
}

# The container's root: the image's layers (top first) under an upper and work of its own,
# mounted here, on the host, at $CDIR/merged: runc's root.path. runc bind-mounts it onto
# itself in the container's mount namespace and pivots into it.
mount_root() {
  local store=$LAB/layers link entry entries=() lowerdirs
  link=$(<"$store/$IMAGE_TOP/link") || die "cannot read the top layer's link"
  lowerdirs=$store/l/$link
  if [[ -f $store/$IMAGE_TOP/lower ]]; then
    IFS=: read -ra entries <"$store/$IMAGE_TOP/lower"
    for entry in "${entries[@]}"; do lowerdirs+=:$store/$entry; done
  fi
  mkdir -p "$LAB/containers" || die "cannot make $LAB/containers"
  mkdir "$CDIR" || die "--name $NAME: a container of that name is running"
  CDIR_MADE=1
  mkdir "$CDIR/upper" "$CDIR/work" "$CDIR/merged" "$CDIR/bundle" || die "cannot make the directories in $CDIR"
  mount -t overlay overlay -o "lowerdir=$lowerdirs,upperdir=$CDIR/upper,workdir=$CDIR/work" "$CDIR/merged" ||
    die "cannot mount the overlay at $CDIR/merged"
  MERGED_MOUNTED=1
}

# With --ip: the network runc will not make. A network namespace kept by a bind mount of
# its nsfs file on $CDIR/netns (what `ip netns add` does in /run/netns), lo up, and a veth
# pair: eth0 inside with the address and the default route, the host's end on the bridge.
# config.json gives runc the file's path: its `runc init` joins the namespace (setns)
# instead of making one. Without --ip, runc makes a new network namespace and sets its lo up.
make_network() {
  [[ -n $IP ]] || return 0
  NETNS=$CDIR/netns
  : >"$NETNS" || die "cannot make $NETNS"
  unshare --net="$NETNS" true || die "cannot make a network namespace at $NETNS"
  local inside=(nsenter --net="$NETNS")
  "${inside[@]}" ip link set lo up || die "cannot set lo up in the container's network namespace"
  # The host's end: named after this script's pid, unique while it runs and at most 15
  # characters as a link's name must be.
  ip link add "rmydocker$$" type veth peer name eth0 netns "$NETNS" || die "cannot make the veth pair"
  VETH=rmydocker$$
  ip link set "$VETH" master "$BRIDGE" up || die "cannot plug $VETH into $BRIDGE"
  "${inside[@]}" ip addr add "$IP" dev eth0 || die "cannot give eth0 the address $IP"
  "${inside[@]}" ip link set eth0 up || die "cannot set eth0 up"
  "${inside[@]}" ip route add default via "$GATEWAY" || die "cannot add the default route via $GATEWAY"
}

# A JSON string: backslash, quote and control characters escaped (CMD is the caller's text).
json_string() {
  local s=$1 out="" c i
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\t'/\\t}
  s=${s//$'\r'/\\r}
  if [[ $s == *[$'\001'-$'\037']* ]]; then
    local LC_ALL=C
    for ((i = 0; i < ${#s}; i++)); do
      c=${s:i:1}
      if [[ $c == [$'\001'-$'\037'] ]]; then printf -v c '\\u%04x' "'$c"; fi
      out+=$c
    done
    s=$out
  fi
  printf '"%s"' "$s"
}

# A JSON array of strings.
json_strings() {
  local first=1 s
  printf '['
  for s in "$@"; do
    ((first)) || printf ', '
    first=0
    json_string "$s"
  done
  printf ']'
}

# The OCI runtime spec's config.json (runtime-spec 1.0.2, as runc 1.1 reads it): lesson
# 10's runcConfig with the capstone's namespaces and limits, and no seccomp filter (Docker's
# default profile is lesson 10's subject, not the suite's).
write_config() {
  local args env resources="" netns caps
  args=$(json_strings "${CMD[@]}")
  local vars=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "HOSTNAME=$HOST" HOME=/root)
  [[ -z ${TERM:-} ]] || vars+=("TERM=$TERM")
  env=$(json_strings "${vars[@]}")
  caps=$(json_strings "${CAPS[@]}")
  # The limits. memory.swap is memory + swap together (v1's memsw; runc writes v2's
  # memory.swap.max as swap - limit): the same number as the limit means no swap. On a v1
  # host without swap accounting there is no memsw file to write, and no swap to hold.
  [[ -z $CPU_QUOTA ]] || resources+="\"cpu\": {\"quota\": $CPU_QUOTA, \"period\": $PERIOD}, "
  if [[ -n $MEMORY_BYTES ]]; then
    if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs || -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]]; then
      resources+="\"memory\": {\"limit\": $MEMORY_BYTES, \"swap\": $MEMORY_BYTES}, "
    else
      resources+="\"memory\": {\"limit\": $MEMORY_BYTES}, "
    fi
  fi
  [[ -z $PIDS ]] || resources+="\"pids\": {\"limit\": $PIDS}, "
  resources="{${resources%, }}"
  netns='{"type": "network"}'
  [[ -z $NETNS ]] || netns="{\"type\": \"network\", \"path\": $(json_string "$NETNS")}"
  cat >"$CDIR/bundle/config.json" <<EOF || die "cannot write $CDIR/bundle/config.json"
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": $args,
    "env": $env,
    "cwd": "/",
    "capabilities": {"bounding": $caps, "effective": $caps, "permitted": $caps}
  },
  "root": {"path": $(json_string "$CDIR/merged"), "readonly": false},
  "hostname": $(json_string "$HOST"),
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}
  ],
  "linux": {
    "cgroupsPath": $(json_string "/mydocker-$NAME"),
    "resources": $resources,
    "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}, {"type": "cgroup"}, $netns]
  }
}
EOF
}

# SIGINT or SIGTERM: sent on to the container, then SIGKILL if it is still there GRACE
# seconds later. `runc run` exits once the container has, and `wait` in run() returns.
stop_container() {
  local signal=$1 i
  trap '' INT TERM # one stop at a time
  if ! runc kill "$NAME" "$signal" 2>/dev/null; then
    # No container yet: `runc run` is still making it. The signal goes to runc itself,
    # which passes it on once the container runs, or dies of it before.
    kill -"$signal" "$RUNC_PID" 2>/dev/null
  fi
  for ((i = 0; i < GRACE * 10; i++)); do
    [[ $(runc state "$NAME" 2>/dev/null) == *'"status": "running"'* ]] || return 0
    sleep 0.1
  done
  runc kill "$NAME" KILL 2>/dev/null
}

# Everything the container was, removed, whatever way this script ends. `runc run` deletes
# its container (the cgroup, /run/runc/<name>) when the container exits; `runc delete
# --force` is for a runc killed before it could. The namespaces runc made went with the
# container's last process; the network namespace this script made goes with its file.
cleanup() {
  trap '' INT TERM # a second Ctrl-C must not cut the cleanup short
  if [[ -n $RUNC_PID ]]; then
    kill -KILL "$RUNC_PID" 2>/dev/null
    wait "$RUNC_PID" 2>/dev/null
  fi
  if ((RUNC_STARTED)) && runc state "$NAME" >/dev/null 2>&1; then
    runc delete --force "$NAME" >/dev/null 2>&1 || echo "runc-mydocker: cannot delete runc's container $NAME" >&2
  fi
  if [[ -n $VETH && -e /sys/class/net/$VETH ]]; then
    ip link del "$VETH" 2>/dev/null || [[ ! -e /sys/class/net/$VETH ]] || echo "runc-mydocker: cannot delete $VETH" >&2
  fi
  if [[ -n $NETNS ]] && mountpoint -q "$NETNS"; then
    umount "$NETNS" || echo "runc-mydocker: cannot unmount $NETNS" >&2
  fi
  if ((MERGED_MOUNTED)); then
    umount "$CDIR/merged" 2>/dev/null || umount -l "$CDIR/merged" || echo "runc-mydocker: cannot unmount $CDIR/merged" >&2
  fi
  if ((CDIR_MADE)); then
    if mountpoint -q "$CDIR/merged" || { [[ -n $NETNS ]] && mountpoint -q "$NETNS"; }; then
      echo "runc-mydocker: $CDIR kept: something is still mounted in it" >&2
    else
      rm -rf --one-file-system "$CDIR" || echo "runc-mydocker: cannot remove $CDIR" >&2
    fi
  fi
}

on_exit() {
  local status=$?
  cleanup
  exit "$status"
}

run() {
  parse_args "$@"
  trap on_exit EXIT
  trap 'exit 130' INT  # until runc runs: 128 + SIGINT, and on_exit removes what was made
  trap 'exit 143' TERM # 128 + SIGTERM
  mount_root
  make_network
  write_config
  # In the background, so that this script's traps run while it waits; its stdin named, or
  # bash would give a background command /dev/null instead of ours.
  trap 'stop_container INT' INT
  trap 'stop_container TERM' TERM
  runc run --bundle "$CDIR/bundle" --pid-file "$CDIR/pid" "$NAME" 0<&0 &
  RUNC_PID=$!
  RUNC_STARTED=1
  # A trap interrupts wait: wait again until runc has exited, then once more for its status
  # (bash keeps it).
  while kill -0 "$RUNC_PID" 2>/dev/null; do wait "$RUNC_PID"; done
  local status=0
  wait "$RUNC_PID" || status=$?
  RUNC_PID=""
  # runc writes the pid file once the container's process runs: without it, runc failed
  # to make the container (its message is on stderr), and that is 125, not CMD's code.
  ((status == 0)) || [[ -s $CDIR/pid ]] || exit 125
  exit "$status"
}

case ${1:-} in
  run) shift; run "$@" ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 125 ;;
esac
