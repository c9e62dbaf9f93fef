"""`dvhpc snapshot` and the facts `dvhpc lint --cluster` checks against: the live cluster, or a
`cluster.json` snapshot of it (docs/cluster-json.md) for CI machines without cluster access.

Both read the cluster through the same parsers as `dvhpc init` (`dvhpc.cluster`)."""

from __future__ import annotations

from pathlib import Path

from dvhpc.cluster.facts import ClusterFacts, ClusterFactsError
from dvhpc.cluster.live import Runner, from_live, run_command

LIVE = "live"  # `--cluster` without a file: ask the cluster this runs on


def take_snapshot(run: Runner = run_command, user: str | None = None) -> ClusterFacts:
    """The live cluster's facts with the accounting details (associations, accounts, QOS).
    ClusterUnreachable (a ClusterFactsError) when scontrol is missing, fails or times out."""
    return from_live(run, user, details=True)


def load_cluster(source: str, run: Runner = run_command) -> ClusterFacts:
    """`--cluster` facts: LIVE asks the cluster, anything else is a snapshot file. ClusterFactsError."""
    if source == LIVE:
        return take_snapshot(run)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ClusterFactsError(f"{source}: cannot read ({reason})") from None
    return ClusterFacts.from_json(text, source)
