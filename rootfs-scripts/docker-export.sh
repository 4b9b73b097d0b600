#!/usr/bin/env bash
# Turn a `docker export` tarball into a root filesystem for container-lessons.
#
#   docker create --name ubuntu ubuntu && docker export ubuntu > ubuntu.tar
#   sudo rootfs-scripts/docker-export.sh ubuntu.tar <target-dir>
#   docker export ubuntu | sudo rootfs-scripts/docker-export.sh - <target-dir>
#
# It unpacks the tarball as root with the owners, permissions and file capabilities it
# records, checks that the result has a /bin/sh, creates the mount points the lessons need
# (/proc, /dev, /sys, /tmp), and writes the marker file .container-lessons-rootfs by which
# the workbook's checks recognise a lesson's container. It unpacks into a temporary
# directory beside the target and renames it into place only when everything worked.
# See rootfs-scripts/README.md.
#
# Exit status: 0 imported, 1 failed (nothing is left behind), 2 bad command line.
set -euo pipefail

PROG=${0##*/}
readonly PROG

usage() {
  cat <<EOF
usage: sudo $PROG <tarball|-> <target-dir>

Unpack a \`docker export\` tarball (or any tar of a root filesystem) into <target-dir>
for container-lessons. "-" reads the tarball from standard input:

  docker create --name ubuntu ubuntu
  docker export ubuntu | sudo $PROG - ~/rootfs-ubuntu

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

# Where `path` (relative to the root filesystem `root`) leads, following the symbolic links
# inside the root filesystem as a process chrooted there would: an absolute link starts
# again from `root`, never from the host's /, and ".." stops at `root`. Prints the host path
# of the final file (which need not exist); fails on a loop.
resolve_in_root() {
  local root=$1 rest=$2 cur='' comp link hops=0
  while [ -n "$rest" ]; do
    comp=${rest%%/*}
    if [ "$comp" = "$rest" ]; then rest=''; else rest=${rest#*/}; fi
    case $comp in
      '' | .) continue ;;
      ..) cur=${cur%/*}; continue ;;
    esac
    if [ -L "$root$cur/$comp" ]; then
      hops=$((hops + 1))
      [ "$hops" -le 40 ] || return 1
      link=$(readlink -- "$root$cur/$comp")
      case $link in /*) cur='' ;; esac
      rest=$link${rest:+/$rest}
    else
      cur=$cur/$comp
    fi
  done
  printf '%s\n' "$root$cur"
}

# ---- command line ----------------------------------------------------------------------
orig_args=("$@")
positional=()
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --) shift; positional+=("$@"); break ;;
    -) positional+=("$1"); shift ;;
    -?*) usage_error "unknown option: $1" ;;
    *) positional+=("$1"); shift ;;
  esac
done
[ ${#positional[@]} -eq 2 ] || usage_error "give the tarball (or - for standard input) and the target directory"
input=${positional[0]}
target=${positional[1]}
if [ -z "$input" ] || [ -z "$target" ]; then usage_error "the tarball and the target directory must not be empty"; fi

# ---- preconditions ---------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
  die "this must run as root: the files in a root filesystem belong to root and other users, and only root can unpack them so" \
    "run it with sudo: sudo $(printf '%q ' "$0" "${orig_args[@]}")"
fi

# What both scripts share, beside this file (also when it is run through a symbolic link).
# Only now: the command line and the root check above stand alone, so that they work
# even where lib.sh cannot be found (e.g. only this file's text run with bash -c).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "$(readlink -f -- "$0")")/lib.sh"

if [ "$input" = - ]; then
  if [ -t 0 ]; then
    die "the tarball is to come from standard input, but that is a terminal" \
      "pipe it in: docker export <container> | sudo $PROG - $(printf '%q' "$target")"
  fi
  source_name=stdin
else
  if [ ! -e "$input" ]; then
    die "no such file: $input" \
      "make one with: docker create --name ubuntu ubuntu && docker export ubuntu > $(printf '%q' "$input")"
  fi
  [ ! -d "$input" ] || die "$input is a directory, not a tarball" \
    "to use a directory as the root filesystem, add a marker to it instead (see rootfs-scripts/README.md)"
  [ -r "$input" ] || die "cannot read $input"
  source_name=$(basename -- "$input")
fi

check_target unpack
command -v tar >/dev/null 2>&1 || die "tar is not installed" "install it: sudo apt-get install tar"

# ---- unpack ----------------------------------------------------------------------------
errors=
# tar's complaints, in a file outside $tmp (whatever the archive holds cannot touch it).
remove_errors() {
  [ -z "$errors" ] || rm -f -- "$errors"
}
make_tmp importing remove_errors # mode 0755; the tarball's "./" entry, if it has one, sets its own
errors=$(mktemp -- "${TMPDIR:-/tmp}/$PROG.tar-errors.XXXXXX")

note "unpacking $([ "$input" = - ] && echo 'standard input' || echo "$input") into $tmp"
# --numeric-owner: the uids and gids in the archive, not the host's users of those names.
# --same-owner/--same-permissions: as recorded (the default for root, said anyway).
# --xattrs security.capability: file capabilities (docker export records e.g. ping's).
# --force-local: a name with a colon is a file here, not a remote tape ("host:file").
tar_args=(--extract --force-local --file="$input" --directory="$tmp" --numeric-owner --same-owner
  --same-permissions --xattrs --xattrs-include=security.capability)
if ! tar "${tar_args[@]}" 2>"$errors"; then
  note "tar said:"
  head -n 8 -- "$errors" | sed 's/^/  | /' >&2
  if grep -q 'compressed' "$errors"; then
    die "could not unpack the compressed archive from standard input" \
      "decompress it on the way: zcat file.tar.gz | sudo $PROG - $(printf '%q' "$target") (xzcat, zstdcat, bzcat alike)"
  fi
  die "could not unpack $([ "$input" = - ] && echo 'standard input' || echo "$input"): is it a tar archive?" \
    "make one with: docker export <container> > rootfs.tar (docker export writes a plain tar)"
fi
if [ -s "$errors" ]; then
  head -n 8 -- "$errors" | sed "s/^/$PROG: tar warned: /" >&2
fi

# ---- check and complete ----------------------------------------------------------------
if [ -z "$(find "$tmp" -mindepth 1 -maxdepth 1 -print -quit)" ]; then
  die "the archive was empty" \
    "docker export writes the container's whole file system: docker export <container> > rootfs.tar"
fi
sh=$(resolve_in_root "$tmp" bin/sh) || die "/bin/sh in the archive is a loop of symbolic links"
if [ ! -f "$sh" ] || [ ! -x "$sh" ]; then
  top=$(find "$tmp" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | head -n 12 | tr '\n' ' ')
  hint="export a container of an image that has a shell (ubuntu, debian, alpine, busybox); scratch and distroless images have none"
  only=$(find "$tmp" -mindepth 1 -maxdepth 1 | head -n 2)
  if [ "$(printf '%s\n' "$only" | wc -l)" -eq 1 ] && [ -d "$only" ] && [ ! -L "$only" ] &&
    inner=$(resolve_in_root "$only" bin/sh) && [ -f "$inner" ]; then
    hint="everything is inside one directory, ${only##*/}/: make the tarball from inside the root filesystem, e.g. tar -C rootfs -cf rootfs.tar ."
  fi
  die "this is not a root filesystem: it has no /bin/sh (its top level: ${top:-nothing})" "$hint"
fi

# docker export leaves /proc, /sys and /dev empty or missing: the container mounts its own.
for spec in proc:0555 sys:0555 dev:0755 tmp:1777; do
  d=${spec%%:*}
  mode=${spec#*:}
  if [ -L "$tmp/$d" ]; then
    to=$(resolve_in_root "$tmp" "$d") || die "/$d in the archive is a loop of symbolic links"
    [ -d "$to" ] || die "/$d in the archive is a symbolic link to $(readlink -- "$tmp/$d"), which is no directory in it"
  elif [ ! -e "$tmp/$d" ]; then
    mkdir -m "$mode" -- "$tmp/$d"
  elif [ ! -d "$tmp/$d" ]; then
    die "/$d in the archive is not a directory"
  fi
done

# A fresh marker: an exported container-lessons rootfs would otherwise share its old id.
rm -rf --one-file-system -- "${tmp:?}/$MARKER"
write_marker "$tmp" docker-export source "$source_name"

install_tmp

size=$(du -sh --one-file-system -- "$target" 2>/dev/null | cut -f1) || size='?'
# Its name, read (never run: it came from an archive) from its own os-release.
name=
if release=$(resolve_in_root "$target" etc/os-release) && [ -f "$release" ]; then
  name=$(sed -n 's/^PRETTY_NAME=["'\'']\{0,1\}\([^"'\'']*\).*/\1/p' -- "$release" | head -n 1) || name=
fi
cat <<EOF

Imported ${name:-the root filesystem} into $target ($size).

Use it for the lessons:
  sudo CONTAINER_LESSONS_ROOTFS=$(printf '%q' "$target") container-lessons solve 3
EOF
