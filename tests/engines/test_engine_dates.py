"""Forum date formats -> ISO 8601 UTC."""

from datetime import UTC, datetime

import pytest

from crawler.engines.dates import has_time, parse_date

# Tuesday 16 January 2024, 22:00 UTC (23:00 in Paris): anchor for relative dates.
NOW = datetime(2024, 1, 16, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        # phpBB default and French
        ("Mon Jan 01, 2024 10:00 am", "Europe/Paris", "2024-01-01T09:00:00Z"),
        ("lun. 01 janv. 2024 10:00", "Europe/Paris", "2024-01-01T09:00:00Z"),
        ("15 janvier 2024, 10:30", "Europe/Paris", "2024-01-15T09:30:00Z"),
        # MyBB
        ("01-15-2024, 10:30 AM", "UTC", "2024-01-15T10:30:00Z"),
        ("Today, 10:30 AM", "Europe/Paris", "2024-01-16T09:30:00Z"),
        ("Yesterday, 09:15 PM", "Europe/Paris", "2024-01-15T20:15:00Z"),
        ("01-15-2024, 10:30 AM (This post was last modified: 01-15-2024, 11:00 AM by x.)",
         "UTC", "2024-01-15T10:30:00Z"),
        # French relative
        ("Aujourd'hui, 10:30", "Europe/Paris", "2024-01-16T09:30:00Z"),
        ("Aujourd\u2019hui à 10:30", "Europe/Paris", "2024-01-16T09:30:00Z"),
        ("Hier à 21:15", "Europe/Paris", "2024-01-15T20:15:00Z"),
        # SMF
        ("January 15, 2024, 10:30:00 AM", "UTC", "2024-01-15T10:30:00Z"),
        ("Today at 10:30:00 AM", "UTC", "2024-01-16T10:30:00Z"),
        ("« Reply #3 on: January 15, 2024, 10:30:00 AM »", "UTC", "2024-01-15T10:30:00Z"),
        # XenForo / Discourse machine values
        ("2024-01-15T10:30:00+0100", "UTC", "2024-01-15T09:30:00Z"),
        ("2024-01-15T10:30:00+01:00", "UTC", "2024-01-15T09:30:00Z"),
        ("2026-07-16T08:01:11Z", "Europe/Paris", "2026-07-16T08:01:11Z"),
        ("2024-01-15T10:30:00.123Z", "UTC", "2024-01-15T10:30:00Z"),
        ("1705311000", "Europe/Paris", "2024-01-15T09:30:00Z"),
        ("1705311000000", "UTC", "2024-01-15T09:30:00Z"),
        # naive ISO takes the forum zone
        ("2024-01-15 10:30:00", "Europe/Paris", "2024-01-15T09:30:00Z"),
    ],
)
def test_formats(text: str, tz: str, expected: str) -> None:
    assert parse_date(text, tz, NOW) == expected


def test_paris_winter_and_summer_offsets() -> None:
    assert parse_date("15 janvier 2024, 10:30", "Europe/Paris", NOW) == "2024-01-15T09:30:00Z"
    assert parse_date("15 juillet 2024, 10:30", "Europe/Paris", NOW) == "2024-07-15T08:30:00Z"
    assert parse_date("2024-07-15T10:30:00", "Europe/Paris", NOW) == "2024-07-15T08:30:00Z"


def test_relative_dates_follow_now() -> None:
    later = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_date("Today, 10:30 AM", "UTC", later) == "2024-03-01T10:30:00Z"
    assert parse_date("Today, 10:30 AM", "UTC", NOW) == "2024-01-16T10:30:00Z"


@pytest.mark.parametrize("text", ["", "   ", "by ", "1", "#3", "n/a", "hello world", None, "x" * 500])
def test_unparseable_is_none(text: str | None) -> None:
    assert parse_date(text, "UTC", NOW) is None


def test_long_edit_note_does_not_hide_the_date() -> None:
    text = "01-15-2024, 10:30 AM (This post was last modified: 01-15-2024, 11:00 AM by x. Edit Reason: " \
        + "typo " * 80 + ")"
    assert parse_date(text, "UTC", NOW) == "2024-01-15T10:30:00Z"


def test_has_time() -> None:
    assert has_time("01-15-2024, 10:30 AM")
    assert has_time("1705311000")
    assert not has_time("01-15-2024")
