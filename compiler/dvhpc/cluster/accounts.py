"""Parser of the account lists of `sacctmgr -n -P show assoc ... format=account` and `sshare`."""

from __future__ import annotations

import re

from dvhpc.cluster.records import Parsed, Problem
from dvhpc.cluster.values import NAME_RE

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
