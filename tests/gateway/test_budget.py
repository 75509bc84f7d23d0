"""The upstream budget: the day's plan and the rule each call passes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from foxden.gateway.budget import DAY_MS, KINDS, Budget, batches

MIDNIGHT = 20_000 * DAY_MS


def test_batches_hold_at_most_fifty_inverters() -> None:
    assert [batches(n) for n in (0, 1, 50, 51, 100, 101)] == [0, 1, 1, 2, 2, 3]


def test_plan_of_one_inverter_at_the_default_refresh() -> None:
    budget = Budget(refresh_s=300)
    budget.inverters = 1
    plan = budget.plan(MIDNIGHT)
    assert plan.quota == 1440
    assert plan.realtime_per_day == 288
    assert plan.margin == 29
    assert plan.write_reserve == 144
    assert plan.inventory_per_day == 4 * 4 + 24
    assert plan.backfill_per_day == 1440 - 29 - 288 - 40 - 144
    assert plan.backfill_left == plan.backfill_per_day
    half = budget.plan(MIDNIGHT + DAY_MS // 2)
    assert half.realtime_left == 144


def test_backfill_leaves_the_rest_of_the_days_real_time_and_writes() -> None:
    budget = Budget(refresh_s=300)
    budget.inverters = 1
    spent = 0
    while budget.try_spend("backfill", MIDNIGHT):
        spent += 1
    assert spent == budget.plan(MIDNIGHT).backfill_per_day
    assert all(budget.try_spend("realtime", MIDNIGHT) for _ in range(288))
    assert all(budget.try_spend("write", MIDNIGHT) for _ in range(144))


def test_reads_never_take_the_write_reserve_and_nothing_takes_the_margin() -> None:
    budget = Budget(refresh_s=10)  # far more real-time than the quota holds
    budget.inverters = 1
    reads = 0
    while budget.try_spend("realtime", MIDNIGHT):
        reads += 1
    assert reads == 1440 - 29 - 144
    writes = 0
    while budget.try_spend("write", MIDNIGHT):
        writes += 1
    assert writes == 144
    assert budget.used(MIDNIGHT) == 1440 - 29
    assert budget.try_spend("realtime", MIDNIGHT + DAY_MS)  # a new UTC day


def test_calls_of_other_applications_on_the_key_are_counted() -> None:
    budget = Budget(refresh_s=300)
    budget.inverters = 1
    assert budget.try_spend("inventory", MIDNIGHT)
    budget.observe_upstream(total=1440, remaining=1000, now_ms=MIDNIGHT)
    assert budget.used(MIDNIGHT) == 440
    assert budget.plan(MIDNIGHT).backfill_left == 1440 - 29 - 440 - 288 - 40 - 144


def test_a_40402_stops_everything_until_the_next_utc_day() -> None:
    budget = Budget()
    budget.inverters = 2
    budget.exhausted(MIDNIGHT + 5)
    assert not any(budget.try_spend(kind, MIDNIGHT + 10) for kind in KINDS)
    assert budget.try_spend("write", MIDNIGHT + DAY_MS)


@settings(max_examples=200, deadline=None)
@given(
    inverters=st.integers(min_value=1, max_value=120),
    refresh_s=st.floats(min_value=1, max_value=3600),
    calls=st.lists(
        st.tuples(st.sampled_from(KINDS), st.integers(min_value=0, max_value=DAY_MS - 1)),
        max_size=400,
    ),
    others=st.integers(min_value=0, max_value=3000),
)
def test_no_sequence_of_calls_spends_past_the_quota_less_its_margin(
    inverters: int, refresh_s: float, calls: list[tuple[str, int]], others: int
) -> None:
    budget = Budget(per_device=20, refresh_s=refresh_s)  # a small quota: reachable
    budget.inverters = inverters
    quota = budget.quota()
    budget.observe_upstream(quota, max(0, quota - others), MIDNIGHT)
    for kind, at in sorted(calls, key=lambda c: c[1]):
        budget.try_spend(kind, MIDNIGHT + at)  # type: ignore[arg-type]
        plan = budget.plan(MIDNIGHT + at)
        assert budget.spent(MIDNIGHT + at)["write"] <= max(0, quota - plan.margin)
        ours = sum(budget.spent(MIDNIGHT + at).values())
        assert ours <= max(0, quota - plan.margin - min(others, quota))
