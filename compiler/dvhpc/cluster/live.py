"""Facts from the live cluster: runs scontrol, sacct and sacctmgr itself, each with a timeout.

`init` needs the partitions and the user's accounts; `dvhpc snapshot` and `lint --cluster` ask for
the accounting details too (`details=True`): every account, the user's associations with their
partitions, QOS and limits, and every QOS's limits."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from collections.abc import Callable

from dvhpc.cluster.accounts import ASSOC_FORMAT, QOS_FORMAT, parse_accounts, parse_associations, parse_qos
from dvhpc.cluster.aggregate import hostname_globs
from dvhpc.cluster.facts import ClusterFacts, ClusterUnreachable
from dvhpc.cluster.recorded import facts_from_texts

COMMAND_TIMEOUT = 30.0


def current_user() -> str:
    """The user whose accounts are asked for."""
    return os.environ.get("USER") or getpass.getuser()


Runner = Callable[[list[str], float], "tuple[int, str, str]"]  # (args, timeout) -> (exit code, stdout, stderr)


def run_command(args: list[str], timeout: float = COMMAND_TIMEOUT) -> tuple[int, str, str]:
    """(exit code, stdout, stderr); FileNotFoundError when the command is missing."""
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout:.0f}s"
    return proc.returncode, proc.stdout, proc.stderr


def from_live(run: Runner = run_command, user: str | None = None, timeout: float = COMMAND_TIMEOUT,
              details: bool = False) -> ClusterFacts:
    """Ask the cluster: scontrol (partitions, nodes, config), sacct (accounting works?), sacctmgr (accounts;
    with `details`, associations and QOS too).

    ClusterUnreachable when scontrol is missing, fails or times out; the other commands are optional.
    """
    user = user or current_user()
    texts: list[tuple[str, str]] = []

    def ask(args: list[str], required: bool) -> str | None:
        return _ask(run, timeout, args, required)

    partitions = ask(["scontrol", "show", "partition", "-o"], True)
    texts.append(("scontrol show partition -o", partitions or ""))
    nodes = ask(["scontrol", "show", "node", "-o"], True)
    texts.append(("scontrol show node -o", nodes or ""))
    config = ask(["scontrol", "show", "config"], False)
    if config:
        texts.append(("scontrol show config", config))
    facts = facts_from_texts([(s, t) for s, t in texts if t.strip()], user)
    facts.sources = [s for s, _ in texts]
    sacct = ask(["sacct", "-n", "-X", "-P", "--format=JobID", "--starttime", "now"], False)
    if sacct is not None:
        facts.accounting = True
    elif facts.accounting is None or facts.accounting:
        facts.accounting = False
        facts.notes.append("sacct does not work here: accounting is off (job status via squeue)")
    if details:
        facts.user = user
        _accounting_details(facts, run, timeout, user)
    elif facts.accounting:
        listed = ask(["sacctmgr", "-n", "-P", "show", "assoc", f"user={user}", "format=account"], False)
        if listed is not None:
            facts.sources.append(f"sacctmgr show assoc user={user}")
            parsed = parse_accounts(listed, "sacctmgr")
            facts.problems += parsed.problems
            accounts = parsed.items
            default = ask(["sacctmgr", "-n", "-P", "show", "user", user, "format=defaultaccount"], False)
            first = (default or "").strip().splitlines()[:1]
            if first and first[0].strip() in accounts:  # the user's default account first
                accounts.remove(first[0].strip())
                accounts.insert(0, first[0].strip())
            facts.accounts = accounts
        else:
            facts.notes.append("sacctmgr did not answer: no accounts listed")
    facts.hostnames = hostname_globs(_own_names() + [g for g in facts.hostnames])
    return facts


def _accounting_details(facts: ClusterFacts, run: Runner, timeout: float, user: str) -> None:
    """The user's associations, every account and QOS; `accounting_skipped` says why when they cannot be read."""
    if not facts.accounting:
        facts.accounting_skipped = "accounting is off on this cluster (sacct does not work)"
        return
    assoc_args = ["sacctmgr", "-P", "show", "assoc", f"user={user}", f"format={ASSOC_FORMAT}"]
    listed, why = _answer(run, timeout, assoc_args)
    if listed is None:
        facts.accounting_skipped = f"`sacctmgr show assoc` {why}"
        facts.notes.append("sacctmgr did not answer: no accounts listed")
        return
    facts.sources.append(f"sacctmgr show assoc user={user}")
    parsed = parse_associations(listed, "sacctmgr show assoc")
    facts.problems += parsed.problems
    facts.associations = [a for a in parsed.items if a.user == user]
    facts.accounts = list(dict.fromkeys(a.account for a in facts.associations))
    default, _ = _answer(run, timeout, ["sacctmgr", "-n", "-P", "show", "user", user, "format=defaultaccount"])
    first = (default or "").strip().splitlines()[:1]
    if first and first[0].strip():
        facts.default_account = first[0].strip()
        if facts.default_account in facts.accounts:  # the user's default account first
            facts.accounts.remove(facts.default_account)
            facts.accounts.insert(0, facts.default_account)
    every, _ = _answer(run, timeout, ["sacctmgr", "-n", "-P", "show", "account", "format=account"])
    if every is not None:
        facts.sources.append("sacctmgr show account")
        facts.cluster_accounts = parse_accounts(every, "sacctmgr show account").items
    qos, why = _answer(run, timeout, ["sacctmgr", "-P", "show", "qos", f"format={QOS_FORMAT}"])
    if qos is None:
        facts.accounting_skipped = f"`sacctmgr show qos` {why}"
        return
    facts.sources.append("sacctmgr show qos")
    parsed = parse_qos(qos, "sacctmgr show qos")
    facts.problems += parsed.problems
    facts.qos = parsed.items


def _answer(run: Runner, timeout: float, args: list[str]) -> tuple[str | None, str]:
    """An optional command's output, or None and why not (`was not found`, `failed (exit 1: ...)`)."""
    try:
        code, out, err = run(args, timeout)
    except FileNotFoundError:
        return None, "was not found (no accounting client here)"
    if code != 0:
        detail = (err or out).strip().splitlines()
        return None, f"failed (exit {code}{': ' + detail[-1] if detail else ''})"
    return out, ""


def _ask(run: Runner, timeout: float, args: list[str], required: bool) -> str | None:
    """A command's output; None when an optional one is missing or fails (a required one: ClusterUnreachable)."""
    label = " ".join(args)
    try:
        code, out, err = run(args, timeout)
    except FileNotFoundError:
        if required:
            raise ClusterUnreachable(f"`{args[0]}` not found: no SLURM client on this machine") from None
        return None
    if code != 0:
        if required:
            detail = (err or out).strip().splitlines()
            raise ClusterUnreachable(f"`{label}` failed (exit {code}{': ' + detail[-1] if detail else ''})")
        return None
    return out


def _own_names() -> list[str]:
    """This machine's name: its FQDN, else (localhost) its host name; none when neither is known."""
    try:
        fqdn = socket.getfqdn()
        return [fqdn] if fqdn and fqdn not in ("localhost", "localhost.localdomain") else [socket.gethostname()]
    except OSError:
        return []
