# shellcheck shell=bash
# What debootstrap.sh and docker-export.sh share: the target-directory checks, the
# temporary directory beside the target that is removed on any failure or Ctrl-C, the
# marker file, and the final rename into place. Not a command: they source it, after their
# own command line and root checks, with
#
#   . "$(dirname -- "$(readlink -f -- "$0")")/lib.sh"
#
# It expects PROG (the script's name) and the function die (message, hint lines...; exit 1)
# from the script, and works on two globals: target (the directory to create) and tmp (the
# directory being filled).

# By this file at its top the workbook's checks recognise a lesson's root filesystem.
readonly MARKER=.container-lessons-rootfs

note() { printf '%s: %s\n' "$PROG" "$*" >&2; }

# A JSON string for any text.
json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  s=${s//$'\n'/\\n}
  s=${s//[[:cntrl:]]/?}
  printf '"%s"' "$s"
}

# check_target VERB: $target must be new, or an empty directory, and not /; it is made
# absolute. VERB (build, unpack) is what the script does there, for the refusals.
check_target() {
  local verb=$1
  target=${target%"${target##*[!/]}"} # strip trailing slashes
  [ -n "$target" ] || die "refusing to $verb into /"
  if [ -L "$target" ]; then
    die "$target is a symbolic link; name a directory that does not exist yet"
  elif [ -e "$target" ]; then
    [ -d "$target" ] || die "$target exists and is not a directory"
    if [ -n "$(find "$target" -mindepth 1 -maxdepth 1 -print -quit)" ]; then
      die "$target exists and is not empty; refusing to $verb over it" \
        "choose a new directory, or remove this one first: sudo rm -rf -- $(printf '%q' "$target")"
    fi
  fi
  target=$(realpath -m -- "$target")
  [ "$target" != / ] || die "refusing to $verb into /"
}

# ---- the temporary directory -----------------------------------------------------------
tmp=
cleanup_hook=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ -n "$cleanup_hook" ]; then "$cleanup_hook"; fi
  if [ -n "$tmp" ] && [ -e "$tmp" ]; then
    # --one-file-system: should anything be mounted in there, never follow it to the host.
    rm -rf --one-file-system -- "$tmp" ||
      note "could not remove all of $tmp; remove it by hand"
  fi
  exit "$rc"
}

# make_tmp WORD [HOOK]: create $tmp, an empty directory (mode 0755) $target.WORD.XXXXXX
# beside the target (making the target's parent if need be), and from now on remove it
# when the script ends, also on Ctrl-C (exit 130), TERM (143) or HUP (129), unless tmp has
# been emptied. HOOK, a function, is run first, whether or not $tmp exists.
make_tmp() {
  cleanup_hook=${2:-}
  trap cleanup EXIT
  trap 'printf "\n%s: interrupted\n" "$PROG" >&2; exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP

  mkdir -p -- "$(dirname -- "$target")"
  tmp=$(mktemp -d -- "$target.$1.XXXXXX")
  chmod 0755 -- "$tmp"
}

# write_marker DIR KIND [FIELD VALUE]...: the marker file in DIR, a JSON object with a
# fresh id, KIND, the time now, then each FIELD with its VALUE (as a string). Any marker
# there must have been removed first.
write_marker() {
  local dir=$1 kind=$2 fields=''
  shift 2
  while [ $# -ge 2 ]; do
    fields+=$(printf ',\n  "%s": %s' "$1" "$(json_string "$2")")
    shift 2
  done
  printf '{\n  "id": "%s",\n  "kind": %s,\n  "created": "%s"%s\n}\n' \
    "$(cat /proc/sys/kernel/random/uuid)" "$(json_string "$kind")" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$fields" \
    >"$dir/$MARKER"
  chmod 0644 -- "$dir/$MARKER"
}

# Rename the finished $tmp to $target, which an empty directory there gives way to; if
# something has appeared in the target meanwhile, keep $tmp (it is complete) and say so.
install_tmp() {
  if [ -d "$target" ] && ! rmdir -- "$target"; then
    local built=$tmp
    tmp= # keep it: it is complete
    die "$target is no longer empty; the root filesystem is left in $built"
  fi
  mv -T -- "$tmp" "$target"
  tmp=
}
