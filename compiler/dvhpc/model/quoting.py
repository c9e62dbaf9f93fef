"""Quoting for every spec value that reaches generated shell or Python source.

Run-time strings keep `${VAR}`, `$VAR` and a leading `~` live and make everything else inert;
plain values are quoted with shlex (shell) or repr (Python). Nothing from a spec is ever pasted
into generated code unquoted.
"""

from __future__ import annotations

import re
import shlex

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def sh(value: object) -> str:
    """A literal shell word."""
    return shlex.quote(str(value))


def sh_runtime(text: str) -> str:
    """A double-quoted shell word in which only `${VAR}`/`$VAR` and a leading `~` expand.

    Everything else (backticks, `$(`, quotes, backslashes, `!`) is escaped. The resolver has
    already refused `$` that does not start a plain variable reference.
    """
    prefix = ""
    if text == "~" or text.startswith("~/"):
        prefix, text = "${HOME}", text[1:]
    out, pos = [], 0
    for match in _VAR.finditer(text):
        out.append(_escape_dq(text[pos:match.start()]))
        out.append("${%s}" % (match.group(1) or match.group(2)))
        pos = match.end()
    out.append(_escape_dq(text[pos:]))
    return '"' + prefix + "".join(out) + '"'


def _escape_dq(text: str) -> str:
    return re.sub(r'([\\"`$])', r"\\\1", text)


def runtime_vars(text: str) -> list[str]:
    """Names of the environment variables a run-time string needs (`~` needs HOME)."""
    names = [m.group(1) or m.group(2) for m in _VAR.finditer(text)]
    if text == "~" or text.startswith("~/"):
        names.insert(0, "HOME")
    return list(dict.fromkeys(names))


def py(value: object) -> str:
    """A Python literal (str, int, float, bool, None, and lists/dicts of them)."""
    if isinstance(value, float) and value != value:  # NaN has no literal
        return "float('nan')"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "float('inf')" if value > 0 else "-float('inf')"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(k)}: {py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(py(v) for v in value) + "]"
    return repr(value)


def format_escape(text: str) -> str:
    """Escape braces for Snakemake's str.format-based submit command templates."""
    return text.replace("{", "{{").replace("}", "}}")


# Character classes of the spec values that some program pastes into a shell command unquoted
# (the slurm executor plugin: slurm_extra, gres, gpu_model) or that must stay one plain word.
# One definition: the schema's patterns for these keys are these strings (tests/test_shell_values.py
# proves it), and the emitters check every such value with `in_class` before writing it.
VALUE_CLASSES: dict[str, str] = {
    "name": r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",  # partition, account, qos, gpu type
    "constraint": r"^[A-Za-z0-9_.&|!\[\]():*,-]+$",  # sbatch --constraint: features with & | ! [ ] ( ) * ,
    "sbatch_flag": r"^--?[A-Za-z][A-Za-z0-9-]*(=[A-Za-z0-9_.,:@%+/=-]+)?$",  # one slurm_extra item
    "module": r"^[A-Za-z0-9_.+/@:-]+$",  # environment.modules.load
    "envvar": r"^[A-Za-z_][A-Za-z0-9_]*$",  # an environment variable name
    "envvar_pattern": r"^[A-Za-z_][A-Za-z0-9_]*[*]?$",  # a name, or a prefix pattern NAME* (container.pass_env)
}
_COMPILED = {kind: re.compile(pattern.removesuffix("$") + r"\Z") for kind, pattern in VALUE_CLASSES.items()}


def in_class(kind: str, value: object, key: str) -> str:
    """`value` as text when it is in the class `kind`; else ValueError (the schema let it through: a bug)."""
    text = str(value)
    if not _COMPILED[kind].match(text):
        raise ValueError(f"dvhpc internal error: {key} value {text!r} is outside the {kind} class the schema checks")
    return text
