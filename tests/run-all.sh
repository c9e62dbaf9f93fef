#!/usr/bin/env bash
# The whole test suite from a fresh clone: a virtualenv with the pinned test dependencies
# (snakemake, its SLURM plugins, shellcheck), then pytest. The real-SLURM tests start a local
# single-node cluster themselves (tests/slurm/local-slurm.sh; root and Debian packages needed)
# and skip with a reason where that is impossible. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="${DVHPC_VENV:-.venv}"
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]'
export PATH="$PWD/$venv/bin:$PATH"
exec "$venv/bin/python" -m pytest "$@"
