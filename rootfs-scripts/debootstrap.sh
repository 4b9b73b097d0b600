#!/usr/bin/env bash
# Build a Debian or Ubuntu root filesystem for container-lessons with debootstrap.
#
#   sudo rootfs-scripts/debootstrap.sh [--suite SUITE] [--mirror URL] <target-dir>
#
# It installs the minimal base system (--variant=minbase) plus the tools the lessons use
# (ip, ping, ps, ifconfig), builds into a temporary directory beside the target and renames
# it into place only when everything worked, and writes the marker file
# .container-lessons-rootfs by which the workbook's checks recognise a lesson's container.
# See rootfs-scripts/README.md.
#
# Exit status: 0 built, 1 failed (nothing is left behind), 2 bad command line.
set -euo pipefail

PROG=${0##*/}
readonly PROG
# What the walkthrough installs; minbase already has a shell, coreutils, mount, hostname.
readonly INCLUDE=iproute2,iputils-ping,procps,net-tools
readonly SCRIPTS=/usr/share/debootstrap/scripts
# Ubuntu releases; a debootstrap older than the release has no script for it, and then
# the "gutsy" script, which every Ubuntu release since 7.10 uses, is passed explicitly.
readonly UBUNTU_SUITES=' trusty xenial bionic focal jammy kinetic lunar mantic noble oracular plucky questing '

usage() {
  cat <<EOF
usage: sudo $PROG [--suite SUITE] [--mirror URL] [--keyring FILE] <target-dir>

Build a Debian or Ubuntu root filesystem for container-lessons with debootstrap
(--variant=minbase, plus $INCLUDE).

  --suite SUITE   a Debian suite (bookworm, trixie, ...; default bookworm) or an
                  Ubuntu one (jammy, noble, ...)
  --mirror URL    the archive to install from; the default is the mirror this
                  machine's apt uses for that distribution, else deb.debian.org or
                  archive.ubuntu.com (ports.ubuntu.com on other architectures)
  --keyring FILE  the keys to verify the archive with, instead of the distribution's
                  keyring in /usr/share/keyrings
  -h, --help      this text

<target-dir> must not exist yet, or be an empty directory.

Then:  sudo CONTAINER_LESSONS_ROOTFS=<target-dir> container-lessons solve 3
EOF
}

die() {
  printf '%s: error: %s\n' "$PROG" "$1" >&2
  shift
  local line
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 1
}

usage_error() {
  printf '%s: %s\n\n' "$PROG" "$1" >&2
  usage >&2
  exit 2
}

# ---- command line ----------------------------------------------------------------------
orig_args=("$@")
suite=bookworm
mirror=
user_keyring=
target=
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --suite | --mirror | --keyring)
      if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "$1 needs a value"; fi
      case $1 in --suite) suite=$2 ;; --mirror) mirror=$2 ;; *) user_keyring=$2 ;; esac
      shift 2 ;;
    --suite=*) suite=${1#*=}; shift ;;
    --mirror=*) mirror=${1#*=}; shift ;;
    --keyring=*) user_keyring=${1#*=}; shift ;;
    --) shift; break ;;
    -?*) usage_error "unknown option: $1" ;;
    *)
      [ -z "$target" ] || usage_error "one target directory only (got '$target' and '$1')"
      target=$1
      shift ;;
  esac
done
if [ $# -gt 0 ]; then
  if [ -n "$target" ] || [ $# -ne 1 ]; then usage_error "one target directory only"; fi
  target=$1
fi
[ -n "$target" ] || usage_error "name the directory to build the root filesystem in"
[[ $suite =~ ^[a-z][a-z0-9.-]*$ ]] || usage_error "not a suite name: '$suite' (e.g. bookworm, trixie, jammy, noble)"
if [ -n "$mirror" ] && ! [[ $mirror =~ ^(https?|ftp|file):// ]]; then
  usage_error "not a mirror URL: '$mirror' (e.g. http://deb.debian.org/debian)"
fi

# ---- preconditions ---------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
  die "this must run as root: debootstrap unpacks packages whose files belong to root and creates device nodes" \
    "run it with sudo: sudo $(printf '%q ' "$0" "${orig_args[@]}")"
fi

# What both scripts share, beside this file (also when it is run through a symbolic link).
# Only now: the command line and the root check above stand alone, so that they work
# even where lib.sh cannot be found (e.g. only this file's text run with bash -c).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "$(readlink -f -- "$0")")/lib.sh"

# The target: new, or an empty directory. Its parent is created if need be.
check_target build

command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] ||
  die "debootstrap is not installed" "install it: sudo apt-get install debootstrap"
PATH=$PATH:/usr/sbin:/sbin

# Which distribution the suite belongs to, by the debootstrap script that knows it.
script_arg=()
if [ -f "$SCRIPTS/$suite" ]; then
  script=$SCRIPTS/$suite
elif [[ $UBUNTU_SUITES == *" $suite "* ]] && [ -f "$SCRIPTS/gutsy" ]; then
  script=$SCRIPTS/gutsy
  script_arg=("$script")
  note "this debootstrap has no script for $suite; using the generic Ubuntu one ($script)"
else
  die "debootstrap does not know the suite '$suite'" \
    "the suites it knows: ls $SCRIPTS" \
    "a newer debootstrap knows newer releases (Debian: from bookworm-backports)"
fi
if grep -q ubuntu-archive-keyring "$script"; then
  distro=ubuntu
elif grep -q debian-archive-keyring "$script"; then
  distro=debian
else
  distro=other
fi

# debootstrap checks the archive's signature with this keyring; without it it would
# install unverified packages, so refuse instead.
keyring_arg=()
if [ -n "$user_keyring" ]; then
  if [ ! -f "$user_keyring" ] || [ ! -r "$user_keyring" ]; then die "cannot read the keyring $user_keyring"; fi
  keyring_arg=("--keyring=$(realpath -- "$user_keyring")")
else
  keyring=$(sed -n 's/^[[:space:]]*keyring[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' "$script" | head -n 1)
  if [ -n "$keyring" ] && [ ! -e "$keyring" ]; then
    case $keyring in
      */ubuntu-archive-keyring.gpg)
        die "the Ubuntu archive keyring $keyring is missing, so the download could not be verified" \
          "install it: sudo apt-get install ubuntu-keyring" \
          "(where the distribution has no such package, copy that file from an Ubuntu machine and pass it with --keyring FILE)" ;;
      *)
        die "the archive keyring $keyring is missing, so the download could not be verified" \
          "install it: sudo apt-get install $(basename -- "$keyring" .gpg)" ;;
    esac
  fi
fi

# ---- mirror and proxy: reuse what this machine's apt uses -------------------------------
# A field of /etc/os-release (ID, VERSION_CODENAME), or nothing.
os_release() {
  # shellcheck source=/dev/null
  (. /etc/os-release 2>/dev/null && printf '%s' "${!1:-}") || true
}

# Every enabled "deb" source as "URI SUITE COMPONENTS...", from both the one-line
# (sources.list, *.list) and the deb822 (*.sources) formats, in apt's order.
apt_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    # deb [options] uri suite components...
    sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 4 { $1 = ""; sub(/^ /, ""); print }'
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled !~ /^(no|false|0)$/ && uris != "")
          { n = split(uris, u, " "); m = split(suites, s, " ");
            for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j], comps }
        types = uris = suites = comps = enabled = ""; key = "" }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]/ { if (key == "uris") uris = uris " " $0; next }
      { key = tolower($0); sub(/:.*/, "", key); val = $0; sub(/^[^:]*:[[:space:]]*/, "", val)
        if (key == "types") types = val; else if (key == "uris") uris = val
        else if (key == "suites") suites = val; else if (key == "components") comps = val
        else if (key == "enabled") enabled = tolower(val) }
      END { flush() }' "$f"
  done
}

# A URI debootstrap can fetch from; "mirror+file:" lists (Debian cloud images) give their
# first entry.
usable_uri() {
  local uri=$1 list
  case $uri in
    mirror+file:*)
      list=${uri#mirror+file:}
      list=/${list#"${list%%[!/]*}"}
      [ -r "$list" ] || return 1
      uri=$(awk '$1 ~ /^(https?|ftp|file):/ { print $1; exit }' "$list")
      [ -n "$uri" ] || return 1 ;;
  esac
  case $uri in
    http://* | https://* | ftp://* | file:/*) printf '%s' "${uri%/}" ;;
    *) return 1 ;;
  esac
}

# The archive this host's apt installs its own release from: the source whose suite is
# the host's codename and which has a "main" component.
apt_mirror() {
  local codename uri s comps
  codename=$(os_release VERSION_CODENAME)
  [ -n "$codename" ] || return 1
  while read -r uri s comps; do
    [ "$s" = "$codename" ] || continue
    [[ " $comps " == *" main "* ]] || continue
    usable_uri "$uri" && return 0
  done < <(apt_sources)
  return 1
}

mirror_from=
if [ -z "$mirror" ] && [ "$distro" != other ]; then
  if [ "$(os_release ID)" = "$distro" ] && mirror=$(apt_mirror) && [ -n "$mirror" ]; then
    mirror_from="this machine's apt sources"
  elif [ "$distro" = debian ]; then
    mirror=http://deb.debian.org/debian
  else
    case $(dpkg --print-architecture 2>/dev/null || uname -m) in
      amd64 | i386 | x86_64 | i686) mirror=http://archive.ubuntu.com/ubuntu ;;
      *) mirror=http://ports.ubuntu.com/ubuntu-ports ;;
    esac
  fi
fi
if [ ${#script_arg[@]} -gt 0 ] && [ -z "$mirror" ]; then
  die "name a mirror with --mirror for $suite"
fi

# debootstrap downloads with wget, which reads http_proxy/https_proxy; if apt has a proxy
# and the environment none, hand apt's on.
if command -v apt-config >/dev/null 2>&1; then
  apt_http_proxy=
  apt_https_proxy=
  eval "$(apt-config shell apt_http_proxy Acquire::http::Proxy apt_https_proxy Acquire::https::Proxy 2>/dev/null || true)"
  for v in apt_http_proxy apt_https_proxy; do
    case ${!v} in [Dd][Ii][Rr][Ee][Cc][Tt] | [Ff]alse | 0) printf -v "$v" '%s' '' ;; esac
  done
  if [ -n "$apt_http_proxy" ] && [ -z "${http_proxy:-}" ]; then
    export http_proxy=$apt_http_proxy
    note "using apt's proxy (Acquire::http::Proxy) for http"
  fi
  if [ -z "${https_proxy:-}" ] && [ -n "${apt_https_proxy:-$apt_http_proxy}" ]; then
    export https_proxy=${apt_https_proxy:-$apt_http_proxy}
    note "using apt's proxy for https"
  fi
fi

# ---- build -----------------------------------------------------------------------------
# Unmount anything debootstrap may have left mounted under a directory (deepest first).
unmount_under() {
  local m
  [ -r /proc/self/mountinfo ] || return 0
  awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while IFS= read -r m; do umount -l -- "$(printf '%b' "$m")" 2>/dev/null || true; done
}
# Before the half-built tree is removed: nothing in it may stay mounted.
unmount_tmp() {
  if [ -n "$tmp" ] && [ -e "$tmp" ]; then unmount_under "$tmp"; fi
}
make_tmp building unmount_tmp

args=(--variant=minbase "--include=$INCLUDE" ${keyring_arg[@]+"${keyring_arg[@]}"} "$suite" "$tmp")
[ -z "$mirror" ] || args+=("$mirror")
[ ${#script_arg[@]} -eq 0 ] || args+=("${script_arg[@]}")
note "building $distro $suite in $tmp${mirror:+ from $mirror}${mirror_from:+ (taken from $mirror_from)}"
note "debootstrap ${args[*]}"
started=$SECONDS
if ! debootstrap "${args[@]}"; then
  log=$tmp/debootstrap/debootstrap.log
  if [ -r "$log" ]; then
    note "the end of debootstrap.log:"
    tail -n 15 -- "$log" | sed 's/^/  | /' >&2
  fi
  die "debootstrap failed for $suite${mirror:+ from $mirror}; nothing was left behind" \
    "check that the mirror is reachable (e.g. wget -O- ${mirror:-<mirror>}/dists/$suite/Release)" \
    "or choose another one with --mirror URL"
fi

[ -e "$tmp/bin/sh" ] || [ -L "$tmp/bin/sh" ] || die "debootstrap finished but $tmp has no /bin/sh"
for d in proc sys dev tmp; do [ -d "$tmp/$d" ] || mkdir -p -- "$tmp/$d"; done
chmod 1777 -- "$tmp/tmp"
# The downloaded .debs and package lists are not needed any more (about 50 MB); inside,
# `apt-get update` fetches fresh lists before installing anything else.
find "$tmp/var/cache/apt/archives" -maxdepth 1 -type f -name '*.deb' -delete 2>/dev/null || true
find "$tmp/var/lib/apt/lists" -maxdepth 1 -type f -delete 2>/dev/null || true

rm -f -- "${tmp:?}/$MARKER"
write_marker "$tmp" "debootstrap-$suite" suite "$suite" distribution "$distro"

install_tmp

size=$(du -sh --one-file-system -- "$target" 2>/dev/null | cut -f1) || size='?'
cat <<EOF

Built $distro $suite in $target ($size, $((SECONDS - started))s).

Use it for the lessons:
  sudo CONTAINER_LESSONS_ROOTFS=$(printf '%q' "$target") container-lessons solve 3

or by hand:
  sudo unshare --mount --uts --pid --fork --mount-proc=$(printf '%q' "$target/proc") chroot $(printf '%q' "$target") /bin/bash
EOF
