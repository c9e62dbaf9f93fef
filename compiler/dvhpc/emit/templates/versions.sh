
# _dvhpc_check_plugin_versions PYTHON: each executor plugin's installed version against the range
# dvhpc verified it in (_dvhpc_env_plugin_ranges, one per plugin; README "Verified versions"): a
# plugin builds the sbatch command from the profile, so another version may ask SLURM for other
# things. The Snakemake version itself is checked against _dvhpc_env_require_snakemake.
_dvhpc_check_plugin_versions() {
  local _dvhpc_i _dvhpc_plugver
  for _dvhpc_i in "${!_dvhpc_env_plugins[@]}"; do
    if ! _dvhpc_plugver="$("$1" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' \
      "${_dvhpc_env_plugin_packages[_dvhpc_i]}" 2>/dev/null)" || [[ -z $_dvhpc_plugver ]]; then
      continue  # not installed: the check of the plugin's module says so
    fi
    if ! _dvhpc_version_ok "$_dvhpc_plugver" "${_dvhpc_env_plugin_ranges[_dvhpc_i]}"; then
      _dvhpc_fail "${_dvhpc_env_plugin_packages[_dvhpc_i]} $_dvhpc_plugver is not a version this profile was verified with (${_dvhpc_env_plugin_ranges[_dvhpc_i]}); install it: pip install '${_dvhpc_env_plugin_packages[_dvhpc_i]}${_dvhpc_env_plugin_ranges[_dvhpc_i]}'"
    fi
  done
}
