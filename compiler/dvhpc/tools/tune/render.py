"""`dvhpc tune` output: text for a terminal, a Markdown table for a pull request, JSON for tools."""

from __future__ import annotations

import json
import math

from dvhpc.model.units import Duration, Memory
from dvhpc.report.textsafe import printable
from dvhpc.tools.tune.model import Measure, RuleTune, TuneResult


def used(key: str, value: float | None) -> str:
    """A measured value as people read it: memory and time in the spec's units, CPUs to 2 places."""
    if value is None:
        return "-"
    if key == "mem":
        return str(Memory(max(1, math.ceil(value))))
    if key == "time":
        return str(Duration(max(1, math.ceil(value))))
    return f"{value:.2f}"


def _value(value) -> str:
    return "(not set)" if value is None else str(value)


def _verdict(measure: Measure) -> str:
    if measure.proposed is None:
        return "-"
    return f"{_value(measure.requested)} -> {measure.proposed}" if measure.changes else f"keep {measure.proposed}"


def _origin(measure: Measure) -> str:
    text = measure.origin
    if measure.shared_with:
        text += f" (shared with {', '.join(measure.shared_with)})"
    return text


def _header(result: TuneResult) -> list[str]:
    opts = result.options
    return [f"site {result.site}: p{round(opts.quantile * 100)} of succeeded jobs + {round(opts.headroom * 100)}% "
            f"headroom, at least {opts.min_jobs} succeeded job(s) per rule",
            *(f"source: {s}" for s in result.evidence.sources)]


def _summary(rule: RuleTune) -> str:
    states = ", ".join(f"{n} {s}" for s, n in sorted(rule.states.items()))
    attempts = ", ".join(f"attempt {a}: {n}" for a, n in sorted(rule.succeeded_on.items()))
    eff = f"; CPU efficiency {rule.cpu_efficiency:.0%}" if rule.cpu_efficiency is not None else ""
    return f"{len(rule.jobs)} jobs ({states}){'; succeeded on ' + attempts if attempts else ''}{eff}"


def _footer(result: TuneResult) -> list[str]:
    out = []
    few = result.too_few
    if few:
        out.append("too few jobs (no proposal): " + ", ".join(
            f"{r.rule} ({sum(j.succeeded for j in r.jobs)} succeeded)" for r in few))
    ev = result.evidence
    if ev.unknown_rules:
        out.append("rules without an entry in the spec (they get resources.defaults): " + ", ".join(
            f"{rule} ({n} jobs)" for rule, n in sorted(ev.unknown_rules.items())))
    if ev.ignored:
        out.append(f"{ev.ignored} job(s) of other workflows ignored")
    out += [f"note: {n}" for n in ev.notes]
    return out


def quantile_label(result: TuneResult) -> str:
    """`p95` for the default --quantile 0.95."""
    return f"p{round(result.options.quantile * 100)}"


def render_text(result: TuneResult) -> str:
    out = _header(result) + [""]
    label = quantile_label(result)
    for rule in result.rules:
        out.append(f"rule {rule.rule}: {_summary(rule)}")
        if rule.causes:
            out.append("  not succeeded: " + ", ".join(f"{n} {c}" for c, n in sorted(rule.causes.items())))
        for m in rule.measures:
            stats = f"n={m.n} median {used(m.key, m.median)} {label} {used(m.key, m.high)} max {used(m.key, m.max)}"
            out.append(f"  {m.key:<5} {stats:<44} asked {_value(m.requested):<8} {_verdict(m):<18} "
                       f"from {_origin(m)}")
            out += [f"        {reason}" for reason in m.reasons if rule.enough or "too few" not in reason]
        out.append("")
    out += _footer(result)
    return "\n".join(printable(line) for line in out).rstrip() + "\n"


def _cell(text: str) -> str:
    return "`" + printable(text).replace("`", "'").replace("|", "\\|") + "`" if text not in ("", "-") else text


def render_markdown(result: TuneResult) -> str:
    out = [f"### dvhpc tune: {_cell(result.site)}", "", printable(_header(result)[0]), ""]
    out += [f"| rule | key | n | median | {quantile_label(result)} | max | requested | proposed | from | notes |",
            "|---|---|---:|---:|---:|---:|---|---|---|---|"]
    for rule in result.rules:
        for m in rule.measures:
            proposed = "-" if m.proposed is None else (f"**{m.proposed}**" if m.changes else f"{m.proposed} (keep)")
            notes = "; ".join(printable(r) for r in m.reasons)
            out.append(f"| {_cell(rule.rule)} | {m.key} | {m.n} | {used(m.key, m.median)} | {used(m.key, m.high)} | "
                       f"{used(m.key, m.max)} | {_value(m.requested)} | {proposed} | {printable(_origin(m))} | "
                       f"{notes.replace('|', '/')} |")
    out.append("")
    for rule in result.rules:
        out.append(f"- {_cell(rule.rule)}: {printable(_summary(rule))}")
    out += ["", *(f"- {printable(line)}" for line in _footer(result))]
    return "\n".join(out).rstrip() + "\n"


def as_data(result: TuneResult) -> dict:
    def measure(m: Measure) -> dict:
        return {"key": m.key, "n": m.n, "median": m.median, "p95": m.high, "max": m.max,  # p95: the --quantile
                "requested": _json(m.requested), "proposed": _json(m.proposed), "changes": m.changes,
                "capped": m.capped, "reasons": m.reasons, "from": m.origin, "shared_with": list(m.shared_with),
                **({"file": m.location.file, "line": m.location.line, "column": m.location.column}
                   if m.location else {})}

    return {
        "site": result.site, "spec": result.spec,
        "options": {"quantile": result.options.quantile, "headroom": result.options.headroom,
                    "min_jobs": result.options.min_jobs},
        "units": {"mem": "MiB", "time": "seconds", "cpus": "CPUs busy on average"},
        "rules": [{"rule": r.rule, "jobs": len(r.jobs), "enough": r.enough, "states": dict(sorted(r.states.items())),
                   "causes": dict(sorted(r.causes.items())),
                   "succeeded_on": {str(a): n for a, n in sorted(r.succeeded_on.items())},
                   "cpu_efficiency": r.cpu_efficiency, "partition": r.partition,
                   "measures": [measure(m) for m in r.measures]} for r in result.rules],
        "too_few": [r.rule for r in result.too_few],
        "unknown_rules": dict(sorted(result.evidence.unknown_rules.items())),
        "ignored_jobs": result.evidence.ignored, "sources": result.evidence.sources, "notes": result.evidence.notes,
    }


def _json(value) -> str | int | None:
    return value if value is None or isinstance(value, int) else str(value)


def render_json(result: TuneResult) -> str:
    return json.dumps(as_data(result), indent=2) + "\n"
