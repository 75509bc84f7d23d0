"""The cloud's local time strings across zones and DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foxden.protocol import timefmt

ZONES = ["Europe/London", "Europe/Berlin", "Australia/Sydney", "America/New_York", "Asia/Riyadh"]


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("zone", "utc", "expected"),
    [
        ("Europe/London", "2024-05-13T16:23:13", "2024-05-13 17:23:13 BST+0100"),
        ("Europe/London", "2024-03-12T10:00:00", "2024-03-12 10:00:00 GMT+0000"),
        ("Europe/London", "2024-03-31T00:59:59", "2024-03-31 00:59:59 GMT+0000"),
        ("Europe/London", "2024-03-31T01:00:00", "2024-03-31 02:00:00 BST+0100"),
        ("Europe/Berlin", "2024-05-26T10:00:00", "2024-05-26 12:00:00 CEST+0200"),
        ("Europe/Berlin", "2024-10-27T00:30:00", "2024-10-27 02:30:00 CEST+0200"),
        ("Europe/Berlin", "2024-10-27T01:30:00", "2024-10-27 02:30:00 CET+0100"),
        ("Australia/Sydney", "2026-04-06T14:00:00", "2026-04-07 00:00:00 AEST+1000"),
        ("Australia/Sydney", "2026-01-06T14:00:00", "2026-01-07 01:00:00 AEDT+1100"),
        ("America/New_York", "2024-11-03T05:30:00", "2024-11-03 01:30:00 EDT-0400"),
        ("America/New_York", "2024-11-03T06:30:00", "2024-11-03 01:30:00 EST-0500"),
        ("Asia/Riyadh", "2024-01-01T00:00:00", "2024-01-01 03:00:00 +03+0300"),
    ],
)
def test_format_local(zone: str, utc: str, expected: str) -> None:
    assert timefmt.format_local(ms(utc), timefmt.zone(zone)) == expected


@given(
    st.sampled_from(ZONES),
    st.integers(min_value=ms("2020-01-01T00:00:00"), max_value=ms("2035-12-31T00:00:00")),
)
def test_parse_gives_back_the_instant(zone: str, instant_ms: int) -> None:
    instant_ms -= instant_ms % 1000  # the strings carry whole seconds
    text = timefmt.format_local(instant_ms, timefmt.zone(zone))
    parsed = timefmt.parse_local(text)
    assert int(parsed.timestamp() * 1000) == instant_ms
    assert parsed.tzname() == text.split(" ")[2][:-5]


@pytest.mark.parametrize("bad", ["", "Mars/Base", "../etc/passwd", "/etc/localtime"])
def test_unknown_zones(bad: str) -> None:
    assert not timefmt.is_zone(bad)
    with pytest.raises(ValueError):
        timefmt.zone(bad)


@pytest.mark.parametrize("bad", ["2024-05-13", "2024-05-13 17:23:13", "yesterday BST+0100"])
def test_parse_rejects_other_strings(bad: str) -> None:
    with pytest.raises(ValueError):
        timefmt.parse_local(bad)


def test_zone_refusals_name_the_zone_cut_to_80_characters() -> None:
    long = "Europe/" + "x" * 120
    with pytest.raises(ValueError) as info:
        timefmt.zone(long)
    assert str(info.value) == f"unknown time zone {long[:80]!r}"
    with pytest.raises(ValueError, match=r"^unknown time zone 'Mars/Olympus_Mons'$"):
        timefmt.zone("Mars/Olympus_Mons")
    assert timefmt.is_zone("Europe/London") is True
    assert timefmt.is_zone("Mars/Olympus_Mons") is False


def test_parse_local_refusal_quotes_the_text() -> None:
    with pytest.raises(ValueError, match=r"^not a cloud time string: '2024-05-13 17:23'$"):
        timefmt.parse_local("2024-05-13 17:23")


def test_parse_local_without_an_abbreviation_keeps_the_bare_offset() -> None:
    parsed = timefmt.parse_local("2024-05-13 17:23:13 +0300")
    assert parsed.utcoffset() == timedelta(hours=3)
    assert parsed.tzname() == "UTC+03:00"  # no abbreviation: the offset's own name
    named = timefmt.parse_local("2024-05-13 17:23:13 BST+0100")
    assert named.tzname() == "BST" and named.utcoffset() == timedelta(hours=1)
