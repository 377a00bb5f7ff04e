"""Run the inline ``tests:`` of rules: each ``match`` case must fire its rule, each ``no_match``
case must not. Cases are evaluated against the whole rule set, as in a crawl."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.rules.engine import RuleSet
from crawler.rules.loader import LoadedRule


@dataclass(slots=True)
class CaseResult:
    rule: LoadedRule
    kind: str  # match | no_match
    index: int
    case: object
    passed: bool
    detail: str = ""

    @property
    def label(self) -> str:
        return f"{self.rule.file}::{self.rule.rule.name}::{self.kind}[{self.index}]"


def case_fields(case: object, rule: LoadedRule) -> dict[str, str]:
    """A string case fills the rule's first field (``text`` when it has it)."""
    if isinstance(case, dict):
        return {k: str(v) for k, v in case.items()}
    fields = rule.rule.detection.fields
    return {"text" if "text" in fields else fields[0]: str(case)}


def run_tests(rules: list[LoadedRule], ruleset: RuleSet | None = None) -> list[CaseResult]:
    ruleset = ruleset or RuleSet(rules)
    results: list[CaseResult] = []
    for lr in rules:
        if not lr.rule.enabled:
            continue
        for kind, cases in (("match", lr.rule.tests.match), ("no_match", lr.rule.tests.no_match)):
            for i, case in enumerate(cases):
                fired = [f for f in ruleset.evaluate(case_fields(case, lr))
                         if f.rule.loaded.rule.id == lr.rule.id]
                ok = bool(fired) == (kind == "match")
                detail = ""
                if not ok and fired:
                    detail = "fired on: " + ", ".join(f"{n}={h.masked!r}" for _f, n, h in fired[0].hits)
                elif not ok:
                    detail = "the rule did not fire"
                results.append(CaseResult(lr, kind, i, case, ok, detail))
    return results


@dataclass(slots=True)
class RuleScore:
    """How a rule does on its own inline tests: ``match`` cases are positives, ``no_match``
    cases negatives (homographs, near misses)."""

    name: str
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None


def rule_scores(results: list[CaseResult]) -> list[RuleScore]:
    scores: dict[str, RuleScore] = {}
    for r in results:
        s = scores.setdefault(r.rule.rule.name, RuleScore(r.rule.rule.name))
        if r.kind == "match":
            s.tp += r.passed
            s.fn += not r.passed
        else:
            s.tn += r.passed
            s.fp += not r.passed
    return list(scores.values())
