"""parse_board resolves dates in thread markers like post dates: forum time zone, ``now``, language.

A marker is what the crawl compares to skip unchanged threads. Kept as shown, "Today, 10:30"
(or "il y a 2 heures") reads the same on a later day after a new post, and the thread is
skipped: its new posts are never read. The board's ``tz``/``now`` parameters were ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.engines.extract import parse_board
from crawler.engines.selectors import Selectors

SEL = Selectors(thread_row="li.row", thread_link="a.t", thread_marker="span.last::text, a.last::attr(href)")
URL = "http://forum.onion/viewforum.php?f=1"
DAY1 = datetime(2024, 1, 16, 12, 0, tzinfo=UTC)
DAY2 = datetime(2024, 1, 17, 12, 0, tzinfo=UTC)


def board(last: str, lang: str = "en") -> str:
    return (f"<html lang='{lang}'><body><ul><li class='row'><a class='t' href='/viewtopic.php?t=7'>Dump</a>"
            f"<span class='last'>{last}</span><a class='last' href='/viewtopic.php?p=9#p9'>»</a>"
            "</li></ul></body></html>")


def marker(html: str, tz: str = "Europe/Paris", now: datetime = DAY1) -> str:
    page = parse_board(html, URL, SEL, tz, now=now)
    assert page.warnings == []
    [row] = page.threads
    return row.marker


def test_a_relative_marker_is_resolved_against_now_so_a_new_post_changes_it():
    """The last post at 10:30 on day 1 and a new one at 10:30 on day 2: both show "Today"."""
    day1, day2 = marker(board("Today, 10:30 AM"), now=DAY1), marker(board("Today, 10:30 AM"), now=DAY2)
    assert day1 == "2024-01-16T09:30:00Z | /viewtopic.php?p=9#p9"
    assert day2 == "2024-01-17T09:30:00Z | /viewtopic.php?p=9#p9"
    # ... and the same post, shown "Yesterday" the next day, keeps its marker: no needless recrawl.
    assert marker(board("Yesterday, 10:30 AM"), now=DAY2) == day1


def test_relative_words_are_read_in_the_page_language():
    assert marker(board("il y a 2 heures", lang="fr")).startswith("2024-01-16T10:00:00Z")


def test_today_is_the_forum_s_day_not_utc_s():
    late = datetime(2024, 1, 16, 23, 30, tzinfo=UTC)  # already the 17th in Paris
    assert marker(board("Today, 00:15"), tz="Europe/Paris", now=late).startswith("2024-01-16T23:15:00Z")
    assert marker(board("Today, 00:15"), tz="UTC", now=late).startswith("2024-01-16T00:15:00Z")


def test_a_naive_timestamp_is_read_in_the_forum_s_time_zone():
    assert marker(board("01-05-2024, 11:00 AM"), tz="Europe/Paris").startswith("2024-01-05T10:00:00Z |")
    assert marker(board("01-05-2024, 11:00 AM"), tz="America/New_York").startswith("2024-01-05T16:00:00Z |")


def test_counts_links_clocks_and_absolute_dates_are_kept_as_shown():
    for shown in ("12", ", 09:15 PM", "2024-01-16T21:15:00+0100", "1705436100"):
        assert marker(board(shown)) == f"{shown.strip()} | /viewtopic.php?p=9#p9"
