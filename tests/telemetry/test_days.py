"""How a device-day is put together from its pieces (foxden.store.days): variables in order
of first appearance, absent ones NaN, samples sorted by time and of equal times the one
written last."""

from __future__ import annotations

import numpy as np

from foxden.store import days


def _t(*ms: int) -> np.ndarray:
    return np.array(ms, dtype=np.int64)


def _v(*rows: list[float]) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


def test_union_keeps_the_order_of_first_appearance() -> None:
    assert days.union([("b", "a"), ("c", "a"), (), ("d", "b")]) == ("b", "a", "c", "d")
    assert days.union([]) == ()


def test_widen_rearranges_columns_and_fills_absent_ones_with_nan() -> None:
    values = _v([1.0, 2.0], [3.0, 4.0])
    same = days.widen(values, ("a", "b"), ("a", "b"))
    assert same is values
    wide = days.widen(values, ("b", "a"), ("a", "c", "b"))
    np.testing.assert_array_equal(wide, _v([2.0, np.nan, 1.0], [4.0, np.nan, 3.0]))
    assert wide.shape == (2, 3)
    assert days.widen(np.empty((0, 1)), ("a",), ("b", "a")).shape == (0, 2)


def test_dedupe_sorts_and_keeps_the_later_of_equal_times() -> None:
    times, values = days.dedupe(_t(30, 10, 20, 10, 30), _v([1.0], [2.0], [3.0], [4.0], [5.0]))
    np.testing.assert_array_equal(times, _t(10, 20, 30))
    np.testing.assert_array_equal(values, _v([4.0], [3.0], [5.0]))
    times, values = days.dedupe(_t(5), _v([7.0]))
    np.testing.assert_array_equal(times, _t(5))
    np.testing.assert_array_equal(values, _v([7.0]))
    # a stable sort: three rows at one time, the last written wins
    times, values = days.dedupe(_t(1, 1, 1, 0), _v([1.0], [2.0], [3.0], [9.0]))
    np.testing.assert_array_equal(values, _v([9.0], [3.0]))


def test_combine_one_piece_dedupes_it() -> None:
    t, v, names = days.combine([(_t(20, 10, 20), _v([1.0], [2.0], [3.0]), ("a",))])
    np.testing.assert_array_equal(t, _t(10, 20))
    np.testing.assert_array_equal(v, _v([2.0], [3.0]))
    assert names == ("a",)


def test_combine_pieces_later_writes_win_and_variables_widen() -> None:
    first = (_t(10, 20), _v([1.0, 10.0], [2.0, 20.0]), ("a", "b"))
    second = (_t(20, 5), _v([200.0, 300.0], [50.0, 60.0]), ("c", "a"))
    t, v, names = days.combine([first, second])
    assert names == ("a", "b", "c")
    np.testing.assert_array_equal(t, _t(5, 10, 20))
    np.testing.assert_array_equal(
        v, _v([60.0, np.nan, 50.0], [1.0, 10.0, np.nan], [300.0, np.nan, 200.0])
    )
    t, v, names = days.combine([second, first])
    assert names == ("c", "a", "b")
    np.testing.assert_array_equal(v[2], [np.nan, 2.0, 20.0])


def test_dedupe_keeps_the_last_written_of_many_equal_times() -> None:
    """Enough rows that an unstable sort would reorder rows of equal time: each kept value
    is the index of the last row written at its time."""
    times = np.random.default_rng(1).integers(0, 10, 2000).astype(np.int64)
    values = np.arange(2000, dtype=np.float64)[:, None]
    kept_times, kept = days.dedupe(times, values)
    np.testing.assert_array_equal(kept_times, np.arange(10))
    last = [int(np.flatnonzero(times == t)[-1]) for t in range(10)]
    np.testing.assert_array_equal(kept[:, 0], last)
