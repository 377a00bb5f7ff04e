"""The crawl pipeline runs the shipped rules: alerts for the fixture's NIR posts, masked."""

from __future__ import annotations

import json

import pytest

from darkwatch_lab import forum_text as ft
from tests.support.cli import REPO, darkwatch, export, write_config

pytestmark = pytest.mark.integration


def test_crawl_raises_masked_alerts_for_posts_with_valid_nirs(forum, tmp_path, monkeypatch):
    monkeypatch.setenv("DARKWATCH_FINGERPRINT_KEY", "test-key-0123456789abcdef")
    cfg = write_config(tmp_path / "darkwatch.yml", [forum.forum_config("phpbb")],
                       rules={"paths": [str(REPO / "rules")]})
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q")
    assert res.returncode == 0, res.stdout + res.stderr

    truth = forum.public_truth("phpbb")
    with_nir = {t["post_id"] for t in truth
                if any(ft.nir_valid(n) for n in filter(None, map(ft.normalise_nir,
                       (m.group(0) for m in ft.NIR_LIKE.finditer(t["text"])))))}
    assert with_nir, "the fixture must contain NIR posts"

    out = darkwatch("alerts", "list", "--config", str(cfg), "--format", "jsonl", "--limit", "100000")
    assert out.returncode == 0, out.stderr
    alerts = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    # Every post with a valid NIR alerts, through fr-nir or a rule that outranks it (a dump,
    # a lab leak), which then names fr-nir as related.
    def about_nir(a):
        return a["rule"]["name"] == "fr-nir" or "fr-nir" in a.get("related_rules", [])

    nir_alerts = {a["post_id"] for a in alerts if about_nir(a)}
    assert nir_alerts == with_nir
    assert {a["rule"]["name"] for a in alerts if about_nir(a)} >= {"fr-nir", "fr-health-leak"}

    # No clear NIR anywhere in alert records or in the posts' match lists.
    clear = set(forum.server.valid_nirs())
    blob = out.stdout + json.dumps([p.get("matches", []) for p in export(cfg)])
    compact = blob.replace(" ", "").replace(".", "").replace("-", "")
    assert not [n for n in clear if n in compact]
    for a in alerts:
        if about_nir(a):
            assert a["fingerprints"] and all(len(f) >= 32 for f in a["fingerprints"])
            # NIR samples are masked (keyword samples such as a lab name are shown as found).
            nir_like = [m for m in a["masked"] if sum(c.isdigit() for c in m) >= 6]
            assert nir_like and all("*" in m for m in nir_like), a["masked"]


def test_crawl_refuses_to_start_with_a_broken_rule(forum, tmp_path, monkeypatch):
    monkeypatch.setenv("DARKWATCH_FINGERPRINT_KEY", "test-key-0123456789abcdef")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yml").write_text(
        "id: 3f1c2a55-0d6e-4c1b-9c55-2f1e0b6f7a10\nname: bad-rule\ntitle: Bad\nlevel: high\n"
        "status: test\ndetection:\n  patterns:\n    x: {regex: '(a)\\1'}\n  condition: x\n")
    cfg = write_config(tmp_path / "darkwatch.yml", [forum.forum_config("mybb")],
                       rules={"paths": [str(rules)]})
    forum.server.reset_requests()
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "bad.yml:" in res.stderr
    assert forum.server.requests == []  # nothing fetched
