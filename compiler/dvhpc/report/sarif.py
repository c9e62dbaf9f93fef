"""SARIF 2.1.0 output for code-scanning tools (GitHub code scanning and other SARIF readers)."""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from dvhpc import __version__
from dvhpc.report.codes import RULES
from dvhpc.report.diagnostics import Diagnostic, Severity
from dvhpc.report.render import safe, safe_fields

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _uri(file: str) -> str:
    """A file name as a URI reference: its bytes (also those that are not UTF-8) percent-encoded."""
    return quote(os.fsencode(file))


def _rule(code: str) -> dict[str, object]:
    """A reportingDescriptor (SARIF 3.49) from the rule's declaration."""
    rule = RULES[code]
    silence = "yes" if rule.silenceable else f"no ({rule.why_not_silenceable})"
    help_text = (f"{rule.explanation}\n\nSeverity {rule.severity.value}, stage {rule.stage.value}, silenceable "
                 f"{silence}. Details and examples: `dvhpc lint --explain {code}`.")
    return {
        "id": code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.explanation},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
        "properties": {"stage": rule.stage.value, "silenceable": rule.silenceable},
    }


def sarif(diags: list[Diagnostic]) -> str:
    used = sorted({d.code for d in diags})
    rules = [_rule(code) for code in used]
    results = []
    for diag in diags:
        loc = diag.location
        region = {"startLine": loc.line, "startColumn": loc.column}
        if loc.end_line:
            region["endLine"] = loc.end_line
            region["endColumn"] = loc.end_column + 1  # SARIF end columns are exclusive
        result = {
            "ruleId": diag.code,
            "ruleIndex": used.index(diag.code),
            "level": _LEVELS[diag.severity],
            "message": {"text": safe(diag.message) + (f" ({safe(diag.hint)})" if diag.hint else "")},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(loc.file)}, "region": region}}],
        }
        if diag.notes:
            result["relatedLocations"] = [
                {"id": index, "message": {"text": safe(note.message)},
                 "physicalLocation": {"artifactLocation": {"uri": _uri(note.location.file)},
                                      "region": {"startLine": note.location.line, "startColumn": note.location.column}}}
                for index, note in enumerate(diag.notes) if note.location
            ]
        if diag.fields:  # the rule's structured values, as in --format json
            result["properties"] = {"fields": safe_fields(diag.fields)}
        if diag.suppressed:
            result["suppressions"] = [{"kind": "inSource"}]
        results.append(result)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "dvhpc", "version": __version__, "semanticVersion": __version__,
                                "rules": rules}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(document, indent=2)
