"""Reading a profile the way Snakemake does: PyYAML, YAML 1.1, with each value's place kept.

Snakemake loads profiles with `yaml.safe_load`: `1:30` is the integer 90, `0700` is 448, `on` is
True. dvhpc's own loader reads YAML 1.2, so a profile is read here with PyYAML's safe loader, and
the composed node tree gives every key and item its line and column for diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dvhpc.report.diagnostics import Location

Path_ = tuple[Any, ...]


@dataclass
class Profile:
    """A profile's data as Snakemake reads it, and where each value stands in its file."""

    file: str
    lines: list[str]
    data: Any
    places: dict[Path_, Location] = field(default_factory=dict)

    def where(self, *path: Any) -> Location:
        """The place of the value at `path`, else of its nearest parent that has one."""
        while path and path not in self.places:
            path = path[:-1]
        return self.places.get(path, Location(self.file, 1, 1))


class ProfileError(ValueError):
    def __init__(self, message: str, line: int, column: int):
        super().__init__(message)
        self.line, self.column = line, column


def read(text: str, file: str) -> Profile:
    """Parse `text` with PyYAML's safe loader (ProfileError at the place where it stops)."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Profile(file, text.splitlines(), None)
        profile = Profile(file, text.splitlines(), None)
        _places(loader, node, (), profile)
        profile.data = loader.construct_document(node)
        return profile
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ProfileError(f"YAML error: {exc.problem or exc.context}", line, column) from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"YAML error: {exc}", 1, 1) from None
    finally:
        loader.dispose()


def _places(loader: Any, node: Any, path: Path_, profile: Profile, depth: int = 0) -> None:
    import yaml

    start, end = node.start_mark, node.end_mark
    profile.places[path] = Location(profile.file, start.line + 1, start.column + 1, end.line + 1, end.column)
    if depth > 64:
        return
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue
            _places(loader, value_node, path + (key,), profile, depth + 1)
            if isinstance(value_node, yaml.ScalarNode) and value_node.value in ("", "~", "null"):
                profile.places[path + (key,)] = Location(profile.file, key_node.start_mark.line + 1,
                                                         key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _places(loader, item, path + (index,), profile, depth + 1)
