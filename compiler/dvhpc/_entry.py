"""The `dvhpc` console entry: answers `--version` without importing click (start-up matters in
pre-commit and CI loops), hands everything else to the click CLI."""

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from dvhpc import __version__

        print(f"dvhpc, version {__version__}")
        sys.exit(0)
    from dvhpc.cli import main as cli_main

    cli_main()
