#!/usr/bin/env python3
"""Write the resource-request part of schema/site.schema.json from the key registry.

The three places a resource request appears (resources.defaults, a set, a rule) get their
`properties` and the keywords that refuse two keys of a pair (mem and mem_per_cpu, ...) from
`dvhpc.model.keys`; the rest of the schema is left as it is. docs/spec.md derives from the schema
(`dvhpc schema --markdown > docs/spec.md`).

    .venv/bin/python tools/gen_schema_keys.py           # rewrite the schema
    .venv/bin/python tools/gen_schema_keys.py --check   # exit 1 if the committed schema is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schema" / "site.schema.json"
sys.path.insert(0, str(ROOT / "compiler"))

from dvhpc.model import keys  # noqa: E402

_EXCLUSION_WORDS = ("not", "allOf")


def request_objects(schema: dict) -> list[dict]:
    """The schema objects of a resource request: resources.defaults, a set, a rule's mapping."""
    resources = schema["properties"]["resources"]["properties"]
    return [resources["defaults"], resources["sets"]["additionalProperties"],
            resources["rules"]["additionalProperties"]["oneOf"][0]]


def generated(schema: dict) -> dict:
    """`schema` with every request's properties and exclusions from the registry."""
    schema = json.loads(json.dumps(schema))
    for request in request_objects(schema):
        request["properties"] = keys.request_properties()
        for word in _EXCLUSION_WORDS:
            request.pop(word, None)
        request.update(keys.request_exclusions())
    return schema


def text(schema: dict) -> str:
    return json.dumps(schema, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the schema is not what the registry says")
    args = parser.parse_args(argv)
    current = SCHEMA.read_text(encoding="utf-8")
    new = text(generated(json.loads(current)))
    if args.check:
        if new != current:
            print(f"{SCHEMA.relative_to(ROOT)} is stale: run tools/gen_schema_keys.py", file=sys.stderr)
            return 1
        return 0
    if new != current:
        SCHEMA.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
