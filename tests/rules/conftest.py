"""The shipped rule packs, loaded once per session."""

from __future__ import annotations

import pytest

from crawler.rules.engine import RuleSet
from crawler.rules.loader import load_rules
from tests.support.rules import SHIPPED


@pytest.fixture(scope="session")
def shipped_rules():
    return load_rules([SHIPPED])[0]


@pytest.fixture(scope="session")
def nir_ruleset(shipped_rules):
    return RuleSet([r for r in shipped_rules if r.rule.name == "fr-nir"])
