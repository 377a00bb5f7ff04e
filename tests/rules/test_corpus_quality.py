"""Acceptance of issue 14: recall and precision >= 0.95 per category on a sentence corpus built
from the sources (press articles about the 2021 lab leak and the 2024 third-party-payment leak,
trade press, vendor pages), with decoys: homographs, near misses, people's names."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.rules.engine import RuleSet
from crawler.rules.quality import CATEGORY_RULES, load_corpus, score

CORPUS = Path(__file__).parent / "corpus" / "names.jsonl"


@pytest.fixture(scope="module")
def scored(shipped_rules):
    return score(RuleSet(shipped_rules), load_corpus(CORPUS))


def test_corpus_has_positives_and_decoys_per_category():
    corpus = load_corpus(CORPUS)
    for cat in CATEGORY_RULES:
        assert sum(cat in c["labels"] for c in corpus) >= 10, cat
    assert sum(not c["labels"] for c in corpus) >= 30


@pytest.mark.parametrize("category", sorted(CATEGORY_RULES))
def test_recall_and_precision(scored, category):
    scores, errors = scored
    s = scores[category]
    detail = "\n".join(e for e in errors if category in e)
    assert s.recall >= 0.95, f"recall {s.recall:.3f} ({s.tp} tp, {s.fn} fn)\n{detail}"
    assert s.precision >= 0.95, f"precision {s.precision:.3f} ({s.tp} tp, {s.fp} fp)\n{detail}"
