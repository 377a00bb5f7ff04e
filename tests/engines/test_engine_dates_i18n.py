"""Human dates in the forum's interface language (issue 16): ru, uk, en, fr, de, es, it.

Pure logic: dateparser + our fast paths, anchored at a fixed "now".
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.config.models import ForumConfig
from crawler.engines.dates import has_time, languages_for, normalise_language, parse_date
from crawler.engines.extract import parse_thread
from crawler.engines.presets import load_preset

# Friday 15 March 2024, 12:00 UTC = 15:00 in Moscow/Kyiv(+2: 14:00), 13:00 in Berlin/Rome/Madrid.
NOW = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "lang", "tz", "expected"),
    [
        # Russian (MyBB/phpBB/XenForo Russian packs): d.m.Y, H:i; today/yesterday; relative
        ("14.01.2021, 16:04", "ru", "Europe/Moscow", "2021-01-14T13:04:00Z"),
        ("05.01.2021, 16:04", "ru", "Europe/Moscow", "2021-01-05T13:04:00Z"),  # day first
        ("Вчера, 15:04", "ru", "Europe/Moscow", "2024-03-14T12:04:00Z"),
        ("Сегодня, 10:30", "ru", "Europe/Moscow", "2024-03-15T07:30:00Z"),
        ("4 часа назад", "ru", "Europe/Moscow", "2024-03-15T08:00:00Z"),
        ("21 минуту назад", "ru", "Europe/Moscow", "2024-03-15T11:39:00Z"),
        ("14 января 2021, 16:04", "ru", "Europe/Moscow", "2021-01-14T13:04:00Z"),
        ("Чт 14 янв 2021 16:04", "ru", "Europe/Moscow", "2021-01-14T13:04:00Z"),
        # Ukrainian
        ("Вчора, 15:04", "uk", "Europe/Kyiv", "2024-03-14T13:04:00Z"),
        ("Сьогодні, 10:30", "uk", "Europe/Kyiv", "2024-03-15T08:30:00Z"),
        ("4 години тому", "uk", "Europe/Kyiv", "2024-03-15T08:00:00Z"),
        ("14 січня 2021, 16:04", "uk", "Europe/Kyiv", "2021-01-14T14:04:00Z"),
        # German
        ("Gestern, 15:04", "de", "Europe/Berlin", "2024-03-14T14:04:00Z"),
        ("Heute, 10:30", "de", "Europe/Berlin", "2024-03-15T09:30:00Z"),
        ("vor 4 Stunden", "de", "Europe/Berlin", "2024-03-15T08:00:00Z"),
        ("Do 14. Jan 2021, 16:04", "de", "Europe/Berlin", "2021-01-14T15:04:00Z"),
        ("05.01.2021 16:04", "de", "Europe/Berlin", "2021-01-05T15:04:00Z"),
        # Spanish
        ("Ayer, 15:04", "es", "Europe/Madrid", "2024-03-14T14:04:00Z"),
        ("Hoy, 10:30", "es", "Europe/Madrid", "2024-03-15T09:30:00Z"),
        ("hace 4 horas", "es", "Europe/Madrid", "2024-03-15T08:00:00Z"),
        ("14 de enero de 2021, 16:04", "es", "Europe/Madrid", "2021-01-14T15:04:00Z"),
        ("05/01/2021 16:04", "es", "Europe/Madrid", "2021-01-05T15:04:00Z"),  # DMY, not MDY
        # Italian
        ("Ieri, 15:04", "it", "Europe/Rome", "2024-03-14T14:04:00Z"),
        ("Oggi, 10:30", "it", "Europe/Rome", "2024-03-15T09:30:00Z"),
        ("4 ore fa", "it", "Europe/Rome", "2024-03-15T08:00:00Z"),
        ("14 gennaio 2021, 16:04", "it", "Europe/Rome", "2021-01-14T15:04:00Z"),
        # English and French still work on any forum (the defaults come after the language)
        ("Yesterday, 09:15 PM", "ru", "Europe/Paris", "2024-03-14T20:15:00Z"),
        ("Hier à 21:15", "de", "Europe/Paris", "2024-03-14T20:15:00Z"),
        ("01-15-2024, 10:30 AM", None, "UTC", "2024-01-15T10:30:00Z"),
    ],
)
def test_interface_languages(text, lang, tz, expected):
    assert parse_date(text, tz, NOW, lang) == expected


def test_without_the_language_russian_relative_forms_are_not_read():
    """The bug of issue 16: English/French only cannot read "Вчера, 15:04"."""
    assert parse_date("Вчера, 15:04", "Europe/Moscow", NOW) is None
    assert parse_date("Вчера, 15:04", "Europe/Moscow", NOW, "ru") == "2024-03-14T12:04:00Z"


@pytest.mark.parametrize(
    ("text", "timed"),
    [("4 часа назад", True), ("vor 4 Stunden", True), ("hace 3 minutos", True), ("4 ore fa", True),
     ("21 минуту назад", True), ("Вчера, 15:04", True), ("14.01.2021", False), ("Вчера", False),
     ("3 дня назад", False), ("3 days ago", False), ("Gestern", False), ("2 hours ago", True),
     ("il y a 2 heures", True), ("1705311000", True)],
)
def test_has_time_knows_which_relative_forms_keep_the_clock(text, timed):
    assert has_time(text) is timed


def test_language_codes():
    assert normalise_language("ru-RU") == "ru"
    assert normalise_language("de_DE") == "de"
    assert normalise_language("x-klingon") is None
    assert normalise_language("") is None
    assert languages_for("uk") == ("uk", "en", "fr")
    assert languages_for("fr") == ("fr", "en")
    assert languages_for(None) == ("en", "fr")


def test_forum_config_language_is_validated():
    base = {"name": "ru_board", "engine": "mybb", "start_urls": ["http://127.0.0.1:1/"]}
    assert ForumConfig(**base, language="RU-ru").language == "ru"
    assert ForumConfig(**base).language is None
    with pytest.raises(ValueError, match="unknown language 'klingon'"):
        ForumConfig(**base, language="klingon")


MYBB_POST = """<!DOCTYPE html><html xml:lang="{lang}" lang="{lang}"><head><title>t</title></head><body>
<div class="post " id="post_7">
<div class="author_information"><span class="largetext"><a>иван</a></span></div>
<span class="post_date">{date}</span><div class="post_body" id="pid_7">привет</div></div></body></html>"""


def thread(date: str, lang: str = "ru", language: str | None = None):
    sel = load_preset("mybb").selectors
    html = MYBB_POST.format(lang=lang, date=date)
    return parse_thread(html, "http://127.0.0.1/showthread.php?tid=1", sel, "Europe/Moscow", now=NOW,
                        language=language)


def test_page_language_is_read_from_html_lang():
    page = thread('<span title="14.03.2024">Вчера</span>, 15:04')
    assert page.languages[0] == "ru" and page.language_source == "page"
    (post,) = page.posts
    assert post.published == "2024-03-14T12:04:00Z" and not post.date_without_time
    assert post.date_text == "Вчера, 15:04"


def test_configured_language_wins_over_the_page():
    page = thread('<span title="14.03.2024">Gestern</span>, 15:04', lang="en", language="de")
    assert page.language_source == "configured"
    assert page.posts[0].published == "2024-03-14T12:04:00Z"


def test_a_date_without_its_time_is_flagged():
    """Only the title's bare day parses (the visible text is in an unknown form)."""
    page = thread('<span title="14.03.2024">Вчерашний день</span>')
    (post,) = page.posts
    assert post.published == "2024-03-13T21:00:00Z"  # midnight in Moscow, flagged as such
    assert post.date_without_time and post.date_text == "14.03.2024"


@pytest.mark.parametrize(("html", "lang"), [
    ('<html lang="ru-RU"><body>x</body></html>', "ru"),
    ('<html xml:lang="uk"><body>x</body></html>', "uk"),
    ('<html><head><meta http-equiv="Content-Language" content="de-DE"></head><body>x</body></html>', "de"),
    ('<html lang="tlh"><body>x</body></html>', None),
    ("<p>x</p>", None),
])
def test_page_language_sources(html, lang):
    from parsel import Selector

    from crawler.engines.extract import page_language

    assert page_language(Selector(text=html)) == lang
