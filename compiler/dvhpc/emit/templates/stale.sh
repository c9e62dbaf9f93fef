
# stale.sh (part of run.sh): whether a spec file changed since this folder was generated.
#
# MANIFEST.json next to run.sh lists the spec and every file it extends with its sha256, as paths
# relative to the project folder (the parent of the output root, two folders up from here). The
# check reads the two lines dvhpc writes per input ("path": ..., then "sha256": ...) and hashes
# each file with sha256sum (or shasum -a 256): no Python needed.

# The sha256 of file $1 on stdout; status 2 when no hashing program is installed.
_dvhpc_sha256() {
  local sum
  if command -v sha256sum >/dev/null 2>&1; then
    sum="$(sha256sum <"$1")" || return 1
  elif command -v shasum >/dev/null 2>&1; then
    sum="$(shasum -a 256 <"$1")" || return 1
  else
    return 2
  fi
  printf '%s\n' "${sum%% *}"
}

# Prints one line per spec file that changed ("changed: PATH"), and one per file that could not be
# checked ("unchecked: PATH: why"). Status 1 when a file changed.
_dvhpc_stale_inputs() {
  local manifest="$here/MANIFEST.json" project="$here/../.." line path="" have changed=0 status
  if [[ ! -f "$manifest" ]]; then
    echo "unchecked: MANIFEST.json: not found next to run.sh"
    return 0
  fi
  while IFS= read -r line || [[ -n "$line" ]]; do
    if [[ "$line" =~ ^\ +\"path\":\ \"(.*)\",$ ]]; then
      path="${BASH_REMATCH[1]}"
    elif [[ -n "$path" && "$line" =~ ^\ +\"sha256\":\ \"([0-9a-f]{64})\"$ ]]; then
      if [[ "$path" == *\\* ]]; then  # a JSON escape: not the file's name as written
        echo "unchecked: $path: a name with escapes (quotes, backslashes, non-ASCII)"
      elif [[ ! -f "$project/$path" ]]; then
        echo "unchecked: $path: not found"
      else
        have="$(_dvhpc_sha256 "$project/$path")"
        status=$?
        if (( status == 2 )); then
          echo "unchecked: $path: neither sha256sum nor shasum is installed"
        elif (( status != 0 )); then
          echo "unchecked: $path: cannot be read"
        elif [[ "$have" != "${BASH_REMATCH[1]}" ]]; then
          echo "changed: $path"
          changed=1
        fi
      fi
      path=""
    fi
  done <"$manifest"
  return "$changed"
}

# Refuses (status 1, with a message naming each changed file) when a spec file changed, unless
# $1 is 1 (--allow-stale); a file that cannot be checked is a warning.
_dvhpc_refuse_stale() {
  local allow=$1 found line
  found="$(_dvhpc_stale_inputs)"
  local stale=$?
  while IFS= read -r line; do
    case "$line" in
      changed:*) echo "dvhpc run: ${line#changed: } changed since the files in $here were generated" >&2 ;;
      unchecked:*) echo "dvhpc run: warning: not checked for changes: ${line#unchecked: }" >&2 ;;
    esac
  done <<<"$found"
  if (( stale )); then
    if (( allow )); then
      echo "dvhpc run: --allow-stale: running the files generated from the old spec" >&2
      return 0
    fi
    echo "dvhpc run: run dvhpc compile again (or pass --allow-stale to run the old files); Snakemake was not started" >&2
    return 1
  fi
  return 0
}
