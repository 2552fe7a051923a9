"""YAML loading that remembers the line of every value, for ``path:line`` messages.

PyYAML's composer gives nodes with positions; we construct plain Python values ourselves and
record a line for each JSON-pointer-like path. Duplicate keys, which PyYAML silently accepts,
are reported instead of being lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

Path_ = tuple[str | int, ...]


class YamlSyntaxError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class Located:
    """A loaded YAML document with the line of each path in it."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    key_lines: dict[Path_, int] = field(default_factory=dict)
    duplicates: list[tuple[int, str]] = field(default_factory=list)
    offset: int = 0

    def line_of(self, path: Path_) -> int:
        """The line of a path; falls back to the nearest enclosing value."""
        probe = tuple(path)
        while probe:
            # A key's own line reads best ("title:" rather than the block below it).
            if probe in self.key_lines:
                return self.key_lines[probe] + self.offset
            if probe in self.lines:
                return self.lines[probe] + self.offset
            probe = probe[:-1]
        return self.lines.get((), 1) + self.offset


# libyaml's parser (PyYAML's C extension) when present: several times faster on large catalogs
# and on every `drona serve --watch` rebuild; the pure-Python parser otherwise.
if TYPE_CHECKING:
    _Base = yaml.SafeLoader
else:
    _Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Constructor(_Base):
    pass


def _build(node: yaml.Node, path: Path_, doc: Located, loader: _Constructor) -> Any:
    doc.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise YamlSyntaxError(key_node.start_mark.line + 1, "a mapping key must be a plain value")
            key = str(key) if not isinstance(key, str) else key
            if key in result:
                doc.duplicates.append((key_node.start_mark.line + 1, f"duplicate key '{key}'"))
            doc.key_lines[path + (key,)] = key_node.start_mark.line + 1
            result[key] = _build(value_node, path + (key,), doc, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), doc, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load(text: str, *, offset: int = 0) -> Located:
    """Parse one YAML document. ``offset`` is added to every line (front matter)."""
    doc = Located(data=None, offset=offset)
    loader = _Constructor(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            doc.data = _build(node, (), doc, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 1 if mark else 1) + offset
        problem = exc.problem or str(exc)
        raise YamlSyntaxError(line, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1 + offset, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    for i, (line, msg) in enumerate(doc.duplicates):
        doc.duplicates[i] = (line + offset, msg)
    return doc


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """Split ``---`` front matter from a Markdown body.

    Returns (yaml_text, body, body_start_line) or None when the file has no front matter.
    """
    if not text.startswith("---"):
        return None
    lines = text.splitlines(keepends=True)
    if lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), index + 2
    return None
