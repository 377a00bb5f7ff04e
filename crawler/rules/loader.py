"""Read rule files, check them, and report every defect as ``file:line:col: message``.

Used by ``darkwatch rules lint`` (report everything) and by the crawl (refuse to start, or keep
the previous rule set on a reload). Structural checks come from :mod:`crawler.rules.schema`;
semantic ones (condition names, RE2 compilation, validators, duplicate ids) are done here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import re2
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from crawler.problems import Problem
from crawler.rules.condition import ConditionSyntaxError, Node, parse_condition
from crawler.rules.detectors import DETECTORS
from crawler.rules.errors import RuleError
from crawler.rules.re2_options import RE2_OPTIONS
from crawler.rules.schema import Rule
from crawler.rules.validators import VALIDATORS
from crawler.yamlpos import LocatedDoc, YamlError, load_documents, read_text

RULE_SUFFIXES = (".yml", ".yaml")
_RE2_OPTIONS = RE2_OPTIONS


@dataclass(slots=True)
class LoadedRule:
    rule: Rule
    file: str
    line: int
    ruleset: str  # the pack: name of the folder holding the file
    condition: Node

    def meta(self) -> dict[str, Any]:
        r = self.rule
        return {
            "id": r.id, "name": r.name, "title": r.title, "level": r.level,
            "description": r.description.strip(),
            "author": [r.author] if isinstance(r.author, str) and r.author else
                      (list(r.author) if isinstance(r.author, list) else []),
            "tags": list(r.tags), "references": list(r.references),
            "version": str(r.modified or r.date or ""), "status": r.status, "ruleset": self.ruleset,
            **({"escalates": True} if r.escalates else {}),
        }


def rule_files(paths: list[str]) -> tuple[list[Path], list[Problem]]:
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix in RULE_SUFFIXES and f.is_file()
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:  # missing, or a FIFO/socket/device: say which
            from crawler.paths import input_problem

            why = input_problem(p, allow_dir=True) or "not a rule file"
            problems.append(Problem(str(p), 1, 1, f"{why} (check rules.paths in the config)"))
    if not files and not problems:
        problems.append(Problem(", ".join(paths) or "<none>", 1, 1,
                                    "no rule files (*.yml) found"))
    return files, problems


def regex_problem(pattern: str) -> str | None:
    """Why RE2 refuses ``pattern``, with a rewrite hint; None if it compiles."""
    try:
        re2.compile(pattern, _RE2_OPTIONS)
        return None
    except re2.error as exc:
        msg = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        hint = ""
        if "escape sequence: \\" in msg and any(f"\\{d}" in pattern for d in "123456789"):
            hint = (" RE2 has no backreferences (\\1): match the repeated text explicitly, "
                    "or use a keyword list")
        elif "(?=" in pattern or "(?!" in pattern or "(?<" in pattern and "(?<P" not in pattern:
            hint = (" RE2 has no lookaround: match the context as part of the regex, or split it "
                    "into two patterns and combine them with 'near' in the condition")
        return f"RE2 rejects this regex: {msg}.{hint}"


def _doc_rules(doc: LocatedDoc) -> list[tuple[object, tuple[int, ...]]]:
    if isinstance(doc.data, list):
        return [(item, (i,)) for i, item in enumerate(doc.data)]
    return [(doc.data, ())]


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


# Semantic checks on one raw pattern mapping, one function per check (pySigma's rule validators
# are the model): each returns (the key it is about, the message) or None. They run on the raw
# mapping, so they report even when the pattern's structure has other defects.
PatternCheck = Callable[[str, str, dict[str, Any]], "tuple[str, str] | None"]


def check_regex(group: str, name: str, pat: dict[str, Any]) -> tuple[str, str] | None:
    """The regex compiles under RE2 (no backreferences or lookaround)."""
    if isinstance(pat.get("regex"), str):
        why = regex_problem(pat["regex"])
        if why:
            return "regex", f"detection.{group}.{name}.regex: {why}"
    return None


def check_validator(group: str, name: str, pat: dict[str, Any]) -> tuple[str, str] | None:
    """The validator is registered (crawler.rules.validators)."""
    v = pat.get("validator")
    if v is not None and v not in VALIDATORS:
        return "validator", f"unknown validator {v!r} (known: {', '.join(sorted(VALIDATORS))})"
    return None


def check_detector(group: str, name: str, pat: dict[str, Any]) -> tuple[str, str] | None:
    """The detector is registered (crawler.rules.detectors)."""
    d = pat.get("detector")
    if d is not None and d not in DETECTORS:
        return "detector", f"unknown detector {d!r} (known: {', '.join(DETECTORS)})"
    return None


PATTERN_CHECKS: tuple[PatternCheck, ...] = (check_regex, check_validator, check_detector)


def _semantic(data: dict[str, Any], base: tuple[Any, ...], doc: LocatedDoc, file: str,
              problems: list[Problem]) -> Node | None:
    """Every pattern check on every pattern, then the condition (parsed, for the rule)."""
    det = data.get("detection")
    if not isinstance(det, dict):
        return None
    dpath = (*base, "detection")
    for group in ("patterns", "exclude"):
        pats = det.get(group)
        if not isinstance(pats, dict):
            continue
        for pname, pat in pats.items():
            if not isinstance(pat, dict):
                continue
            for check in PATTERN_CHECKS:
                found = check(group, str(pname), pat)
                if found:
                    line, col = doc.where((*dpath, group, pname, found[0]))
                    problems.append(Problem(file, line, col, found[1]))
    return _condition(det, dpath, doc, file, problems)


def _condition(det: dict[str, Any], dpath: tuple[Any, ...], doc: LocatedDoc, file: str,
               problems: list[Problem]) -> Node | None:
    """The condition parses and names only declared patterns."""
    names = [str(n) for n in det.get("patterns", {})] if isinstance(det.get("patterns"), dict) else []
    cond = det.get("condition", "any")
    try:
        return parse_condition(str(cond), names)
    except ConditionSyntaxError as exc:
        ln, cl = doc.where((*dpath, "condition"))
        problems.append(Problem(file, ln, cl, f"detection.condition: {exc} "
                                    f"(at character {exc.offset + 1} of the condition)"))
        return None


def load_file(path: Path) -> tuple[list[LoadedRule], list[Problem]]:
    file = str(path)
    try:
        text = read_text(path)  # bounded size; non-UTF-8 bytes at their line:col
        docs = load_documents(text)  # bounded aliases: an alias bomb is refused, not expanded
    except YamlError as exc:
        return [], [Problem(file, exc.line, exc.column, exc.describe())]
    except OSError as exc:
        return [], [Problem(file, 1, 1, f"cannot read: {exc.strerror or exc}")]
    out: list[LoadedRule] = []
    problems: list[Problem] = []
    ruleset = path.parent.name
    for doc in docs:
        for data, base in _doc_rules(doc):
            line, col = doc.where(base)
            if not isinstance(data, dict):
                problems.append(Problem(file, line, col, "a rule must be a mapping with keys "
                                            "like 'id', 'name', 'detection'"))
                continue
            cond = _semantic(data, base, doc, file, problems)
            try:
                rule = Rule.model_validate(data)
            except ValidationError as exc:
                for err in exc.errors():
                    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p
                                                               or p in ("str", "function-after")))
                    key_pos = (*base, *loc, "__key__")
                    ln, cl = doc.lines.get(key_pos) or doc.where((*base, *loc))
                    if err["type"] == "string_type" and err["loc"][:1] == ("tests",) and any(
                            e["loc"][:3] == err["loc"][:3] and e["type"] != "string_type"
                            for e in exc.errors()):
                        continue  # a mapping case with a bad field: that error says it all
                    problem = Problem(file, ln, cl, f"{_dotted(loc)}: {_explain(err)}")
                    if problem not in problems:
                        problems.append(problem)
                continue
            if cond is not None:
                out.append(LoadedRule(rule, file, line, ruleset, cond))
    return out, problems


def _explain(err: ErrorDetails) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key (check its spelling; rules/schema.json lists the keys)"
    if kind in ("string_type", "dict_type") and err["loc"][:1] == ("tests",):
        return "a test case is a string or a mapping of fields (title, text, quoted_text, author)"
    if kind == "missing":
        return "required key is missing"
    if kind == "too_short" and err["loc"][-1:] == ("keywords",):
        return "the keyword list is empty: write at least one keyword, or remove the pattern"
    if kind == "too_short":
        return "must not be empty"
    if kind == "string_pattern_mismatch" and err["loc"][-1:] == ("id",):
        return "must be a UUID (generate one: python -c 'import uuid; print(uuid.uuid4())')"
    if kind == "string_pattern_mismatch" and err["loc"][-1:] == ("name",):
        return "must be a slug: lowercase letters, digits, '-' or '_' (e.g. 'fr-nir')"
    msg: str = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if kind == "literal_error":
        msg = f"{msg.replace('Input should be', 'expected')}, got {err.get('input')!r}"
    return msg


def load_rules(paths: list[str], strict: bool = True) -> tuple[list[LoadedRule], list[Problem]]:
    """All rules under ``paths`` and every problem found (duplicates across files included)."""
    files, problems = rule_files(paths)
    rules: list[LoadedRule] = []
    for f in files:
        r, p = load_file(f)
        rules.extend(r)
        problems.extend(p)
    seen_id: dict[str, LoadedRule] = {}
    seen_name: dict[str, LoadedRule] = {}
    for lr in rules:
        for key, seen, what in ((lr.rule.id.lower(), seen_id, "id"), (lr.rule.name, seen_name, "name")):
            if key in seen:
                first = seen[key]
                problems.append(Problem(lr.file, lr.line, 1, f"duplicate rule {what} {key!r} "
                                            f"(first used at {first.file}:{first.line}); "
                                            f"every rule needs its own {what}"))
            else:
                seen[key] = lr
    problems.extend(supersedes_problems(rules, seen_name))
    if strict and problems:
        raise RuleError(problems)
    return rules, problems


def supersedes_problems(rules: list[LoadedRule], by_name: dict[str, LoadedRule]) -> list[Problem]:
    """Every name in ``supersedes`` must be another rule of the set, without cycles."""
    out: list[Problem] = []
    for lr in rules:
        for name in lr.rule.supersedes:
            if name == lr.rule.name:
                out.append(Problem(lr.file, lr.line, 1, f"supersedes: a rule cannot supersede "
                                       f"itself ({name!r}); remove it from the list"))
            elif name not in by_name:
                out.append(Problem(lr.file, lr.line, 1, f"supersedes: unknown rule {name!r}; "
                                       "use the name: of a rule loaded with this one"))
    for lr in rules:
        if lr.rule.name in superseded_by(lr.rule.name, by_name):
            out.append(Problem(lr.file, lr.line, 1, f"supersedes: cycle through "
                                   f"{lr.rule.name!r}; two rules cannot outrank each other"))
    return out


def superseded_by(name: str, by_name: dict[str, LoadedRule]) -> set[str]:
    """Names ``name`` outranks, directly or through the rules it outranks."""
    out: set[str] = set()
    todo = list(by_name[name].rule.supersedes) if name in by_name else []
    while todo:
        n = todo.pop()
        if n in out or n not in by_name:
            continue
        out.add(n)
        todo.extend(by_name[n].rule.supersedes)
    return out


def duplicate_keyword_warnings(rules: list[LoadedRule]) -> list[str]:
    """Names listed by two rules where neither outranks the other (e.g. a lab imported from
    FINESS that the pack also lists as a vendor): one post would raise two alerts. Context
    patterns (named ``context``) are shared on purpose and not reported."""
    from crawler.rules.normalize import fold_keyword

    by_name = {lr.rule.name: lr for lr in rules}
    outranks = {lr.rule.name: superseded_by(lr.rule.name, by_name) for lr in rules}
    first: dict[str, LoadedRule] = {}
    out: list[str] = []
    reported: set[tuple[str, str]] = set()
    for lr in rules:
        seen_here: set[str] = set()
        for pname, pat in lr.rule.detection.patterns.items():
            if pat.keywords is None or pname == "context":
                continue
            for kw in pat.keywords:
                key = fold_keyword(kw, True, True)
                if key in seen_here:
                    continue
                seen_here.add(key)
                other = first.setdefault(key, lr)
                a, b = other.rule.name, lr.rule.name
                if other is lr or b in outranks[a] or a in outranks[b] or (a, b) in reported:
                    continue
                reported.add((a, b))
                out.append(f"{lr.file}:{lr.line}: keyword {kw!r} of rule {b!r} is also in rule "
                           f"{a!r} ({other.file}:{other.line}); a post naming it alerts twice "
                           "(keep it in one rule, or make one rule supersede the other)")
    return out


def mtimes(paths: list[str]) -> dict[str, float]:
    """Rule files and their modification times: a change (or a new/removed file) means reload."""
    files, _ = rule_files(paths)
    out: dict[str, float] = {}
    for f in files:
        try:
            out[str(f)] = os.stat(f).st_mtime_ns
        except OSError:
            continue
    return out
