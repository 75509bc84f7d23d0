"""The stored day's blob format, byte for byte: int64 time deltas and int32 value deltas
per variable at its quantum, zlib level 1, the int32 minimum for a missing value.
tests/telemetry/test_store.py has the round trip over random days."""

from __future__ import annotations

import warnings
import zlib

import numpy as np

from foxden.protocol import telemetry
from foxden.store import codec

VARIABLES = ("pvPower", "SoC")


def test_quanta_are_the_catalogue_resolutions() -> None:
    catalogue = telemetry.variables()
    got = codec.quanta(VARIABLES)
    assert got.dtype == np.float64
    assert list(got) == [catalogue["pvPower"].quantum, catalogue["SoC"].quantum]
    assert list(got) == [0.001, 1.0]


def test_the_blobs_hold_deltas_along_time_per_variable() -> None:
    times = np.array([1000, 1300, 1600], dtype=np.int64)
    values = np.array([[1.2345, 50.0], [1.2355, np.nan], [0.5, 49.6]])
    q = codec.quanta(VARIABLES)
    times_blob, values_blob = codec.encode(times, values, q)
    assert times_blob == zlib.compress(np.array([1000, 300, 300], np.int64).tobytes(), 1)
    missing = -(2**31)
    pv = [1234, 1236 - 1234, 500 - 1236]  # 1.2345 rounds to 1234 (half to even), 1.2355 up
    soc = [50, missing - 50, 50 - missing]  # the wrap of int32 arithmetic, undone on decode
    want = np.array([pv, soc], dtype=np.int64).astype(np.int32)  # variable-major
    assert values_blob == zlib.compress(want.tobytes(), 1)
    assert codec.LEVEL == 1 and np.int32(missing) == codec.MISSING

    got_times, got_values = codec.decode(times_blob, values_blob, 3, q)
    assert got_times.dtype == np.int64 and list(got_times) == [1000, 1300, 1600]
    assert got_values.shape == (3, 2)
    assert list(got_values[:, 0]) == [1.234, 1.236, 0.5]
    assert got_values[0, 1] == 50.0 and np.isnan(got_values[1, 1]) and got_values[2, 1] == 50.0


def test_a_single_sample_and_a_negative_value() -> None:
    q = codec.quanta(VARIABLES)
    blobs = codec.encode(np.array([7], np.int64), np.array([[-2.5, 0.0]]), q)
    times, values = codec.decode(*blobs, 1, q)
    assert list(times) == [7] and values.tolist() == [[-2.5, 0.0]]


def test_a_missing_value_encodes_without_a_warning() -> None:
    """NaN is never cast to an integer (numpy warns of an invalid cast): the missing places
    hold 0 until the int32 minimum marks them."""
    q = codec.quanta(VARIABLES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        blobs = codec.encode(np.array([1, 2], np.int64), np.array([[np.nan, 1.0]] * 2), q)
    _, values = codec.decode(*blobs, 2, q)
    assert np.isnan(values[:, 0]).all() and list(values[:, 1]) == [1.0, 1.0]
