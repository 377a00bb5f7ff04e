"""Issue 16: MyBB with a Russian and a German interface, crawled end to end.

The fixture is anchored at the real "now" so the skins render MyBB's relative forms
("5 минут назад", "4 часа назад", "Вчера, 15:04", "Сегодня, 00:30", "vor 4 Stunden",
"Gestern, 15:04") next to absolute day-first dates; every stored post must carry the
truth's UTC time to the minute, and a date that lost its time of day must be counted.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from darkwatch_lab.forum import FixtureForum
from tests.support.cli import darkwatch, export, write_config

pytestmark = pytest.mark.integration

# Zones across the globe: one of them is always between 13:00 and 22:00 local, so "today"
# (>= 12 h ago, same local day) and "yesterday" forms both exist whatever the hour of CI.
ZONES = ("Europe/Moscow", "Asia/Vladivostok", "Pacific/Kiritimati", "America/Los_Angeles",
         "America/New_York", "Asia/Kolkata", "Europe/Kyiv", "Asia/Tokyo", "Pacific/Honolulu",
         "Atlantic/Azores", "America/Sao_Paulo", "Asia/Dubai", "Asia/Bangkok", "Australia/Sydney")


def afternoon_zone(now: datetime) -> str:
    for zone in ZONES:
        if 13 <= now.astimezone(ZoneInfo(zone)).hour <= 21:
            return zone
    raise AssertionError("no zone in the afternoon: extend ZONES")


@pytest.fixture(scope="module")
def lab():
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    zone = afternoon_zone(now)
    server = FixtureForum(seed=3, skins=("mybb-ru", "mybb-de"), anchor=now, mybb_i18n_tz=zone,
                          big_board_threads=12)
    local = now.astimezone(ZoneInfo(zone))
    # One new thread per relative form (new threads: add_post would clamp to the last post).
    forms = {
        "minutes": now - timedelta(minutes=7),
        "hours": now - timedelta(hours=4, minutes=10),
        "today": local.replace(hour=0, minute=30),
        "yesterday": (local - timedelta(days=1)).replace(hour=15, minute=4),
        "ambiguous": (local - timedelta(days=9)).replace(hour=8, minute=5),
    }
    for form, when in forms.items():
        server.content.add_thread(3, f"Форма даты {form}", "иван_петров", f"Пост с датой вида {form}.",
                                  when=when)
    server.start()
    try:
        yield server, zone
    finally:
        server.stop()


def forum_config(server: FixtureForum, skin: str, zone: str, **extra) -> dict:
    return {
        "name": skin.replace("-", "_"), "engine": "mybb", "delay": 0, "timeout": 20, "timezone": zone,
        "start_urls": [server.base_url + server.board_page_path(skin, b) for b in server.board_ids(False)],
        **extra,
    }


@pytest.mark.parametrize("skin,extra", [("mybb-ru", {}), ("mybb-de", {"language": "de"})],
                         ids=["ru-from-html-lang", "de-configured"])
def test_every_post_once_with_author_utc_time_and_body(lab, tmp_path, skin, extra):
    server, zone = lab
    page = server.skins[skin].date  # the forms the skin rendered must include the relative ones
    shown = " ".join(page(p.published) for p in server.content.posts.values() if p.pid < 900000)
    words = {"mybb-ru": ("минут", "назад", "Вчера", "Сегодня"), "mybb-de": ("vor ", "Gestern", "Heute")}
    assert all(w in shown for w in words[skin]), shown[-400:]

    cfg = write_config(tmp_path / "darkwatch.yml", [forum_config(server, skin, zone, **extra)])
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q", "--report", str(tmp_path / "r.json"))
    assert res.returncode == 0, res.stdout + res.stderr
    truth = {t["post_id"]: t for t in server.truth(engine=skin, private=False)}
    stored = export(cfg)
    ids = Counter(p["post_id"] for p in stored)
    assert [pid for pid, n in ids.items() if n > 1] == []
    assert set(ids) == set(truth)
    wrong = []
    for post in stored:
        want = truth[post["post_id"]]
        got = datetime.fromisoformat(post["published"].replace("Z", "+00:00"))
        exp = datetime.fromisoformat(want["published"].replace("Z", "+00:00"))
        if abs((got - exp).total_seconds()) > 60:
            wrong.append((post["post_id"], post["published"], want["published"]))
        for field in ("author", "text", "quoted_text"):
            if post[field] != want[field]:
                wrong.append((post["post_id"], field, post[field], want[field]))
    assert wrong == [], wrong[:5]
    (row,) = json.loads((tmp_path / "r.json").read_text())["forums"]
    assert row["posts_new"] == len(truth) and row["status"] == "ok"
    assert "date-without-time" not in row.get("warnings", {})


def day_only_posts(server: FixtureForum, skin: str) -> int:
    """Public posts the skin shows as "Сегодня, 10:30"/"Вчера, 15:04" (title = bare day)."""
    skin_ = server.skins[skin]
    public = {t["post_id"] for t in server.truth(engine=skin, private=False)}
    return sum(1 for p in server.content.posts.values() if str(p.pid) in public
               and (">Сегодня<" in skin_.date(p.published) or ">Вчера<" in skin_.date(p.published)))


def test_date_without_time_is_counted_not_silent(lab, tmp_path):
    """Reading only MyBB's title (a bare day on "Вчера"/"Сегодня") must be reported."""
    server, zone = lab
    only_title = {"selectors": {"published": "span.post_date > span[title]::attr(title)"}}
    cfg = write_config(tmp_path / "darkwatch.yml",
                       [forum_config(server, "mybb-ru", zone, **only_title)])
    before = day_only_posts(server, "mybb-ru")
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "--report", str(tmp_path / "r.json"))
    after = day_only_posts(server, "mybb-ru")  # a post may cross the 12 h line meanwhile
    assert before >= 2, "the fixture must show today and yesterday forms"
    (row,) = json.loads((tmp_path / "r.json").read_text())["forums"]
    assert min(before, after) <= row["warnings"].get("date-without-time", 0) <= max(before, after), \
        (row["warnings"], res.stdout[-2000:])
    assert "has no time of day" in res.stdout + res.stderr


def test_forums_test_shows_language_and_zone_per_date(lab, tmp_path):
    server, zone = lab
    cfg = write_config(tmp_path / "darkwatch.yml", [forum_config(server, "mybb-ru", zone)])
    tid = next(t.tid for t in server.content.threads.values() if t.title == "Форма даты yesterday")
    url = server.base_url + server.thread_page_path("mybb-ru", tid, 1)
    res = darkwatch("forums", "test", "mybb_ru", "--config", str(cfg), "--direct", "--url", url,
                    timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"dates: read in language ru (from <html lang>; then en, fr), zone {zone}" in res.stdout
    assert f"date   'Вчера, 15:04' [ru, {zone}]" in res.stdout


RU_SALE = ("Продаю базу пациентов французской лаборатории Cerballiance, 240к строк. "
           "Образец: Дюпон;Жан;1 85 05 78 006 084 91. Цена 1.5 BTC, гарант.")
FR_SALE = ("Je vends la base patients de Cerballiance, 240k lignes. "
           "Échantillon : Dupont;Jean;1 85 05 78 006 084 91. Prix 1,5 BTC, escrow.")


def test_russian_sale_post_with_a_nir_raises_one_critical_alert(tmp_path, monkeypatch):
    """Issue 16: the same post in Russian and in French both give one critical alert."""
    from tests.support.cli import REPO

    monkeypatch.setenv("DARKWATCH_FINGERPRINT_KEY", "test-key-0123456789abcdef")
    with FixtureForum(seed=5, skins=("mybb-ru",), big_board_threads=3) as server:
        ru = server.add_thread(2, "Слив FR медицина", "vendor_ru", RU_SALE)
        fr = server.add_thread(2, "Vente base labo", "vendeur_fr", FR_SALE)
        cfg = write_config(tmp_path / "darkwatch.yml",
                           [forum_config(server, "mybb-ru", "Europe/Moscow")],
                           rules={"paths": [str(REPO / "rules")]})
        res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q")
        assert res.returncode == 0, res.stdout + res.stderr
        pid = {th: server.content.threads[th].posts[0].pid for th in (ru, fr)}
    out = darkwatch("alerts", "list", "--config", str(cfg), "--format", "jsonl", "--limit", "100000")
    assert out.returncode == 0, out.stderr
    alerts = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    by_post = {th: [a for a in alerts if a["post_id"] == str(p)] for th, p in pid.items()}
    (ru_alert,) = by_post[ru]  # one post, one alert
    (fr_alert,) = by_post[fr]
    assert ru_alert["rule"]["name"] == "ru-health-data-sale-nir"
    assert fr_alert["rule"]["name"] == "fr-health-leak"
    assert ru_alert["rule"]["level"] == fr_alert["rule"]["level"] == "critical"
    assert {"fr-health-leak", "fr-nir"} <= set(ru_alert["related_rules"])
    assert not any("185057800608491" in m.replace(" ", "") for m in ru_alert["masked"])
