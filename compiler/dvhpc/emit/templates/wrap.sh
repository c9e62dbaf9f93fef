#
# wrap.sh: run a job command inside the container of the site (environment.container, the data above).
#
#   wrap.sh COMMAND [ARG...]
#
# Runs `<engine> exec [options] IMAGE COMMAND ARG...`: every argument reaches COMMAND unchanged,
# and wrap.sh exits with COMMAND's exit status.

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
if (( ! _dvhpc_ok )); then
  exit 1
fi

# environment.container.pass_env: each variable that is set goes in as APPTAINERENV_NAME (or
# SINGULARITYENV_NAME); unlike --env NAME=value, this keeps values with commas
# (CUDA_VISIBLE_DEVICES=0,1) intact. Each name goes through ${!name}, which would evaluate an
# index such as a[$(cmd)]: the compiler checked every name, and so does this loop.
if [[ $engine == apptainer ]]; then
  _dvhpc_prefix=APPTAINERENV_
else
  _dvhpc_prefix=SINGULARITYENV_
fi
for name in "${_dvhpc_pass_env[@]}"; do
  if [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ && -n "${!name+x}" ]]; then
    export "$_dvhpc_prefix$name=${!name}"
  fi
done

if (( ! ${#_dvhpc_container_conda[@]} )); then
  exec "$engine" "${options[@]}" "$image" "$@"
fi
# Activate the conda environment inside the container, then run the command unchanged.
IFS= read -r -d '' inner <<'EOF'
dvhpc_env=$1
shift
if ! command -v conda >/dev/null 2>&1 && [ -x /opt/conda/bin/conda ]; then
  PATH=/opt/conda/bin:$PATH
fi
if ! command -v conda >/dev/null 2>&1; then
  echo "dvhpc wrap: conda is not available inside the container (environment.container.conda)" >&2
  exit 127
fi
if ! dvhpc_hook="$(conda shell.bash hook)" || ! eval "$dvhpc_hook"; then
  echo "dvhpc wrap: conda's shell hook failed inside the container" >&2
  exit 1
fi
if ! conda activate "$dvhpc_env"; then
  echo "dvhpc wrap: cannot activate the conda environment $dvhpc_env inside the container" >&2
  exit 1
fi
exec "$@"
EOF
exec "$engine" "${options[@]}" "$image" bash -c "$inner" wrap "$dvhpc_env" "$@"
