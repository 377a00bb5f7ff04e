"""Every name in the shipped pack has an entry in ``rules/fr-health/sources.csv`` with a source and
a date, ambiguity is marked there and in the rule (the ``*_ambiguous`` lists), and the two agree."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from crawler.rules.normalize import fold_keyword
from crawler.rules.quality import CATEGORY_RULES
from tests.support.rules import ROOT

SOURCES = ROOT / "rules" / "fr-health" / "sources.csv"


def _rows() -> list[dict]:
    with SOURCES.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _fold(words) -> set[str]:
    return {fold_keyword(w, True, True) for w in words}


def test_every_entry_has_a_source_and_a_date():
    rows = _rows()
    assert len(rows) >= 80
    for r in rows:
        assert r["category"] in CATEGORY_RULES, r
        assert r["source"].strip(), r["entry"]
        dt.date.fromisoformat(r["date"])
        assert r["spellings"].strip(), r["entry"]


@pytest.mark.parametrize("category", sorted(CATEGORY_RULES))
def test_rule_lists_match_the_data_file(shipped_rules, category):
    rule = next(lr.rule for lr in shipped_rules if lr.rule.name == CATEGORY_RULES[category])
    pats = rule.detection.patterns
    names = [n for n in pats if pats[n].keywords is not None and n != "context"]
    plain = [n for n in names if not n.endswith("_ambiguous")]
    ambiguous = [n for n in names if n.endswith("_ambiguous")]
    rows = [r for r in _rows() if r["category"] == category]
    want_plain = _fold(s for r in rows if not r["ambiguous"] for s in r["spellings"].split("|"))
    want_amb = _fold(s for r in rows if r["ambiguous"] for s in r["spellings"].split("|"))
    assert _fold(k for n in plain for k in pats[n].keywords) == want_plain
    assert _fold(k for n in ambiguous for k in pats[n].keywords) == want_amb
    if want_amb:  # ambiguous names need context: the condition says so
        assert "near context" in rule.detection.condition


def test_no_name_in_two_categories():
    seen: dict[str, str] = {}
    for r in _rows():
        for s in _fold(r["spellings"].split("|")):
            assert seen.setdefault(s, r["category"]) == r["category"], s
