"""Issue 14 end to end: a FINESS extract imported into rules and an organisation's watchlist
compiled into rules are linted, tested, then used by a real crawl of the fixture forum, which
raises their alerts on the posts that name a lab of the register or one of the watched assets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import darkwatch, write_config

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "rules" / "data"


def test_imported_register_and_watchlist_alert_during_a_crawl(forum, tmp_path, monkeypatch):
    monkeypatch.setenv("DARKWATCH_FINGERPRINT_KEY", "test-key-0123456789abcdef")
    rules = tmp_path / "rules"
    rules.mkdir()
    # import -> lint -> test
    for cmd in (("rules", "import", "finess", str(DATA / "finess-sample.csv"),
                 "-o", str(rules / "finess-labs.yml")),
                ("rules", "watchlist", str(DATA / "watchlist-sample.yml"),
                 "-o", str(rules / "watch.yml")),
                ("rules", "lint", str(rules)),
                ("rules", "test", str(rules))):
        res = darkwatch(*cmd)
        assert res.returncode == 0, (cmd, res.stdout, res.stderr)

    board = forum.server.board_ids(private=False)[0]
    forum.server.add_thread(board, "[VENTE] dump_lbm_biolab_armor_site_paimpol.sql", "d4rkL4b",
                            "Extraction complète du LBM Biolab Armor site Paimpol, 2019-2024.")
    forum.server.add_thread(board, "accès VPN", "zer0day_fr",
                            "vpn.biolab-armor.example + comptes j.martin@biolab-armor.example")

    cfg = write_config(tmp_path / "darkwatch.yml", [forum.forum_config("phpbb")],
                       rules={"paths": [str(rules)]})
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q")
    assert res.returncode == 0, res.stdout + res.stderr

    out = darkwatch("alerts", "list", "--config", str(cfg), "--format", "jsonl", "--limit", "1000")
    assert out.returncode == 0, out.stderr
    alerts = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    by_rule: dict[str, list[dict]] = {}
    for a in alerts:
        by_rule.setdefault(a["rule"]["name"], []).append(a)
    assert set(by_rule) == {"finess-611", "watch-biolab-armor"}, sorted(by_rule)
    assert {a["thread_title"] for a in by_rule["finess-611"]} == {
        "[VENTE] dump_lbm_biolab_armor_site_paimpol.sql"}
    assert {a["thread_title"] for a in by_rule["watch-biolab-armor"]} >= {"accès VPN"}
    # the e-mail address is a regex match: masked in the alert, never in clear
    assert "j.martin@biolab-armor.example" not in out.stdout
