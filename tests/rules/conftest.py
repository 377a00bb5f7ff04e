from __future__ import annotations

from pathlib import Path

import pytest

from crawler.rules.engine import RuleSet
from crawler.rules.loader import load_rules

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = str(ROOT / "rules")


@pytest.fixture(scope="session")
def shipped_rules():
    return load_rules([SHIPPED])[0]


@pytest.fixture(scope="session")
def nir_ruleset(shipped_rules):
    return RuleSet([r for r in shipped_rules if r.rule.name == "fr-nir"])


def write_rule(tmp_path: Path, name: str, body: str) -> Path:
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return p


RULE_HEAD = """id: {id}
name: {name}
title: test rule
level: high
"""
