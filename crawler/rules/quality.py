"""Recall and precision of a rule set on labelled sentences: the pack's quality gate.

A corpus line is ``{"text": ..., "labels": [category, ...]}``; a category is scored through the
rule that stands for it (``CATEGORY_RULES``). Decoys have no label: any rule firing on them is a
false positive of that rule's category.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.rules.engine import RuleSet

CATEGORY_RULES = {
    "lab-network": "fr-medical-lab",
    "lab-software": "fr-lab-software-vendor",
    "hospital-software": "fr-hospital-software",
    "health-platform": "fr-health-platform",
    "health-insurer": "fr-health-insurer",
}


@dataclass(slots=True)
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0


def load_corpus(path: Path) -> list[dict[str, Any]]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not a JSON object ({exc.msg})") from None
    return out


def score(ruleset: RuleSet, corpus: list[dict[str, Any]]) -> tuple[dict[str, Score], list[str]]:
    """Scores per category, and one line per error (what was expected, what fired)."""
    scores = {c: Score() for c in CATEGORY_RULES}
    errors: list[str] = []
    for item in corpus:
        fired = {f.rule.loaded.rule.name for f in ruleset.evaluate({"text": item["text"]})}
        want = set(item.get("labels", ()))
        for cat, rule in CATEGORY_RULES.items():
            got = rule in fired
            s = scores[cat]
            if got and cat in want:
                s.tp += 1
            elif got:
                s.fp += 1
                errors.append(f"false positive {cat}: {item['text']!r}")
            elif cat in want:
                s.fn += 1
                errors.append(f"missed {cat}: {item['text']!r}")
    return scores, errors
