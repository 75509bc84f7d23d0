"""Packing a day of one device's samples into two compressed blobs (backend-independent).

Values are kept at each variable's resolution (``TelemetryVariable.quantum``) as 32-bit
integers, delta-encoded along time per variable and zlib-compressed (level 1). Counters and
slow signals become runs of small deltas, nights become runs of zeros. Chosen against other
layouts by ``bench/telemetry_codec.py`` (figures in docs/decisions.md). Missing values (NaN)
survive the round trip.
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

from foxden.protocol import telemetry

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MISSING = np.int32(-(2**31))
LEVEL = 1


def quanta(variables: tuple[str, ...]) -> F64:
    catalogue = telemetry.variables()
    return np.array([catalogue[v].quantum for v in variables], dtype=np.float64)


def encode(times: I64, values: F64, q: F64) -> tuple[bytes, bytes]:
    """(times blob, values blob) for ``values[n_samples, n_variables]``."""
    v = values.shape[1]
    columns = quantize(values, q).T  # one row per variable, so deltas run along time
    deltas = np.diff(columns, axis=1, prepend=np.zeros((v, 1), dtype=np.int32))
    t_deltas = np.diff(times, prepend=np.int64(0))
    return zlib.compress(t_deltas.tobytes(), LEVEL), zlib.compress(deltas.tobytes(), LEVEL)


def decode(times_blob: bytes, values_blob: bytes, n: int, q: F64) -> tuple[I64, F64]:
    """Back to (times, values[n, v]); values at their resolution, NaN where missing."""
    times = np.cumsum(np.frombuffer(zlib.decompress(times_blob), dtype=np.int64))
    v = len(q)
    deltas = np.frombuffer(zlib.decompress(values_blob), dtype=np.int32).reshape(v, n)
    ints = np.cumsum(deltas, axis=1, dtype=np.int32).T
    values = ints * q
    values[ints == MISSING] = np.nan
    return times.astype(np.int64), values


def quantize(values: F64, q: F64) -> npt.NDArray[np.int32]:
    """``values`` as whole multiples of their resolution, ``MISSING`` where NaN (what
    :func:`encode` stores, before its deltas)."""
    missing = np.isnan(values)
    ints = np.round(np.where(missing, 0.0, values) / q).astype(np.int32)
    ints[missing] = MISSING
    return ints


def encode_rows(times: I64, values: F64, q: F64) -> tuple[bytes, bytes]:
    """A few samples as they are appended to a day's tail: raw times and quantized values,
    row after row, uncompressed (a tail row lives only until its day is packed)."""
    return (
        np.ascontiguousarray(times, dtype=np.int64).tobytes(),
        np.ascontiguousarray(quantize(values, q)).tobytes(),
    )


def decode_rows(times_blob: bytes, values_blob: bytes, n: int, q: F64) -> tuple[I64, F64]:
    """Back from :func:`encode_rows`: the very numbers :func:`decode` gives for the same
    samples (same resolution, NaN where missing)."""
    times = np.frombuffer(times_blob, dtype=np.int64).copy()
    ints = np.frombuffer(values_blob, dtype=np.int32).reshape(n, len(q))
    values = ints * q
    values[ints == MISSING] = np.nan
    return times, values
