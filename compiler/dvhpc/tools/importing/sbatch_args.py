"""sbatch's command line as sbatch reads it: which options take a value, their long names, units.

Used to read the sbatch part of a submit template (`sbatch --partition gpu -t 120 ...`, values
after a space or an `=`) and to compare the arguments two profiles make Snakemake pass to sbatch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# short option -> long option (sbatch(1)); all of these take a value
SHORT = {"A": "account", "p": "partition", "t": "time", "c": "cpus-per-task", "n": "ntasks", "N": "nodes",
         "J": "job-name", "o": "output", "e": "error", "C": "constraint", "q": "qos", "D": "chdir",
         "d": "dependency", "G": "gpus", "w": "nodelist", "x": "exclude", "m": "distribution", "a": "array",
         "b": "begin", "M": "clusters", "L": "licenses", "i": "input", "F": "nodefile", "S": "core-spec"}
SHORT_FLAGS = {"h", "H", "I", "k", "O", "Q", "s", "v", "V", "W"}
# long options that take no value (or only an optional `=value`)
LONG_FLAGS = {"parsable", "exclusive", "requeue", "no-requeue", "hold", "wait", "test-only", "contiguous",
              "overcommit", "spread-job", "use-min-nodes", "nice", "oversubscribe", "immediate", "quiet",
              "verbose", "kill-on-invalid-dep", "no-kill", "ignore-pbs", "help", "usage", "version", "get-user-env",
              "mail-user-short", "reboot", "propagate", "export-file-free"}
ALIASES = {"workdir": "chdir", "mem-per-cpu": "mem-per-cpu", "cluster": "clusters", "ntasks": "ntasks",
           "time-limit": "time", "gres-flags": "gres-flags"}


@dataclass(frozen=True)
class Option:
    name: str          # long name without dashes
    value: str | None  # None: a flag
    word: int          # index of the word it starts at


def parse(words: list[str]) -> tuple[list[Option], list[str]]:
    """(options, other words) of an sbatch argument list; a value follows `=` or is the next word."""
    options: list[Option] = []
    rest: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        start = index
        index += 1
        if word.startswith("--") and len(word) > 2:
            name, eq, value = word[2:].partition("=")
            name = ALIASES.get(name, name)
            if eq:
                options.append(Option(name, value, start))
            elif name in LONG_FLAGS:
                options.append(Option(name, None, start))
            elif index < len(words):
                options.append(Option(name, words[index], start))
                index += 1
            else:
                options.append(Option(name, "", start))
        elif re.fullmatch(r"-[A-Za-z].*", word):
            letter, attached = word[1], word[2:]
            if letter in SHORT_FLAGS:
                options.append(Option(letter, None, start))
            elif attached:
                options.append(Option(SHORT.get(letter, letter), attached.removeprefix("="), start))
            elif index < len(words):
                options.append(Option(SHORT.get(letter, letter), words[index], start))
                index += 1
            else:
                options.append(Option(SHORT.get(letter, letter), "", start))
        else:
            rest.append(word)
    return options, rest


def minutes(text: str) -> int | None:
    """sbatch --time in whole minutes (M, M:S, H:M:S, D-H, D-H:M, D-H:M:S; seconds round up)."""
    match = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text.strip())
    if not match:
        return None
    days, first, second, third = (int(g) if g else None for g in match.groups())
    assert first is not None
    if days is not None:
        hours, mins, secs = first, second or 0, third or 0
    elif third is not None:
        hours, mins, secs = first, second or 0, third
    elif second is not None:
        hours, mins, secs = 0, first, second
    else:
        hours, mins, secs = 0, first, 0
    return (days or 0) * 1440 + hours * 60 + mins + (1 if secs else 0)


def mebibytes(text: str) -> int | None:
    """sbatch --mem / --mem-per-cpu in MiB (a bare number is MiB; K, M, G, T are binary)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)B?", text.strip(), re.I)
    if not match:
        return None
    factor = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024**2}[match.group(2).upper()]
    return int(-(-float(match.group(1)) * factor // 1))
