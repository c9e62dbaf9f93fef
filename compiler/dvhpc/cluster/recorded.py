"""Facts from recorded command outputs (`init --from`): each text is recognised by its content,
parsed, and aggregated."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from dvhpc.cluster.accounts import parse_accounts
from dvhpc.cluster.aggregate import aggregate, hostname_globs
from dvhpc.cluster.facts import ClusterFacts, ClusterFactsError
from dvhpc.cluster.records import NodeRecord, Parsed, PartitionRecord, Problem, SinfoRow
from dvhpc.cluster.scontrol import parse_config, parse_nodes, parse_partitions
from dvhpc.cluster.sinfo import is_headerless_sinfo_row, is_sinfo_header, parse_sinfo

KINDS = ("partitions", "nodes", "sinfo", "config", "accounts")


def detect_kind(text: str) -> str | None:
    """Which command wrote `text`: one of KINDS, or None."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None
    if any(ln.startswith("PartitionName=") for ln in lines[:3]):
        return "partitions"
    if any(ln.startswith("NodeName=") for ln in lines[:3]):
        return "nodes"
    if lines[0].startswith("Configuration data as of") or sum(
            bool(re.match(r"^[A-Za-z][\w\[\]().]*\s+= ", ln)) for ln in lines[:10]) >= min(3, len(lines)):
        return "config"
    if any(is_sinfo_header(ln) for ln in lines[:5]):
        return "sinfo"
    head = lines[0].strip()
    if re.match(r"^Account\b", head, re.I):
        return "accounts"
    if all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(\|[^|]*)*\|?", ln.strip()) for ln in lines):
        return "accounts"
    if is_headerless_sinfo_row(lines[0]):
        return "sinfo"
    return None


def facts_from_texts(texts: Iterable[tuple[str, str]], user: str | None = None) -> ClusterFacts:
    """ClusterFacts from (source name, text) pairs; each text is recognised by its content."""
    facts = ClusterFacts()
    part_records: list[PartitionRecord] = []
    node_records: list[NodeRecord] = []
    sinfo_rows: list[SinfoRow] = []
    config: dict[str, str] = {}
    accounts_seen = False
    for source, text in texts:
        kind = detect_kind(text)
        facts.sources.append(source)
        if kind is None and not text.strip():
            raise ClusterFactsError(f"{source}: the file is empty")
        if kind is None:
            raise ClusterFactsError(
                f"{source}: cannot tell which command wrote this file; init reads the output of "
                "`scontrol show partition -o`, `scontrol show node -o`, `sinfo` (with its header line), "
                "`scontrol show config` and `sacctmgr -n -P show assoc user=$USER format=account` (or `sshare`)")
        if kind == "partitions":
            parsed = parse_partitions(text, source)
            part_records += parsed.items
        elif kind == "nodes":
            parsed = parse_nodes(text, source)
            node_records += parsed.items
        elif kind == "sinfo":
            parsed = parse_sinfo(text, source)
            sinfo_rows += parsed.items
        elif kind == "config":
            parsed = Parsed([])
            config.update(parse_config(text))
        else:
            parsed = parse_accounts(text, source, user)
            accounts_seen = True
            facts.accounts += [a for a in parsed.items if a not in facts.accounts]
        facts.problems += parsed.problems
    facts.partitions = aggregate(part_records, node_records, sinfo_rows)
    if not facts.partitions:
        facts.problems.append(Problem(", ".join(facts.sources) or "input", 0, "no partitions found"))
    unknown = [p.name for p in facts.partitions if p.cpus is None or p.mem is None]
    if unknown:
        facts.notes.append(f"CPUs or memory per node unknown for {', '.join(unknown)}: add the output of "
                           "`scontrol show node -o` (or `sinfo -o \"%P %l %c %m %G %D\"`)")
    facts.cluster_name = config.get("ClusterName") or None
    storage = config.get("AccountingStorageType", "")
    if storage:
        facts.accounting = "none" not in storage
    elif accounts_seen:
        facts.accounting = True  # sacctmgr/sshare answer only with slurmdbd
    facts.hostnames = hostname_globs(n.name for n in node_records)
    facts.problems.sort(key=lambda p: (facts.sources.index(p.source) if p.source in facts.sources else 0, p.line))
    return facts


def from_files(paths: Iterable[str | Path], user: str | None = None) -> ClusterFacts:
    """ClusterFacts from saved command outputs. `user` picks that user's rows of an `sshare` or
    `sacctmgr ... format=account,user` table (the files are usually recorded by someone else)."""
    texts = []
    for path in paths:
        try:
            texts.append((str(path), Path(path).read_text(encoding="utf-8", errors="replace")))
        except OSError as exc:
            raise ClusterFactsError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return facts_from_texts(texts, user)
