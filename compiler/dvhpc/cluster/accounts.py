"""Parsers of what accounting says: the account lists of `sacctmgr -n -P show assoc ... format=account`
and `sshare`, and the `|` tables of `sacctmgr -P show assoc` (associations with their partition, QOS
and limits) and `sacctmgr -P show qos` (QOS limits)."""

from __future__ import annotations

import re
from collections.abc import Callable

from dvhpc.cluster.facts import Association, Limits, Qos
from dvhpc.cluster.records import Parsed, Problem
from dvhpc.cluster.values import NAME_RE, parse_mib, parse_slurm_time

# The formats dvhpc asks sacctmgr for (`dvhpc snapshot`); recorded tables may have more or fewer columns.
ASSOC_FORMAT = "account,user,partition,qos,defaultqos,maxwall,maxtres,maxjobs,maxsubmit"
QOS_FORMAT = "name,maxwall,maxtres,maxjobspu,maxsubmitpu,flags"

_Row = tuple[int, str, str | None]  # (line, account, user or None)


def parse_accounts(text: str, source: str = "sacctmgr", user: str | None = None) -> Parsed:
    """Account names, in order, without repeats, from `sacctmgr -n -P show assoc user=U format=account`
    (any `|`-separated format whose first column is the account, header optional) or from `sshare`
    (`-P` or aligned columns; only rows with a user, and only `user`'s rows when given)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    problems: list[Problem] = []
    accounts: list[str] = []
    if not lines:
        return Parsed(accounts, problems)
    head = lines[0].strip()
    rows: list[_Row] | None
    if re.match(r"^Account\b", head, re.I) and ("User" in head or "|" in head):
        rows = _pipe_rows(text, head) if "|" in head else _aligned_rows(text, source, problems)
        if rows is None:
            return Parsed(accounts, problems)
    else:
        rows = [(number, line.split("|")[0].strip(), None) for number, line in enumerate(text.splitlines(), 1)
                if line.strip()]
    users = sorted({u for _, _, u in rows if u})
    if user is None and len(users) > 1:
        problems.append(Problem(source, 0, f"associations of several users ({', '.join(users)}): the accounts of all "
                                "are listed; record it with `-u $USER` (sshare) or `user=$USER` (sacctmgr)"))
    for number, account, row_user in rows:
        if row_user is not None and (not row_user or (user and row_user != user)):
            continue  # sshare: an account's own line, or someone else's association
        if not account or account.lower() == "account":
            continue
        if not NAME_RE.match(account) or " " in account:
            problems.append(Problem(source, number, f"not an account name, skipped: {account[:60]!r}"))
            continue
        if account not in accounts:
            accounts.append(account)
    return Parsed(accounts, problems)


def _pipe_rows(text: str, head: str) -> list[_Row]:
    """Rows of a `|`-separated table whose header is `head`."""
    names = [h.strip().lower() for h in head.split("|")]
    rows: list[_Row] = []
    for number, line in enumerate(text.splitlines(), 1):
        if number == 1 or not line.strip() or line.strip() == head:
            continue
        # a short row leaves the last columns out
        cells = dict(zip(names, (c.strip() for c in line.split("|")), strict=False))
        rows.append((number, cells.get("account", ""), cells.get("user")))
    return rows


def _aligned_rows(text: str, source: str, problems: list[Problem]) -> list[_Row] | None:
    """Rows of sshare's aligned table (column widths from the dashes line); None when it is not one."""
    all_lines = text.splitlines()
    dash_index = next((i for i, ln in enumerate(all_lines) if re.match(r"^-+( +-+)*\s*$", ln)), None)
    if dash_index is None:
        problems.append(Problem(source, 1, "sshare table without its ----- line"))
        return None
    spans = [m.span() for m in re.finditer(r"-+", all_lines[dash_index])]
    titles = [all_lines[dash_index - 1][a:b].strip().lower() for a, b in spans] if dash_index else []
    if "account" not in titles:
        problems.append(Problem(source, dash_index, "sshare table without an Account column"))
        return None
    rows: list[_Row] = []
    for number, line in enumerate(all_lines[dash_index + 1:], dash_index + 2):
        if not line.strip():
            continue
        cells = {title: line[a:b + 1].strip() if i < len(spans) - 1 else line[a:].strip()
                 for i, (title, (a, b)) in enumerate(zip(titles, spans, strict=True))}
        rows.append((number, cells.get("account", ""), cells.get("user") or ""))
    return rows


# ---------------------------------------------------------------------------- association and QOS tables


def is_limits_table(text: str) -> str | None:
    """`associations` or `qos` when `text` is such a `|` table with its header line, else None."""
    head = next((ln.strip().lower() for ln in text.splitlines() if ln.strip()), "")
    names = set(head.split("|"))
    if "|" in head and names & {"maxwall", "maxtres", "qos", "partition"}:
        if head.startswith("account|"):
            return "associations"
        if head.startswith("name|"):
            return "qos"
    return None


def _table(text: str) -> list[tuple[int, dict[str, str]]]:
    """(line, {column: cell}) of a `|` table with a header line; column titles lower-case, no blanks."""
    lines = text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        return []
    names = [h.strip().lower().replace(" ", "") for h in lines[first].split("|")]
    return [(number, dict(zip(names, (c.strip() for c in line.split("|")), strict=False)))
            for number, line in enumerate(lines[first + 1:], first + 2) if line.strip()]


def parse_tres(text: str) -> dict[str, int]:
    """`cpu=2,gres/gpu=1,mem=1G` -> {cpu: 2, gres/gpu: 1, mem: 1024} (mem in MiB). Raises ValueError."""
    tres: dict[str, int] = {}
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"not a TRES entry: {item!r}")
        tres[name] = parse_mib(value) if name == "mem" else int(value)
    return tres


def _limits(cells: dict[str, str], jobs: str, submit: str) -> Limits:
    """Limits from a row's MaxWall, MaxTRES and job counts (`jobs`/`submit`: their column titles). ValueError."""
    wall = cells.get("maxwall", "")
    return Limits(max_wall=parse_slurm_time(wall) if wall else None,
                  max_tres_per_job=parse_tres(cells.get("maxtres", "")),
                  max_jobs=int(cells[jobs]) if cells.get(jobs) else None,
                  max_submit=int(cells[submit]) if cells.get(submit) else None)


def _rows(text: str, source: str, read: Callable[[dict[str, str]], object]) -> Parsed:
    items, problems = [], []
    for number, cells in _table(text):
        try:
            items.append(read(cells))
        except (ValueError, KeyError) as exc:
            problems.append(Problem(source, number, f"cannot read this row ({exc}), skipped"))
    return Parsed(items, problems)


def parse_associations(text: str, source: str = "sacctmgr show assoc") -> Parsed:
    """`sacctmgr -P show assoc user=U format=account,user,partition,qos,defaultqos,maxwall,maxtres,maxjobs,
    maxsubmit` (with its header line) -> Association records; rows without a user (the account's own) too."""
    def read(cells: dict[str, str]) -> Association:
        account = cells["account"]
        if not NAME_RE.match(account):
            raise ValueError(f"not an account name: {account[:60]!r}")
        return Association(account=account, user=cells.get("user") or None, partition=cells.get("partition") or None,
                           qos=[q for q in cells.get("qos", "").split(",") if q],
                           default_qos=cells.get("defqos") or cells.get("defaultqos") or None,
                           limits=_limits(cells, "maxjobs", "maxsubmit"))
    return _rows(text, source, read)


def parse_qos(text: str, source: str = "sacctmgr show qos") -> Parsed:
    """`sacctmgr -P show qos format=name,maxwall,maxtres,maxjobspu,maxsubmitpu,flags` -> Qos records."""
    def read(cells: dict[str, str]) -> Qos:
        name = cells["name"]
        if not NAME_RE.match(name):
            raise ValueError(f"not a QOS name: {name[:60]!r}")
        return Qos(name=name, limits=_limits(cells, "maxjobspu", "maxsubmitpu"),
                   flags=[f for f in cells.get("flags", "").split(",") if f])
    return _rows(text, source, read)
