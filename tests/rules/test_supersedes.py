"""``supersedes``: one incident, one alert; the outranked rules are named, their matches kept."""

from __future__ import annotations

from stdnum.fr import nir as stdnir

from crawler.config.rules import RulesConfig
from crawler.model import Post
from crawler.rules.post import PostRules
from tests.support.cli import darkwatch
from tests.support.rules import SHIPPED


def valid_nirs(n: int) -> list[str]:
    bodies = [f"1850578006{serial:03d}" for serial in range(1, n + 1)]
    out = [b + stdnir.calc_check_digits(b) for b in bodies]
    assert all(stdnir.is_valid(x) for x in out)
    return out


def post(text: str) -> Post:
    return Post(forum="f", thread_url="http://x.onion/t/9", thread_title="fichier", post_id="p9",
                author="a", published=None, text=text, quoted_text="", url="http://x.onion/p/9")


def names(alerts) -> list[str]:
    return sorted(a.rule["name"] for a in alerts)


def rules() -> PostRules:
    return PostRules.from_config(RulesConfig(paths=[SHIPPED], fingerprint_key="k"))


def test_a_lab_dump_is_one_critical_alert():
    nirs = valid_nirs(200)
    text = "Dump Cerballiance patients\n" + "\n".join(f"DUPONT;Jean;{n};O+" for n in nirs)
    alerts = rules().apply(post(text))
    assert names(alerts) == ["fr-health-leak"]
    a = alerts[0]
    assert a.level == "critical" and a.counts["nir"] == 200
    assert {"fr-nir-bulk", "fr-nir", "fr-medical-lab"} <= set(a.related_rules)


def test_levels_step_down_when_the_outranking_rule_does_not_fire():
    r = rules()
    bulk = r.apply(post(" ; ".join(valid_nirs(6))))
    assert names(bulk) == ["fr-nir-bulk"] and bulk[0].related_rules == ["fr-nir"]
    single = r.apply(post("mon numéro " + valid_nirs(1)[0]))
    assert names(single) == ["fr-nir"] and single[0].related_rules == []


RULE = """id: {id}
name: {name}
title: t
level: high
supersedes: {sup}
detection:
  patterns:
    k:
      keywords: [zorglub]
  condition: k
"""


def test_lint_rejects_unknown_self_and_cyclic_supersedes(tmp_path):
    (tmp_path / "a.yml").write_text(RULE.format(id="11111111-1111-4111-8111-111111111111", name="a",
                                                sup="[b, nope]"))
    (tmp_path / "b.yml").write_text(RULE.format(id="22222222-2222-4222-8222-222222222222", name="b",
                                                sup="[a, b]"))
    res = darkwatch("rules", "lint", str(tmp_path))
    assert res.returncode == 2
    out = res.stdout + res.stderr
    assert "a.yml:1:1: supersedes: unknown rule 'nope'" in out
    assert "b.yml:1:1: supersedes: a rule cannot supersede itself ('b')" in out
    assert "supersedes: cycle through 'a'" in out and "supersedes: cycle through 'b'" in out
