"""`dvhpc tune --html FILE`: one self-contained page (no script, no network: inline CSS and SVG).

Per rule, two charts over its jobs in submission order: memory and time, each job's use as a bar
(coloured by its state) and its request as a tick; the current request and the proposal as lines.
"""

from __future__ import annotations

from html import escape

from dvhpc.model.units import Duration, Memory
from dvhpc.tools.tune.model import Job, Measure, RuleTune, TuneResult
from dvhpc.tools.tune.render import as_data, quantile_label, used

WIDTH, HEIGHT, PAD = 560, 180, 40
COLOURS = {"COMPLETED": "#2e7d32", "TIMEOUT": "#ef6c00", "OUT_OF_MEMORY": "#c62828", "FAILED": "#6a1b9a"}
STYLE = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
th:first-child,td:first-child,td:last-child{text-align:left}
section{margin-bottom:2em}svg{border:1px solid #ddd;margin-right:1em;background:#fff}.legend span{margin-right:1em}
h2{margin-bottom:.2em}.note{color:#555}"""


def _units(value: object) -> float | None:
    if isinstance(value, Memory):
        return float(value.mib)
    if isinstance(value, Duration):
        return float(value.seconds)
    return None


def chart(rule: RuleTune, measure: Measure, title: str) -> str:
    """An inline SVG of one measure over the rule's jobs."""
    jobs: list[Job] = rule.jobs
    use = [(j.mem if measure.key == "mem" else j.elapsed) for j in jobs]
    asked = [(float(j.req_mem) if measure.key == "mem" and j.req_mem else
              float(j.time_limit) if measure.key == "time" and j.time_limit else None) for j in jobs]
    lines = {"requested": _units(measure.requested), "proposed": _units(measure.proposed)}
    top = max([v for v in [*use, *asked, *lines.values()] if v] or [1.0]) * 1.1
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    step = inner_w / max(1, len(jobs))

    def y(value: float) -> float:
        return PAD + inner_h - value / top * inner_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-rule="{escape(rule.rule)}" '
             f'data-key="{measure.key}" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">',
             f"<title>{escape(title)}</title>",
             f'<text x="{PAD}" y="16" font-size="13">{escape(title)}</text>',
             f'<line x1="{PAD}" y1="{PAD + inner_h}" x2="{PAD + inner_w}" y2="{PAD + inner_h}" stroke="#999"/>',
             f'<text x="4" y="{PAD + 4}" font-size="10">{escape(used(measure.key, top / 1.1))}</text>']
    for index, (value, request) in enumerate(zip(use, asked, strict=True)):
        x = PAD + index * step + step * 0.15
        if value:
            colour = COLOURS.get(jobs[index].state, "#757575")
            parts.append(f'<rect class="used" x="{x:.1f}" y="{y(value):.1f}" width="{step * 0.7:.1f}" '
                         f'height="{PAD + inner_h - y(value):.1f}" fill="{colour}">'
                         f"<title>job {escape(jobs[index].job_id)} {escape(jobs[index].state)}: "
                         f"{escape(used(measure.key, value))}</title></rect>")
        if request:
            parts.append(f'<line class="asked" x1="{x:.1f}" x2="{x + step * 0.7:.1f}" y1="{y(request):.1f}" '
                         f'y2="{y(request):.1f}" stroke="#1565c0" stroke-width="2"/>')
    for name, value, dash in (("requested", lines["requested"], ""), ("proposed", lines["proposed"], "6 4")):
        if value:
            parts.append(f'<line class="{name}" x1="{PAD}" x2="{PAD + inner_w}" y1="{y(value):.1f}" '
                         f'y2="{y(value):.1f}" stroke="{"#1565c0" if name == "requested" else "#000"}" '
                         f'stroke-dasharray="{dash}"/>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(result: TuneResult) -> str:
    data = as_data(result)
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>dvhpc tune: {escape(result.site)}</title><style>{STYLE}</style></head><body>",
           f"<h1>dvhpc tune: {escape(result.site)}</h1>",
           f'<p class="note">p{round(result.options.quantile * 100)} of succeeded jobs + '
           f"{round(result.options.headroom * 100)}% headroom; at least {result.options.min_jobs} succeeded job(s) "
           f"per rule. Sources: {escape('; '.join(result.evidence.sources))}</p>",
           '<p class="legend">' + "".join(f'<span style="color:{c}">&#9632; {escape(s)}</span>'
                                          for s, c in COLOURS.items())
           + '<span style="color:#1565c0">&#9644; requested</span><span>- - proposed</span></p>']
    for rule, rule_data in zip(result.rules, data["rules"], strict=True):
        out.append(f'<section class="rule" id="rule-{escape(rule.rule)}"><h2>{escape(rule.rule)}</h2>')
        states = ", ".join(f"{n} {escape(s)}" for s, n in rule_data["states"].items())
        out.append(f"<p>{len(rule.jobs)} jobs ({states})</p>")
        out.append(f"<table><tr><th>key</th><th>n</th><th>median</th><th>{quantile_label(result)}</th><th>max</th>"
                   "<th>requested</th>"
                   "<th>proposed</th><th>notes</th></tr>")
        for m in rule.measures:
            out.append(f"<tr><td>{m.key}</td><td>{m.n}</td><td>{escape(used(m.key, m.median))}</td>"
                       f"<td>{escape(used(m.key, m.high))}</td><td>{escape(used(m.key, m.max))}</td>"
                       f"<td>{escape(str(m.requested if m.requested is not None else '(not set)'))}</td>"
                       f"<td>{escape(str(m.proposed if m.proposed is not None else '-'))}</td>"
                       f"<td>{escape('; '.join(m.reasons))}</td></tr>")
        out.append("</table><div>")
        for m in rule.measures:
            if m.key in ("mem", "time"):
                out.append(chart(rule, m, f"{rule.rule}: {'memory' if m.key == 'mem' else 'time'} per job"))
        out.append("</div></section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
