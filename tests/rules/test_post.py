"""PostRules: the crawl's contract (alerts, masked matches, reload, key handling)."""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from crawler.config.rules import RulesConfig
from crawler.model import Post
from crawler.rules.errors import RuleError
from crawler.rules.post import PostRules
from tests.support.rules import SHIPPED

NIRS = ["185057800608491", "293027512345668", "177029935001296", "285053306304273", "201014221812324"]


def post(text: str, title: str = "Vente", quoted: str = "") -> Post:
    return Post(forum="f", thread_url="http://x.onion/t/1", thread_title=title, post_id="p1",
                author="a", published=None, text=text, quoted_text=quoted, url="http://x.onion/p/1")


@pytest.fixture
def shipped():
    return PostRules.from_config(RulesConfig(paths=[SHIPPED], fingerprint_key="secret"))


def test_alerts_and_matches_are_masked(shipped):
    p = post("Dump Cerballiance, patients: " + " ; ".join(NIRS) + " tel 0612345678")
    alerts = shipped.apply(p)
    # One incident, one alert: fr-health-leak outranks the narrower rules that also fired.
    assert [a.rule["name"] for a in alerts] == ["fr-health-leak"]
    nir_alert = alerts[0]
    assert {"fr-nir", "fr-nir-bulk", "fr-medical-lab"} <= set(nir_alert.related_rules)
    assert nir_alert.counts == {"nir": 5, "lab": 1}
    assert "1 85 05 ** *** *** 91" in nir_alert.masked
    assert len(nir_alert.fingerprints) == 6
    assert nir_alert.rule["ruleset"] == "fr-health" and nir_alert.rule["level"] == "critical"
    # The outranked rules' matches stay on the post (searchable), only their alerts fold.
    assert {"fr-nir", "fr-nir-bulk"} <= {m["rule"]["name"] for m in p.matches}
    assert {"id", "name", "title", "level", "description", "author", "tags", "references",
            "version"} <= set(nir_alert.rule)
    dumped = json.dumps([a.to_dict() for a in alerts]) + json.dumps(p.matches)
    for n in NIRS:
        assert n not in dumped
    assert "0612345678" not in nir_alert.snippet
    m = next(m for m in p.matches if m["rule"]["name"] == "fr-nir")
    assert set(m) >= {"rule", "pattern", "masked", "fingerprint", "start", "end", "field"}
    assert p.text[m["start"]:m["end"]] == NIRS[0]
    # deterministic alert ids: a replay does not duplicate
    assert [a.id for a in shipped.apply(post(p.text))] == [a.id for a in alerts]


def test_reveal_keeps_clear_values():
    rules = PostRules.from_config(RulesConfig(paths=[SHIPPED], fingerprint_key="s", reveal=True))
    p = post(NIRS[0])
    rules.apply(p)
    assert p.matches[0]["value"] == NIRS[0]


def test_fingerprint_is_keyed(shipped):
    other = PostRules.from_config(RulesConfig(paths=[SHIPPED], fingerprint_key="other"))
    a, b = shipped.apply(post(NIRS[0]))[0], other.apply(post(NIRS[0]))[0]
    assert a.fingerprints != b.fingerprints
    assert shipped.apply(post("1 85 05 78 006 084 91"))[0].fingerprints == a.fingerprints


def test_title_field_and_quoted(shipped):
    p = post("rien", title="fuite " + NIRS[0])
    assert any(a.rule["name"] == "fr-nir" for a in shipped.apply(p))
    assert p.matches[0]["field"] == "title"


def test_missing_key_is_a_rule_error(monkeypatch):
    monkeypatch.delenv("DARKWATCH_FINGERPRINT_KEY", raising=False)
    with pytest.raises(RuleError) as exc:
        PostRules.from_config(RulesConfig(paths=[SHIPPED]))
    assert "DARKWATCH_FINGERPRINT_KEY" in exc.value.problems[0]
    monkeypatch.setenv("DARKWATCH_FINGERPRINT_KEY", "from-env")
    assert PostRules.from_config(RulesConfig(paths=[SHIPPED])).apply(post(NIRS[0]))


def test_invalid_rule_set_refuses_to_load(tmp_path):
    (tmp_path / "bad.yml").write_text("id: x\nname: Bad\n")
    with pytest.raises(RuleError) as exc:
        PostRules.from_config(RulesConfig(paths=[str(tmp_path)], fingerprint_key="k"))
    assert all(p.startswith(str(tmp_path / "bad.yml") + ":") for p in exc.value.problems)


RULE = """id: 33333333-3333-4333-8333-333333333333
name: kw
title: kw
level: low
detection:
  patterns:
    a: {{keywords: [{word}]}}
"""


def _touch_later(path):
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_reload_on_change_and_keep_last_good(tmp_path):
    f = tmp_path / "r.yml"
    f.write_text(RULE.format(word="alpha"))
    rules = PostRules.from_config(RulesConfig(paths=[str(tmp_path)], fingerprint_key="k"))
    assert rules.maybe_reload() is None
    assert rules.apply(post("alpha")) and not rules.apply(post("beta"))
    f.write_text(RULE.format(word="beta"))
    _touch_later(f)
    assert rules.maybe_reload() is None
    assert rules.apply(post("beta")) and not rules.apply(post("alpha"))
    f.write_text(RULE.format(word="beta") + "  condition: a and nope\n")
    _touch_later(f)
    problems = rules.maybe_reload()
    assert problems and f"{f}:8:" in problems[0] and "unknown pattern 'nope'" in problems[0]
    assert rules.apply(post("beta"))  # the last good set is still in force
    assert rules.maybe_reload() is None  # reported once


def test_request_reload_forces_a_reload(tmp_path):
    f = tmp_path / "r.yml"
    f.write_text(RULE.format(word="alpha"))
    rules = PostRules.from_config(RulesConfig(paths=[str(tmp_path)], fingerprint_key="k"))
    st = os.stat(f)
    f.write_text(RULE.format(word="gamma"))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: only the signal can tell
    assert not rules.apply(post("gamma"))
    rules.request_reload()
    assert rules.maybe_reload() is None
    assert rules.apply(post("gamma"))


def test_new_rule_file_is_picked_up(tmp_path):
    shutil.copy(os.path.join(SHIPPED, "fr-health", "fr-nir.yml"), tmp_path / "fr-nir.yml")
    rules = PostRules.from_config(RulesConfig(paths=[str(tmp_path)], fingerprint_key="k"))
    assert not rules.apply(post("alpha"))
    time.sleep(0.01)
    (tmp_path / "kw.yml").write_text(RULE.format(word="alpha"))
    assert rules.maybe_reload() is None
    assert rules.apply(post("alpha"))


def test_sighup_requests_a_reload(tmp_path):
    import signal

    from crawler.rules.post import install_sighup_reload

    f = tmp_path / "r.yml"
    f.write_text(RULE.format(word="alpha"))
    rules = PostRules.from_config(RulesConfig(paths=[str(tmp_path)], fingerprint_key="k"))
    st = os.stat(f)
    f.write_text(RULE.format(word="delta"))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    old = signal.getsignal(signal.SIGHUP)
    try:
        assert install_sighup_reload(rules)
        os.kill(os.getpid(), signal.SIGHUP)
        assert rules.maybe_reload() is None
        assert rules.apply(post("delta"))
    finally:
        signal.signal(signal.SIGHUP, old)


def test_max_samples():
    rules = PostRules.from_config(RulesConfig(paths=[SHIPPED], fingerprint_key="s", max_samples=2))
    (a,) = [x for x in rules.apply(post(" ".join(NIRS))) if x.rule["name"] == "fr-nir-bulk"]
    assert len(a.masked) == 2 and len(a.fingerprints) == 5
