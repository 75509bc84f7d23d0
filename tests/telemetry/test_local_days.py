"""The arithmetic of a local day across zones: the server's report boundaries and the
client's buckets cover exactly the instants of the day, hour by wall-clock hour, on 23-,
24- and 25-hour days, in zones whose clocks change at midnight or by half an hour."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from foxden.cli.plot import hour_label, report_figure
from foxden.cli.telemetry import hour_row_label
from foxden.client import convenience as conv
from foxden.protocol import timefmt
from foxden.server.areas.telemetry import day_boundaries

ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",  # clocks change at midnight: 00:00 is skipped in September
    "America/Havana",  # ... and repeated-hour changes at 01:00
    "America/Asuncion",
    "America/St_Johns",  # -03:30
    "Australia/Sydney",
    "Australia/Lord_Howe",  # half-hour DST: 23.5- and 24.5-hour days
    "Asia/Kolkata",  # +05:30, no DST
    "Asia/Kathmandu",  # +05:45
    "Pacific/Chatham",  # +12:45 / +13:45
    "Africa/Casablanca",  # clocks change around Ramadan
    "Asia/Gaza",
]
QUARTER_MS = 900_000
"""Every offset and every clock change of these zones from 2020 on falls on a quarter hour."""
DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2037, 12, 31))


def _ms(t: datetime) -> int:
    return round(t.timestamp() * 1000)


def _instants_of(zone: str, day: date) -> list[int]:
    """Every quarter hour whose local date is ``day``, found by looking at each one from well
    before to well after (independent of any day arithmetic under test)."""
    tz = timefmt.zone(zone)
    around = _ms(datetime(day.year, day.month, day.day, tzinfo=UTC))
    return [
        t
        for t in range(around - 30 * 3_600_000, around + 54 * 3_600_000, QUARTER_MS)
        if datetime.fromtimestamp(t / 1000, tz).date() == day
    ]


@settings(max_examples=200, deadline=None)
@given(zone=st.sampled_from(ZONES), day=DAYS)
@example(zone="Europe/London", day=date(2026, 10, 25))  # 25 hours
@example(zone="Europe/London", day=date(2026, 3, 29))  # 23 hours
@example(zone="America/Santiago", day=date(2026, 9, 6))  # midnight skipped
@example(zone="America/Santiago", day=date(2026, 4, 4))  # 23:00 repeated
@example(zone="Australia/Lord_Howe", day=date(2026, 4, 5))  # 24.5 hours
@example(zone="Australia/Lord_Howe", day=date(2026, 10, 4))  # 23.5 hours
@example(zone="Pacific/Chatham", day=date(2020, 9, 27))  # 02:45 -> 03:45 skips 03:00
@example(zone="Pacific/Chatham", day=date(2020, 4, 5))  # 03:45 -> 02:45: hours 2, 3, 2, 3
@example(zone="Pacific/Chatham", day=date(2026, 4, 5))
def test_a_day_reports_buckets_hold_the_wall_clock_hours_its_day_reaches(
    zone: str, day: date
) -> None:
    tz = timefmt.zone(zone)
    edges = day_boundaries(tz, day.year, day.month, day.day)
    assert len(edges) == 25
    assert edges == sorted(edges)
    instants = _instants_of(zone, day)
    # the buckets together are the local day: from its first instant to the next day's
    assert edges[0] == instants[0] and edges[-1] == instants[-1] + QUARTER_MS
    assert len(instants) == (edges[-1] - edges[0]) // QUARTER_MS  # no instant left out
    # bucket h runs from the first instant of wall-clock hour h to the first of the next
    # hour the day reaches: an instant is in the bucket of the latest hour the day has
    # reached by then. Where the hours follow one another (every day but one kind) that is
    # its own hour: bucket h holds exactly the instants of hour h, a repeated hour's two
    # passes included. Where a clock goes back off the hour (Chatham, 03:45 -> 02:45), the
    # second pass of 02:45-03:00 comes after hour 3 began and stays in hour 3's bucket:
    # buckets are spans of time, and hour 2's instants are then not one span.
    reached = -1
    for t in instants:
        wall = datetime.fromtimestamp(t / 1000, tz).hour
        reached = max(reached, wall)
        assert sum(1 for e in edges[1:-1] if e <= t) == reached
    # the client's buckets are the server's
    buckets = conv.day_buckets(zone, day.year, day.month, day.day)
    assert [(_ms(a), _ms(b)) for a, b in buckets] == list(itertools.pairwise(edges))
    assert all(a.tzinfo is tz and b.tzinfo is tz for a, b in buckets)
    begin, end = conv.day_span(zone, day.year, day.month, day.day)
    assert (_ms(begin), _ms(end)) == (edges[0], edges[-1])


@pytest.mark.parametrize(
    ("zone", "day", "hours", "long", "short"),
    [
        ("Europe/London", date(2026, 10, 25), 25, {1: 2.0}, {}),
        ("Europe/London", date(2026, 3, 29), 23, {}, {1: 0.0}),
        ("Europe/London", date(2026, 6, 15), 24, {}, {}),
        ("Australia/Sydney", date(2026, 4, 5), 25, {2: 2.0}, {}),
        ("Australia/Sydney", date(2026, 10, 4), 23, {}, {2: 0.0}),
        ("Australia/Lord_Howe", date(2026, 4, 5), 24.5, {1: 1.5}, {}),
        ("Australia/Lord_Howe", date(2026, 10, 4), 23.5, {}, {2: 0.5}),
        ("America/Santiago", date(2026, 9, 6), 23, {}, {0: 0.0}),
        ("Pacific/Chatham", date(2026, 9, 27), 23, {}, {2: 0.75, 3: 0.25}),  # 02:45 -> 03:45
        ("Pacific/Chatham", date(2026, 4, 5), 25, {3: 2.0}, {}),  # 03:45 -> 02:45
    ],
)
def test_day_lengths_on_clock_change_days(
    zone: str, day: date, hours: float, long: dict[int, float], short: dict[int, float]
) -> None:
    buckets = conv.day_buckets(zone, day.year, day.month, day.day)
    lengths = [(b.timestamp() - a.timestamp()) / 3600 for a, b in buckets]
    begin, end = conv.day_span(zone, day.year, day.month, day.day)
    assert (end.timestamp() - begin.timestamp()) / 3600 == hours == sum(lengths)
    assert {h: v for h, v in enumerate(lengths) if v > 1} == long
    assert {h: v for h, v in enumerate(lengths) if v < 1} == short


def test_report_labels_name_the_wall_clock_hour_and_a_changed_length() -> None:
    london = "Europe/London"
    autumn = conv.day_buckets(london, 2026, 10, 25)
    assert [hour_label(h, a, b) for h, (a, b) in enumerate(autumn)][:3] == ["00", "01\n2 h", "02"]
    assert [hour_row_label(h, a, b) for h, (a, b) in enumerate(autumn)][:3] == [
        "00:00 BST",
        "01:00 BST and GMT (2 h)",
        "02:00 GMT",
    ]
    spring = conv.day_buckets(london, 2026, 3, 29)
    assert [hour_label(h, a, b) for h, (a, b) in enumerate(spring)][:3] == ["00", "01\n0 h", "02"]
    assert [hour_row_label(h, a, b) for h, (a, b) in enumerate(spring)][:3] == [
        "00:00 GMT",
        "01:00 (skipped)",
        "02:00 BST",
    ]
    assert hour_row_label(23, *spring[23]) == "23:00 BST"
    # the chart of the spring day: 24 bars, each under its own hour (no "02" twice)
    fig = report_figure([], "SN1", london, "day", 2026, 3, 29)
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["00", "01\n0 h", *(f"{h:02d}" for h in range(2, 24))]
    plain = report_figure([], "SN1", london, "day", 2026, 6, 15)
    assert [t.get_text() for t in plain.axes[0].get_xticklabels()] == [
        f"{h:02d}" for h in range(24)
    ]


def test_a_25_hour_days_buckets_follow_its_clock() -> None:
    """The repeated hour of an autumn day holds both of its occurrences."""
    buckets = conv.day_buckets("Europe/London", 2026, 10, 25)
    a, b = buckets[1]
    assert a.isoformat() == "2026-10-25T01:00:00+01:00"
    assert b.isoformat() == "2026-10-25T02:00:00+00:00"
    assert b.timestamp() - a.timestamp() == 2 * 3600
    assert b - a == timedelta(hours=1)  # Python subtracts same-zone datetimes by wall clock


def test_an_hour_that_starts_inside_a_gap_starts_when_the_clocks_jump() -> None:
    """Chatham's clocks jump from 02:45 to 03:45: hour 3 begins at the jump, not a quarter
    of an hour later (where Python's own reading of 03:00 puts it)."""
    chatham = timefmt.zone("Pacific/Chatham")
    jump = datetime(2026, 9, 26, 14, 0, tzinfo=UTC)  # 02:45 +12:45 = 03:45 +13:45
    assert timefmt.wall_start_ms(chatham, 2026, 9, 27, 3) == _ms(jump)
    naive = datetime(2026, 9, 27, 3, 0, tzinfo=chatham)
    assert _ms(naive) == _ms(jump) + QUARTER_MS
    london = timefmt.zone("Europe/London")  # a gap that starts on the hour: as Python reads it
    assert timefmt.wall_start_ms(london, 2026, 3, 29, 1) == _ms(
        datetime(2026, 3, 29, 1, tzinfo=UTC)
    )
