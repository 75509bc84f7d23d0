"""Property tests of the scheduler's group rules (foxden.server.scheduling), no server."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foxden.protocol import models
from foxden.protocol import structs as s
from foxden.server import scheduling as rules
from foxden.server.errors import ApiError

H1 = models.MODELS["H1-5.0-E"]
EVO = models.MODELS["EVO 10-5-H"]

times = st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 23), st.integers(0, 59))


@st.composite
def flat_groups(draw: st.DrawFn, enabled: bool | None = None) -> s.SchedulerGroup:
    sh, sm, eh, em = draw(times)
    return s.SchedulerGroup(
        enable=int(draw(st.booleans())) if enabled is None else int(enabled),
        startHour=sh,
        startMinute=sm,
        endHour=eh,
        endMinute=em,
        workMode=draw(st.sampled_from([*H1.scheduler_modes, "Invalid", "PeakShaving"])),
        minSocOnGrid=draw(st.integers(0, 100)),
        fdSoc=draw(st.integers(0, 100)),
        fdPwr=draw(st.integers(0, 6000)),
        maxSoc=draw(st.one_of(st.none(), st.integers(0, 100))),
    )


def _accepted(group: s.SchedulerGroup) -> bool:
    """The v1 rules of one enabled group, written out independently."""
    if group.workMode == "Invalid":
        return True
    if group.workMode not in H1.scheduler_modes:
        return False
    max_soc = 100 if group.maxSoc is None else group.maxSoc
    return (
        (group.startHour, group.startMinute) < (group.endHour, group.endMinute)
        and 1 <= group.fdPwr <= 5250
        and 10 <= group.minSocOnGrid <= 100
        and max(11, group.minSocOnGrid) <= group.fdSoc <= 100
        and group.minSocOnGrid <= max_soc
        and max_soc >= 10
    )


@settings(max_examples=300, deadline=None)
@given(flat_groups(enabled=True))
def test_one_enabled_v1_group_is_accepted_exactly_when_the_rules_hold(
    group: s.SchedulerGroup,
) -> None:
    try:
        rules.flat_groups([group], H1, 1)
    except ApiError as exc:
        assert int(exc.errno) == 40257
        assert not _accepted(group), group
    else:
        assert _accepted(group), group


def _spans(rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [
        (g["startHour"] * 60 + g["startMinute"], g["endHour"] * 60 + g["endMinute"])
        for g in rows
        if g["enable"]
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(flat_groups(), max_size=8))
def test_whatever_is_stored_is_ordered_disjoint_and_stable(groups: list[s.SchedulerGroup]) -> None:
    """An accepted write is stored by start time, its enabled groups do not overlap, and
    writing back what v1 reads stores the same schedule again."""
    try:
        stored = rules.flat_groups(groups, H1, 1)
    except ApiError as exc:
        assert int(exc.errno) in (40257, 42023)
        return
    starts = [g["startHour"] * 60 + g["startMinute"] for g in stored]
    assert starts == sorted(starts)
    spans = sorted(_spans(stored))
    assert all(a_end < b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    assert not any(rules.is_placeholder(g) for g in stored)
    shown = rules.render_v1(1, stored, H1).groups
    again = [s.SchedulerGroup(**{f: getattr(g, f) for f in g.__struct_fields__}) for g in shown]
    assert rules.flat_groups(again, H1, 1) == stored


@st.composite
def v3_periods(draw: st.DrawFn) -> s.SchedulerGroupV3:
    sh, sm, eh, em = draw(times)
    names = draw(st.sets(st.sampled_from(models.SCHEDULE_PARAMS)))
    values = {name: draw(st.floats(-7000, 110_000, allow_nan=False)) for name in names}
    return s.SchedulerGroupV3(
        startHour=sh,
        startMinute=sm,
        endHour=eh,
        endMinute=em,
        workMode=draw(st.sampled_from(EVO.scheduler_modes)),
        extraParam=s.ExtraParam(**values),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(v3_periods(), max_size=4), st.booleans())
def test_v3_values_outside_properties_never_get_stored(
    groups: list[s.SchedulerGroupV3], is_default: bool
) -> None:
    """Every stored value lies inside the range the model's properties report, and a v3
    get of what was stored writes back to the same schedule."""
    try:
        stored = rules.nested_groups(groups, EVO, 3, is_default, [])
    except ApiError as exc:
        assert int(exc.errno) in (40257, 42023)
        return
    ranges = rules.param_ranges(EVO)
    for g in stored:
        for name, r in ranges.items():
            assert r.low <= g[name] <= r.high, (name, g)
    shown = rules.render_v3(1, stored, EVO).groups
    again = [
        s.SchedulerGroupV3(
            startHour=g.startHour,
            startMinute=g.startMinute,
            endHour=g.endHour,
            endMinute=g.endMinute,
            workMode=g.workMode,
            extraParam=s.ExtraParam(**g.extraParam),
        )
        for g in shown
    ]
    assert rules.nested_groups(again, EVO, 3, True, []) == stored


@pytest.mark.parametrize("model", sorted(models.MODELS))
def test_properties_follow_the_model(model: str) -> None:
    """fdpwr max is about 1.05 x the rating; v1 lists the four flat fields only."""
    m = models.MODELS[model]
    if not m.scheduler:
        return
    v1 = rules.properties(m, 1)
    assert v1["fdpwr"].range == s.PropertyRange(min=0.0, max=round(m.rated_power_w * 1.05))
    assert {"pvlimit", "importlimit"}.isdisjoint(v1)
    v3 = rules.properties(m, 3)
    assert set(v3) - set(v1) == {p.lower() for p in m.features.schedule_extra}
    assert rules.properties(m, 0) == {}
