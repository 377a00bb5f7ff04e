"""YAML loading that remembers where each value came from.

Validation errors must point at ``file:line``; plain ``yaml.safe_load`` forgets positions,
so we compose the node tree once and build the Python value and a path->line map from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass(slots=True)
class Located:
    data: Any
    lines: dict[Path, tuple[int, int]]  # path -> (line, column), 1-based


class YamlSyntaxError(ValueError):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def load_located(text: str) -> Located:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlSyntaxError(str(exc.problem or exc), line, col) from exc
    lines: dict[Path, tuple[int, int]] = {}
    if node is None:
        return Located(None, lines)
    constructor = yaml.SafeLoader(text)
    try:
        data = _build(node, (), lines, constructor)
    finally:
        constructor.dispose()
    return Located(data, lines)


def _build(node: yaml.Node, path: Path, lines: dict, ctor: yaml.SafeLoader) -> Any:
    lines[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = ctor.construct_object(key_node, deep=True)
            if key in out:
                raise YamlSyntaxError(
                    f"duplicate key {key!r}", key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
            out[key] = _build(value_node, (*path, key), lines, ctor)
            # Point key errors (unknown/missing keys) at the key itself.
            lines[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*path, i), lines, ctor) for i, child in enumerate(node.value)]
    return ctor.construct_object(node, deep=True)


def nearest_line(lines: dict[Path, tuple[int, int]], path: Path) -> tuple[int, int]:
    """Line of the deepest known ancestor of ``path`` (a missing key has no line itself)."""
    p = tuple(path)
    while p:
        if p in lines:
            return lines[p]
        p = p[:-1]
    return lines.get((), (1, 1))
