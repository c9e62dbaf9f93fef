#
# wrap.sh: run a job command inside the container of the site (environment.container, the data above).
#
#   wrap.sh COMMAND [ARG...]
#
# Runs `<engine> exec [options] IMAGE COMMAND ARG...`: every argument reaches COMMAND unchanged,
# and wrap.sh exits with COMMAND's exit status. With container.conda (or container.unset) the
# command runs through `bash -c` inside the container, which removes the unset variables, makes
# conda available (container.conda_root/etc/profile.d/conda.sh, else conda's shell hook) and
# activates the environment first. container.defaults fill in variables the job has no value for.

if [[ $# -eq 0 ]]; then
  echo "usage: wrap.sh COMMAND [ARG...]" >&2
  echo "dvhpc wrap: no command given" >&2
  exit 2
fi

engine=$_dvhpc_engine
if ! command -v "$engine" >/dev/null 2>&1; then
  echo "dvhpc wrap: $engine is not on PATH; load it first (e.g. module load $engine)" >&2
  exit 127
fi

# Every run-time text first, so one run names every variable that is missing.
_dvhpc_ok=1
options=(exec)
if (( _dvhpc_gpu )); then
  options+=(--nv)
fi
if _dvhpc_expand 'dvhpc wrap' environment.container.image "$_dvhpc_image"; then
  image=$_dvhpc_value
else
  _dvhpc_ok=0
fi
for n in "${!_dvhpc_overlays[@]}"; do
  if _dvhpc_expand 'dvhpc wrap' "environment.container.overlays[$n]" "${_dvhpc_overlays[n]}"; then
    options+=(--overlay "$_dvhpc_value")
  else
    _dvhpc_ok=0
  fi
done
for n in "${!_dvhpc_binds[@]}"; do
  if _dvhpc_expand 'dvhpc wrap' "environment.container.binds[$n]" "${_dvhpc_binds[n]}"; then
    options+=(--bind "$_dvhpc_value")
  else
    _dvhpc_ok=0
  fi
done
dvhpc_env=''
if (( ${#_dvhpc_container_conda[@]} )); then
  if _dvhpc_expand 'dvhpc wrap' environment.container.conda "${_dvhpc_container_conda[0]}"; then
    dvhpc_env=$_dvhpc_value
  else
    _dvhpc_ok=0
  fi
fi
_dvhpc_root=''
if (( ${#_dvhpc_conda_root[@]} )); then
  if _dvhpc_expand 'dvhpc wrap' environment.container.conda_root "${_dvhpc_conda_root[0]}"; then
    _dvhpc_root=$_dvhpc_value
  else
    _dvhpc_ok=0
  fi
fi
# environment.container.defaults: a variable the job has no (or an empty) value for gets the
# spec's; the job's own value wins. Names were checked by the compiler and again here.
for n in "${!_dvhpc_default_names[@]}"; do
  name=${_dvhpc_default_names[n]}
  if [[ ! $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ || -n ${!name:-} ]]; then
    continue
  fi
  if _dvhpc_expand 'dvhpc wrap' "environment.container.defaults.$name" "${_dvhpc_default_values[n]}"; then
    export "$name=$_dvhpc_value"
  else
    _dvhpc_ok=0
  fi
done
if (( ! _dvhpc_ok )); then
  exit 1
fi

# environment.container.pass_env (and the defaults' names): each variable that is set goes in as
# APPTAINERENV_NAME (or SINGULARITYENV_NAME); unlike --env NAME=value, this keeps values with
# commas (CUDA_VISIBLE_DEVICES=0,1) intact. NAME* passes every exported variable whose name starts
# with NAME. Each name goes through ${!name}, which would evaluate an index such as a[$(cmd)]: the
# compiler checked every name, and so does this loop.
if [[ $engine == apptainer ]]; then
  _dvhpc_prefix=APPTAINERENV_
else
  _dvhpc_prefix=SINGULARITYENV_
fi
_dvhpc_names=("${_dvhpc_default_names[@]}")
for name in "${_dvhpc_pass_env[@]}"; do
  if [[ $name == *\* ]]; then
    while IFS= read -r n; do
      if [[ $n == "${name%\*}"* && $n != APPTAINERENV_* && $n != SINGULARITYENV_* ]]; then
        _dvhpc_names+=("$n")
      fi
    done < <(compgen -e)
  else
    _dvhpc_names+=("$name")
  fi
done
for name in "${_dvhpc_names[@]}"; do
  if [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ && -n "${!name+x}" ]]; then
    export "$_dvhpc_prefix$name=${!name}"
  fi
done

if (( ! ${#_dvhpc_container_conda[@]} && ! ${#_dvhpc_unset[@]} )); then
  exec "$engine" "${options[@]}" "$image" "$@"
fi
# Inside the container: remove the unset variables, make conda available and activate the
# environment, then run the command unchanged. Arguments: conda root and environment (either may
# be empty), the number of variables to unset, their names, then the command.
IFS= read -r -d '' inner <<'EOF'
_dvhpc_root=$1 dvhpc_env=$2 _dvhpc_n=$3
shift 3
while [ "$_dvhpc_n" -gt 0 ]; do
  if [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    unset -v "$1"
  fi
  shift
  _dvhpc_n=$((_dvhpc_n - 1))
done
if [ -z "$dvhpc_env" ]; then
  exec "$@"
fi
if [ -n "$_dvhpc_root" ]; then
  if [ ! -f "$_dvhpc_root/etc/profile.d/conda.sh" ]; then
    echo "dvhpc wrap: no conda at $_dvhpc_root inside the container (environment.container.conda_root)" >&2
    exit 127
  fi
  . "$_dvhpc_root/etc/profile.d/conda.sh"
else
  if ! command -v conda >/dev/null 2>&1 && [ -x /opt/conda/bin/conda ]; then
    PATH=/opt/conda/bin:$PATH
  fi
  if ! command -v conda >/dev/null 2>&1; then
    echo "dvhpc wrap: conda is not available inside the container (set environment.container.conda_root)" >&2
    exit 127
  fi
  if ! dvhpc_hook="$(conda shell.bash hook)" || ! eval "$dvhpc_hook"; then
    echo "dvhpc wrap: conda's shell hook failed inside the container" >&2
    exit 1
  fi
fi
if ! conda activate "$dvhpc_env"; then
  echo "dvhpc wrap: cannot activate the conda environment $dvhpc_env inside the container" >&2
  exit 1
fi
exec "$@"
EOF
exec "$engine" "${options[@]}" "$image" bash -c "$inner" wrap "$_dvhpc_root" "$dvhpc_env" "${#_dvhpc_unset[@]}" \
  "${_dvhpc_unset[@]}" "$@"
