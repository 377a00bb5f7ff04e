"""YAML documents with the line/column of every value: shared by config, rule and preset loading.

Rule files may hold several YAML documents (``---``, as in Sigma) or a list of rules, and every
error (config or rule) must name ``file:line:col``: ``yaml.safe_load`` forgets positions, so the
node tree is composed once and both the value and a path -> position map are built from it.

YAML read by darkwatch is operator input and may be hostile. Aliases are bounded *while the tree
is composed*, before anything is expanded (count of alias uses, alias-in-anchor depth, values
they would add), as are nesting, the number of values and the file size: an alias bomb
("billion laughs") is refused in milliseconds, at the position of the alias that crosses a bound.
"""

from __future__ import annotations

import os
import stat
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

import yaml

from crawler.paths import file_kind

Path = tuple[str | int, ...]

MAX_FILE_BYTES = 1 << 20  # configs, rule files, presets: a few KB in practice
MAX_ALIASES = 100  # alias uses (*name) per file
MAX_ALIAS_DEPTH = 3  # *a where a's anchor holds *b whose anchor holds *c: 3
MAX_ALIAS_EXPANSION = 10_000  # values the aliases add when expanded (long strings weigh more)
MAX_NESTING = 64  # nested mappings/sequences
MAX_VALUES = 100_000  # values (nodes) written in one file
_STRING_WEIGHT = 256  # an expanded string counts one value per this many characters
_MERGE = "tag:yaml.org,2002:merge"


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
    """A YAML file that cannot be used, with the 1-based position of the cause.

    ``kind`` is ``syntax`` (malformed YAML), ``limit`` (a bound on aliases, nesting or size),
    ``encoding`` (not UTF-8) or ``file`` (not a regular file).
    """

    def __init__(self, message: str, line: int, column: int, kind: str = "syntax") -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.kind = kind

    def describe(self) -> str:
        """The message for ``file:line:col: ...``, with what to do about it."""
        if self.kind == "syntax":
            return f"YAML syntax error: {self} (check indentation and quoting around this line)"
        if self.kind == "limit":
            return f"YAML refused: {self}"
        return str(self)


def read_text(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a YAML file.

    Refuses (:class:`YamlError`) a path that is not a regular file (a FIFO would block the read),
    a file over ``limit`` bytes and bytes that are not UTF-8 (at their line and column).
    ``OSError`` (missing, unreadable) is left to the caller, who knows what the file is for.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise YamlError(f"not a regular file (it is a {file_kind(st.st_mode)}); give a YAML file",
                        1, 1, "file")
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise YamlError(f"file larger than {_size(limit)} (the limit for a YAML file darkwatch "
                        f"reads, {max(st.st_size, len(data))} bytes here); split it or trim it",
                        1, 1, "limit")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[start:exc.start].decode("utf-8")) + 1
        raise YamlError(f"not UTF-8 text: byte 0x{data[exc.start]:02x} ({exc.reason}); "
                        "save the file as UTF-8", line, column, "encoding") from None


def _size(n: int) -> str:
    return f"{n // (1 << 20)} MiB" if n % (1 << 20) == 0 else f"{n} bytes"


def load_documents(text: str) -> list[LocatedDoc]:
    """Every non-empty document of ``text``; raises :class:`YamlError` with a position."""
    if len(text) > MAX_FILE_BYTES:
        raise YamlError(f"text larger than {_size(MAX_FILE_BYTES)} (the limit for a YAML file "
                        "darkwatch reads); split it or trim it", 1, 1, "limit")
    nodes = _fast_nodes(text)
    if nodes is None:
        nodes = _nodes(text)
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


def _fast_nodes(text: str) -> list[yaml.Node] | None:
    """The node trees of :func:`_nodes`, parsed by libyaml (C, ~10x faster: a rule pack is
    most of a scan's start-up), or None, and :func:`_nodes` decides.

    libyaml and PyYAML's pure-Python parser differ on a few inputs, found by fuzzing the shipped
    packs (``tests/core/test_yamlpos_fast.py``): tabs, a byte-order mark, and mapping
    indicators inside flow collections (``[a: b]``, ``[? a]``, ``{a ?b}``). Those, any character
    PyYAML refuses and any error go to the pure-Python path, which says what is wrong in its
    own words; everything else gives the same trees, positions included."""
    if CParser is None or "\t" in text or "\ufeff" in text or _NON_PRINTABLE.search(text):
        return None
    loader = None
    try:
        loader = _CBoundedLoader(text)
        nodes = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                nodes.append(node)
    except (yaml.YAMLError, YamlError):
        return None
    finally:
        if loader is not None:
            loader.dispose()
    return nodes if _plain_flow(text, nodes) else None


def _plain_flow(text: str, nodes: list[yaml.Node]) -> bool:
    """No mapping inside a flow sequence, and every ``?`` inside a quoted or block scalar."""
    quoted: list[tuple[int, int]] = []
    seen: set[int] = set()
    todo = list(nodes)
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.style in ("'", '"', "|", ">"):
                quoted.append((node.start_mark.index, node.end_mark.index))
            continue
        if isinstance(node, yaml.SequenceNode):
            if node.flow_style and any(isinstance(c, yaml.MappingNode) for c in node.value):
                return False
            todo.extend(node.value)
        else:
            for k, v in node.value:
                todo.extend((k, v))
    if "?" not in text:
        return True
    quoted.sort()
    starts = [q[0] for q in quoted]
    at = text.find("?")
    while at >= 0:
        k = bisect_right(starts, at) - 1
        if k < 0 or quoted[k][1] <= at:
            return False
        at = text.find("?", at + 1)
    return True


def _nodes(text: str) -> list[yaml.Node]:
    """The documents' node trees, by PyYAML's pure-Python parser (bounded composer)."""
    loader = None
    try:
        loader = _BoundedLoader(text)  # the reader checks every character here
        nodes = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                nodes.append(node)
        return nodes
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text) from None
    except yaml.reader.ReaderError as exc:
        line, col = _position(text, exc.position)
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise YamlError(f"character {char} is not allowed in YAML ({exc.reason}); remove it",
                        line, col) from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc), 1, 1) from None
    finally:
        if loader is not None:
            loader.dispose()


_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE


class _Bounds:
    """PyYAML's composer with bounds checked per node, before any alias is expanded.

    For every composed node it keeps (alias depth, expanded size); an alias adds its target's
    size, so the cost of expanding the whole tree is known without expanding it.
    """

    def _bounds(self) -> None:
        self._aliases = 0
        self._expansion = 0
        self._values = 0
        self._open: list[list[int]] = []  # per node being composed: [alias depth, size]
        self._info: dict[int, tuple[int, int]] = {}  # id(node) -> (alias depth, size)
        self._keep: list[yaml.Node] = []  # keeps ids in _info unique across documents

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()  # type: ignore[attr-defined]
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            info = self._info.get(id(node))
            if info is None:
                raise _limit(f"alias *{event.anchor} is used inside its own anchor "
                             "(a recursive structure cannot be expanded)", event.start_mark)
            depth, size = info[0] + 1, info[1]
            self._aliases += 1
            self._expansion += size
            if self._aliases > MAX_ALIASES:
                raise _limit(f"more than {MAX_ALIASES} alias uses (*name) in one file; "
                             "write the values out", event.start_mark)
            if depth > MAX_ALIAS_DEPTH:
                raise _limit(f"alias *{event.anchor} nests aliases {depth} deep (at most "
                             f"{MAX_ALIAS_DEPTH}: an anchor holding aliases of anchors holding "
                             "aliases); this looks like an alias bomb", event.start_mark)
            if self._expansion > MAX_ALIAS_EXPANSION:
                raise _limit(f"aliases would expand to more than {MAX_ALIAS_EXPANSION} values "
                             f"(at *{event.anchor}); this looks like an alias bomb",
                             event.start_mark)
            self._fold(depth, size)
            return node
        self._values += 1
        if self._values > MAX_VALUES:
            raise _limit(f"more than {MAX_VALUES} values in one file", event.start_mark)
        if len(self._open) >= MAX_NESTING:
            raise _limit(f"nested more than {MAX_NESTING} levels deep", event.start_mark)
        self._open.append([0, 1])
        node = super().compose_node(parent, index)
        depth, size = self._open.pop()
        if isinstance(node, yaml.ScalarNode):
            size += len(node.value) // _STRING_WEIGHT
        self._info[id(node)] = (depth, size)
        self._keep.append(node)
        self._fold(depth, size)
        return node

    def _fold(self, depth: int, size: int) -> None:
        if self._open:
            parent = self._open[-1]
            parent[0] = max(parent[0], depth)
            parent[1] += size


class _BoundedLoader(_Bounds, yaml.SafeLoader):
    def __init__(self, text: str) -> None:
        yaml.SafeLoader.__init__(self, text)
        self._bounds()


try:  # libyaml: PyYAML's wheels bundle it
    from yaml.cyaml import CParser
except ImportError:  # pragma: no cover - a PyYAML built without libyaml
    CParser = None


if CParser is not None:
    class _CBoundedLoader(_Bounds, yaml.composer.Composer, CParser,  # type: ignore[misc]
                          yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """libyaml's parser under the same bounded composer: the composer's methods come first
        in the MRO, so nodes are composed here, from the C parser's events."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self._bounds()


def _limit(message: str, mark: yaml.Mark) -> YamlError:
    return YamlError(message, mark.line + 1, mark.column + 1, "limit")


def _position(text: str, index: int) -> tuple[int, int]:
    index = max(0, min(index, len(text)))
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _last_content(text: str) -> tuple[int, int]:
    """Position of the last non-blank character: where a file that stops too early stops."""
    end = len(text.rstrip())
    return _position(text, max(end - 1, 0))


_OPENERS = {"{": "'{' (flow mapping)", "[": "'[' (flow sequence)",
            '"': "double-quoted string", "'": "single-quoted string"}


def _syntax_error(exc: yaml.MarkedYAMLError, text: str) -> YamlError:
    """Point at the token that is never closed, not at the end of the file where PyYAML gives up."""
    problem = str(exc.problem or exc.context or "invalid YAML")
    mark, ctx = exc.problem_mark, exc.context_mark
    if mark is None and ctx is None:
        return YamlError(problem, 1, 1)
    content_end = len(text.rstrip())
    at_end = mark is not None and (mark.index >= content_end or "<stream end>" in problem
                                   or "end of stream" in problem)
    if ctx is not None and ctx.index >= content_end:  # PyYAML's context is past the last token
        start = _last_content(text)
        opener = text[content_end - 1] if content_end else ""
    elif ctx is not None:
        start = (ctx.line + 1, ctx.column + 1)
        opener = text[ctx.index]
    else:
        start, opener = (1, 1), ""
    # An unclosed bracket or quote, or a key without ':', is reported where it starts; a block
    # collection's start is not where the mistake is, so those keep the problem's position.
    unclosed = opener in _OPENERS or "simple key" in str(exc.context or "")
    if ctx is not None and (mark is None or at_end or (unclosed and ctx.line < mark.line)):
        where = "at the end of the file" if at_end or mark is None else \
            f"at line {mark.line + 1}, column {mark.column + 1}"
        if opener in _OPENERS:
            message = f"the {_OPENERS[opener]} that starts here is never closed ({problem} {where})"
        else:
            message = f"{problem} {where}, {exc.context or 'in the text'} that starts here"
        return YamlError(message, *start)
    assert mark is not None
    if at_end:
        return YamlError(f"{problem} (the file ends too early)", *_last_content(text))
    if opener in _OPENERS and ctx is not None and ctx.index < mark.index:
        problem += f" (inside the {_OPENERS[opener]} that starts at column {ctx.column + 1})"
    return YamlError(problem, mark.line + 1, mark.column + 1)


def _key(node: yaml.Node, ctor: yaml.SafeLoader) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise YamlError("a mapping key must be a plain value (a name or a number), not a list "
                        "or a mapping", node.start_mark.line + 1, node.start_mark.column + 1)
    return _scalar(node, ctor)


def _scalar(node: yaml.Node, ctor: yaml.SafeLoader) -> Any:
    try:
        return ctor.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark or node.start_mark
        raise YamlError(str(exc.problem or exc), mark.line + 1, mark.column + 1) from None
    except (ValueError, OverflowError) as exc:  # a 5000-digit int, a timestamp like 2024-13-45
        raise YamlError(f"invalid value: {str(exc).split(';')[0]}", node.start_mark.line + 1,
                        node.start_mark.column + 1) from None


def _merge_sources(node: yaml.Node) -> list[yaml.MappingNode]:
    sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
    for src in sources:
        if not isinstance(src, yaml.MappingNode):
            raise YamlError("'<<' merges mappings: write '<<: *name' where &name is a mapping "
                            "(or a list of them)", src.start_mark.line + 1,
                            src.start_mark.column + 1)
    return sources


def _build(node: yaml.Node, path: Path, lines: dict, ctor: yaml.SafeLoader) -> Any:
    here = (node.start_mark.line + 1, node.start_mark.column + 1)
    lines[path] = here
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        # '<<: *defaults' first (earlier sources win), then this mapping's own keys override.
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                for src in _merge_sources(value_node):
                    for k, v in _build(src, path, lines, ctor).items():
                        out.setdefault(k, v)
        lines[path] = here
        own: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            key = _key(key_node, ctor)
            if key in own:
                raise YamlError(f"duplicate key {key!r}", key_node.start_mark.line + 1,
                                key_node.start_mark.column + 1)
            own.add(key)
            out[key] = _build(value_node, (*path, key), lines, ctor)
            lines[(*path, key, "__key__")] = (key_node.start_mark.line + 1,
                                              key_node.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*path, i), lines, ctor) for i, child in enumerate(node.value)]
    return _scalar(node, ctor)
