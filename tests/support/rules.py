"""Rule files for the rule tests: the shipped packs' path, one-off rules written to disk and
loaded, and the (field, text) hits of a rule set on a document."""

from __future__ import annotations

from pathlib import Path

from crawler.rules.engine import RuleSet
from crawler.rules.loader import load_rules

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = str(ROOT / "rules")


def write_rule(tmp_path: Path, name: str, body: str) -> Path:
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return p


RULE_HEAD = """id: {id}
name: {name}
title: test rule
level: high
"""

UUIDS = iter(f"00000000-0000-4000-8000-{i:012d}" for i in range(1, 1000))


def ruleset(tmp_path, detection: str, name: str = "t") -> RuleSet:
    body = (f"id: {next(UUIDS)}\nname: {name}\ntitle: t\nlevel: high\ndetection:\n"
            + "\n".join("  " + line for line in detection.strip("\n").splitlines()) + "\n")
    write_rule(tmp_path, f"{name}.yml", body)
    rules, _ = load_rules([str(tmp_path / f"{name}.yml")])
    return RuleSet(rules)


def hits(rs: RuleSet, text: str, **fields) -> list[tuple[str, str]]:
    doc = {"text": text, **fields}
    out = []
    for f in rs.evaluate(doc):
        out += [(p, doc[field][h.start:h.end]) for field, p, h in f.hits]
    return out
