"""Detectors are registered like validators (crawler.rules.detectors): the engine, the loader's
checks and the schema know them only through the registry."""

from __future__ import annotations

import json
import re

from crawler.rules import detectors
from crawler.rules.detectors import DETECTORS, Detector
from crawler.rules.engine import RuleSet
from crawler.rules.loader import check_detector, check_regex, check_validator, load_rules
from tests.support.cli import REPO
from tests.support.rules import write_rule

RULE = """id: 00000000-0000-4000-8000-000000000001
name: tickets
title: t
level: low
detection:
  fields: [text]
  patterns:
    ticket: {{detector: {name}}}
  condition: ticket
"""


def _find_tickets(data: bytes, shared: dict) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group().decode()) for m in re.finditer(rb"TCK-\d{4}", data)]


def test_a_registered_detector_is_used_by_loader_and_engine(tmp_path, monkeypatch):
    monkeypatch.setitem(DETECTORS, "test-ticket", Detector(
        "test-ticket", "a test ticket", _find_tickets, lambda c: c[:4] + "****"))
    write_rule(tmp_path, "t.yml", RULE.format(name="test-ticket"))
    rules, problems = load_rules([str(tmp_path / "t.yml")])
    assert problems == []
    (firing,) = RuleSet(rules).evaluate({"text": "é voir TCK-1234 et TCK-9876"})
    assert [(h.start, h.end, h.canonical, h.masked) for _f, _p, h in firing.hits] == [
        (7, 15, "TCK-1234", "TCK-****"), (19, 27, "TCK-9876", "TCK-****")]


def test_an_unknown_detector_is_refused_naming_the_registry(tmp_path):
    write_rule(tmp_path, "t.yml", RULE.format(name="fr-nope"))
    try:
        load_rules([str(tmp_path / "t.yml")])
    except Exception as exc:  # RuleError: every problem with its position
        text = str(exc) + " ".join(str(p) for p in getattr(exc, "problems", []))
    else:
        raise AssertionError("an unknown detector was accepted")
    assert "t.yml:8:24:" in text and "unknown detector 'fr-nope'" in text
    assert all(name in text for name in DETECTORS)


def test_each_semantic_check_is_its_own_function():
    assert check_regex("patterns", "p", {"regex": "(a)\\1"})[0] == "regex"
    assert check_regex("patterns", "p", {"regex": "a+"}) is None
    assert check_validator("patterns", "p", {"validator": "nope"})[0] == "validator"
    assert check_validator("patterns", "p", {"validator": "luhn"}) is None
    assert check_detector("patterns", "p", {"detector": "fr-nir"}) is None


def test_schema_describes_every_registered_detector_and_validator():
    from crawler.rules.validators import VALIDATORS

    text = json.dumps(json.loads((REPO / "rules" / "schema.json").read_text()))
    for d in detectors.DETECTORS.values():
        assert f"{d.name} ({d.description})" in text
    assert ", ".join(VALIDATORS) in text
