"""The ``condition`` language of a rule, parsed once into a small tree evaluated per document.

Grammar (keywords are case-insensitive)::

    expr    := and ('or' and)*
    and     := unary ('and' unary)*
    unary   := 'not' unary | primary
    primary := '(' expr ')'
             | 'any' | 'all'                       # of every pattern of the rule
             | ('any' | 'all' | INT) 'of' '(' NAME (',' NAME)* ')'
             | NAME 'near' NAME 'within' INT ['chars']
             | NAME [('>=' | '>' | '<=' | '<' | '==' | '!=') INT]

A bare ``NAME`` means "matched at least once"; ``NAME >= 5`` counts *distinct* values (the same
NIR quoted twice is one person, not a dump); ``a near b within 200 chars`` holds when a hit of
``a`` and a hit of ``b`` in the same field are at most 200 characters apart.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_\-]*)|(>=|<=|==|!=|>|<|\(|\)|,))")
_OPS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
    "==": operator.eq, "!=": operator.ne,
}
RESERVED = {"and", "or", "not", "any", "all", "of", "near", "within", "chars", "them"}


class ConditionSyntaxError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset  # 0-based character offset in the condition string


class Context(Protocol):
    def count(self, name: str) -> int: ...
    def near(self, a: str, b: str, within: int) -> bool: ...


@dataclass(frozen=True, slots=True)
class Node:
    kind: str  # or | and | not | count | near | of
    args: tuple[Any, ...] = ()

    def evaluate(self, ctx: Context) -> bool:
        k, a = self.kind, self.args
        if k == "or":
            return any(n.evaluate(ctx) for n in a)
        if k == "and":
            return all(n.evaluate(ctx) for n in a)
        if k == "not":
            return not a[0].evaluate(ctx)
        if k == "count":
            name, op, value = a
            return _OPS[op](ctx.count(name), value)
        if k == "near":
            return ctx.near(a[0], a[1], a[2])
        # "of": (minimum or -1 for all, names)
        need, names = a
        hit = sum(1 for n in names if ctx.count(n) > 0)
        return hit == len(names) if need < 0 else hit >= need

    def names(self) -> set[str]:
        if self.kind == "count":
            return {self.args[0]}
        if self.kind == "near":
            return {self.args[0], self.args[1]}
        if self.kind == "of":
            return set(self.args[1])
        out: set[str] = set()
        for n in self.args:
            out |= n.names()
        return out


class _Parser:
    def __init__(self, text: str, patterns: list[str]) -> None:
        self.text = text
        self.patterns = patterns
        self.toks: list[tuple[str, str, int]] = []  # (kind, value, offset)
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m:
                bad = pos + len(text[pos:]) - len(text[pos:].lstrip())
                raise ConditionSyntaxError(f"unexpected character {text[bad]!r}", bad)
            start = m.start(m.lastindex or 0)
            if m.group(1):
                self.toks.append(("int", m.group(1), start))
            elif m.group(2):
                word = m.group(2)
                kind = "kw" if word.lower() in RESERVED else "name"
                self.toks.append((kind, word.lower() if kind == "kw" else word, start))
            else:
                self.toks.append(("op", m.group(3), start))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str | None = None, value: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None or (kind and tok[0] != kind) or (value and tok[1] != value):
            want = value or {"int": "a number", "name": "a pattern name"}.get(kind or "", "more")
            got = f"{tok[1]!r}" if tok else "the end of the condition"
            raise ConditionSyntaxError(f"expected {want}, got {got}",
                                       tok[2] if tok else len(self.text))
        self.i += 1
        return tok

    def at(self, kind: str, value: str | None = None) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == kind and (value is None or tok[1] == value)

    def parse(self) -> Node:
        node = self.expr()
        tok = self.peek()
        if tok is not None:
            raise ConditionSyntaxError(f"unexpected {tok[1]!r} (missing 'and'/'or'?)", tok[2])
        return node

    def expr(self) -> Node:
        items = [self.conj()]
        while self.at("kw", "or"):
            self.take()
            items.append(self.conj())
        return items[0] if len(items) == 1 else Node("or", tuple(items))

    def conj(self) -> Node:
        items = [self.unary()]
        while self.at("kw", "and"):
            self.take()
            items.append(self.unary())
        return items[0] if len(items) == 1 else Node("and", tuple(items))

    def unary(self) -> Node:
        if self.at("kw", "not"):
            self.take()
            return Node("not", (self.unary(),))
        return self.primary()

    def name(self) -> str:
        tok = self.take("name")
        if tok[1] not in self.patterns:
            known = ", ".join(self.patterns) or "none"
            raise ConditionSyntaxError(f"unknown pattern {tok[1]!r} (patterns of this rule: {known})",
                                       tok[2])
        return tok[1]

    def names_list(self) -> tuple[str, ...]:
        if self.at("kw", "them"):
            self.take()
            return tuple(self.patterns)
        self.take("op", "(")
        names = [self.name()]
        while self.at("op", ","):
            self.take()
            names.append(self.name())
        self.take("op", ")")
        return tuple(names)

    def primary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise ConditionSyntaxError("the condition ends too early", len(self.text))
        if tok[0] == "op" and tok[1] == "(":
            self.take()
            node = self.expr()
            self.take("op", ")")
            return node
        if tok[0] == "kw" and tok[1] in ("any", "all"):
            self.take()
            need = 1 if tok[1] == "any" else -1
            if self.at("kw", "of"):
                self.take()
                return Node("of", (need, self.names_list()))
            return Node("of", (need, tuple(self.patterns)))
        if tok[0] == "int" and self.i + 1 < len(self.toks) and self.toks[self.i + 1][1] == "of":
            self.take()
            self.take("kw", "of")
            return Node("of", (int(tok[1]), self.names_list()))
        name = self.name()
        if self.at("kw", "near"):
            self.take()
            other = self.name()
            self.take("kw", "within")
            dist = int(self.take("int")[1])
            if self.at("kw", "chars"):
                self.take()
            return Node("near", (name, other, dist))
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in _OPS:
            op = self.take()[1]
            return Node("count", (name, op, int(self.take("int")[1])))
        return Node("count", (name, ">=", 1))


def parse_condition(text: str, patterns: list[str]) -> Node:
    """Parse ``text``; raises :class:`ConditionSyntaxError` with the offending offset."""
    if not str(text).strip():
        raise ConditionSyntaxError("the condition is empty (write e.g. 'any' or 'nir >= 5')", 0)
    return _Parser(str(text), patterns).parse()
