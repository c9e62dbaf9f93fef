"""Facts from the live cluster: runs scontrol, sacct and sacctmgr itself, each with a timeout."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from collections.abc import Callable

from dvhpc.cluster.accounts import parse_accounts
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


def from_live(run: Runner = run_command, user: str | None = None, timeout: float = COMMAND_TIMEOUT) -> ClusterFacts:
    """Ask the cluster: scontrol (partitions, nodes, config), sacct (accounting works?), sacctmgr (accounts).

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
    if facts.accounting:
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
