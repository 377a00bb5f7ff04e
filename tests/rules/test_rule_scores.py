"""``rules test --scores``: per-rule recall and precision on the inline tests."""

from __future__ import annotations

from tests.support.cli import darkwatch

RULE = """id: 00000000-0000-4000-8000-000000000777
name: scored
title: t
level: low
detection:
  patterns:
    a: {keywords: [alpha]}
tests:
  match: ["alpha", "beta"]
  no_match: ["gamma", "alpha again"]
"""


def test_scores_count_missed_matches_and_false_alarms(tmp_path):
    (tmp_path / "r.yml").write_text(RULE)
    res = darkwatch("rules", "test", "--scores", str(tmp_path))
    assert res.returncode == 1
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("scored "))
    assert line.split()[1:] == ["2", "2", "0.50", "0.50"]


def test_shipped_pack_scores_are_perfect_on_its_own_tests():
    res = darkwatch("rules", "test", "--scores", "rules/")
    assert res.returncode == 0, res.stdout
    rows = [ln.split() for ln in res.stdout.splitlines() if ln.startswith(("fr-", "email-", "leak-"))]
    assert len(rows) >= 20 and all(r[3] == "1.00" and r[4] in ("1.00", "-") for r in rows), rows
