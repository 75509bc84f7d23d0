"""One device-day put together from its pieces, whatever way they were stored (pure numpy).

A device's UTC day is a packed chunk plus the tail rows appended since it was last packed,
each piece with its own variables. Every reader and every packer puts them together with
:func:`combine`: variables in order of first appearance, pieces in the order they were
written, and of samples with the same time the one written last. So a day reads the same
whether its samples came in one write, in many appends, or were packed at any point between.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from foxden.store.base import F64, I64

Piece = tuple[I64, F64, tuple[str, ...]]
"""(times, values[n, v], variables) of some samples of one device."""


def union(variables: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    """Every variable of the pieces, in order of first appearance."""
    seen: dict[str, None] = {}
    for names in variables:
        seen.update(dict.fromkeys(names))
    return tuple(seen)


def widen(values: F64, have: tuple[str, ...], want: tuple[str, ...]) -> F64:
    """``values`` with columns ``have`` rearranged to ``want`` (NaN for absent ones)."""
    if have == want:
        return values
    out = np.full((values.shape[0], len(want)), np.nan)
    index = {v: i for i, v in enumerate(want)}
    for j, v in enumerate(have):
        out[:, index[v]] = values[:, j]
    return out


def dedupe(times: I64, values: F64) -> tuple[I64, F64]:
    """Sorted by time; of equal times, the later row wins."""
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    keep = np.r_[times[1:] != times[:-1], True]
    return times[keep], values[keep]


def combine(pieces: Sequence[Piece]) -> Piece:
    """The pieces, oldest write first, as one day: sorted, unique times, later writes win."""
    if len(pieces) == 1:
        t, v, names = pieces[0]
        t, v = dedupe(t, v)
        return t, v, names
    names = union([p[2] for p in pieces])
    times = np.concatenate([p[0] for p in pieces])
    values = np.vstack([widen(p[1], p[2], names) for p in pieces])
    t, v = dedupe(times, values)
    return t, v, names
