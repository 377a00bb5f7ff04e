"""YAML documents with the line/column of every value: shared by config and rule loading.

Rule files may hold several YAML documents (``---``, as in Sigma) or a list of rules, and every
error (config or rule) must name ``file:line:col``: ``yaml.safe_load`` forgets positions, so the node tree
is composed once and both the value and a path -> position map are built from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass(slots=True)
class LocatedDoc:
    data: Any
    lines: dict[Path, tuple[int, int]] = field(default_factory=dict)  # 1-based (line, col)

    def where(self, path: Path) -> tuple[int, int]:
        """Position of ``path`` or of its deepest ancestor that exists."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), (1, 1))

    def key_where(self, path: Path) -> tuple[int, int]:
        """Position of the key that names ``path`` (unknown/missing-key errors point there)."""
        p = tuple(path)
        while p:
            if (*p, "__key__") in self.lines:
                return self.lines[(*p, "__key__")]
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), (1, 1))


class YamlError(ValueError):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def load_documents(text: str) -> list[LocatedDoc]:
    """Every non-empty document of ``text``; raises :class:`YamlError` with a position."""
    try:
        nodes = [n for n in yaml.compose_all(text, Loader=yaml.SafeLoader) if n is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = str(exc.problem or exc)
        if exc.context_mark and "<stream end>" in problem:
            # An unclosed bracket or quote: the end of the file is useless, point at the opening.
            mark = exc.context_mark
            what = str(exc.context or "bracket").replace("while parsing a ", "")
            problem += f" (the {what} that starts here is never closed)"
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlError(problem, line, col) from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc), 1, 1) from None
    docs = []
    ctor = yaml.SafeLoader("")
    try:
        for node in nodes:
            doc = LocatedDoc(None)
            doc.data = _build(node, (), doc.lines, ctor)
            docs.append(doc)
    finally:
        ctor.dispose()
    return docs


def _build(node: yaml.Node, path: Path, lines: dict, ctor: yaml.SafeLoader) -> Any:
    lines[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = ctor.construct_object(key_node, deep=True)
            if key in out:
                raise YamlError(f"duplicate key {key!r}", key_node.start_mark.line + 1,
                                key_node.start_mark.column + 1)
            out[key] = _build(value_node, (*path, key), lines, ctor)
            lines[(*path, key, "__key__")] = (key_node.start_mark.line + 1,
                                              key_node.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*path, i), lines, ctor) for i, child in enumerate(node.value)]
    try:
        return ctor.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark or node.start_mark
        raise YamlError(str(exc.problem or exc), mark.line + 1, mark.column + 1) from None
