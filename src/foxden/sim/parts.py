"""A day of a large fleet simulated a part at a time, exactly as the whole fleet at once.

Simulating a day of every device at once holds (samples x devices) arrays of every
variable: about 2.3 MB a device for a whole day, so 23 GB for 10,000 inverters. A backfill
of a large fleet is simulated here ``chunk`` devices at a time instead: whole plants
together; a plant bigger than ``chunk`` in parts, after the two sums over the plant that
its devices meet in (``engine.PlantTotal``: what its grid-tied inverters feed into the
house, and every inverter's output, which its meter sees) were gathered from all its parts
in column order. Each device gets bit for bit the samples the whole fleet at once gives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from foxden.sim import engine
from foxden.sim.control import Controls

IA = npt.NDArray[np.int64]
F = npt.NDArray[np.float64]

PART_DEVICES = 512
"""Devices a long run of a large fleet simulates at a time (about 1.2 GB for a whole day)."""


@dataclass(frozen=True, slots=True)
class Part:
    """Some devices' samples of the day: ``cols`` of the whole fleet; ``fleet``, ``times`` and
    ``values`` as ``engine.simulate`` gives them for these devices alone (a device without
    a time in a row has no sample there)."""

    cols: IA
    fleet: engine.Fleet
    times: IA
    values: dict[str, F]


def groups(fleet: engine.Fleet, chunk: int) -> list[list[IA]]:
    """The columns simulated together, in order: whole plants gathered up to ``chunk``
    devices (one list of one array), or a plant bigger than that alone, in parts of
    ``chunk`` (one list of several)."""
    out: list[list[IA]] = []
    batch: list[IA] = []
    size = 0
    _, plants = engine.plant_groups(fleet.plant_of)
    for cols in plants:
        if len(cols) > chunk:
            out.append([cols[k : k + chunk] for k in range(0, len(cols), chunk)])
            continue
        if batch and size + len(cols) > chunk:
            out.append([np.sort(np.concatenate(batch))])
            batch, size = [], 0
        batch.append(cols)
        size += len(cols)
    if batch:
        out.append([np.sort(np.concatenate(batch))])
    return out


def count(fleet: engine.Fleet, chunk: int) -> int:
    """How many parts ``simulate`` gives for a day (a split plant's meter is one more)."""
    return sum(1 if len(g) == 1 else len(g) + 1 for g in groups(fleet, chunk))


def state_of(state: engine.State, cols: IA) -> engine.State:
    """The state of the devices ``cols``, a copy."""
    return engine.State(*(getattr(state, f.name)[cols] for f in dataclasses.fields(state)))


def put_state(state: engine.State, cols: IA, part: engine.State) -> None:
    for f in dataclasses.fields(state):
        getattr(state, f.name)[cols] = getattr(part, f.name)


def controls_of(controls: Controls, cols: IA) -> Controls:
    picked: dict[str, object] = {}
    for f in dataclasses.fields(controls):
        value = getattr(controls, f.name)
        if isinstance(value, list):
            picked[f.name] = [value[j] for j in cols.tolist()]
        else:
            picked[f.name] = value[cols]
    return Controls(**picked)  # type: ignore[arg-type]


def simulate(
    fleet: engine.Fleet,
    state: engine.State,
    controls: Controls,
    day: int,
    after_ms: int,
    until_ms: int,
    chunk: int = PART_DEVICES,
) -> Iterator[Part]:
    """``engine.simulate`` of the whole fleet, ``chunk`` devices at a time (see the module);
    ``state`` is advanced in place as each part is done."""
    for group in groups(fleet, chunk):
        if len(group) > 1:
            yield from _split_plant(fleet, state, controls, day, after_ms, until_ms, group)
            continue
        cols = group[0]
        sub, st = engine.part(fleet, cols), state_of(state, cols)
        times, values = engine.simulate(
            sub, st, controls_of(controls, cols), day, after_ms, until_ms
        )
        put_state(state, cols, st)
        yield Part(cols, sub, times, values)


def _split_plant(
    fleet: engine.Fleet,
    state: engine.State,
    controls: Controls,
    day: int,
    after_ms: int,
    until_ms: int,
    parts: list[IA],
) -> Iterator[Part]:
    """One plant in parts: first what its grid-tied inverters feed into the house (no
    battery in it) from every part; then every part stepped with it, gathering the plant's
    output (each part's samples but its meter's); then the meter (the primary device) again
    from its state before the day, with both sums."""
    from foxden.sim import variables

    sums = engine.SplitSums(width=1)
    every = np.arange(engine.STEPS)
    prepared = []
    for cols in parts:
        sub, ctl = engine.part(fleet, cols), controls_of(controls, cols)
        ex = engine.exogenous(sub, day)
        sums.add("coupled", 0, engine.supply(sub, ctl, ex, every)[3][:, None, :])
        prepared.append((cols, sub, ctl, ex))
    sums.gather = {"output"}
    meter: tuple[IA, engine.State] | None = None
    for cols, sub, ctl, ex in prepared:
        st = state_of(state, cols)
        own = np.flatnonzero(sub.primary)
        if len(own):
            meter = (cols[own], state_of(st, own))
        rows, times, rec, counters, today = engine.run_steps(
            sub, st, ctl, ex, after_ms, until_ms, sums.hook(0, len(cols))
        )
        values = variables.of(sub, ex, rows, rec, counters, today, ctl, day)
        put_state(state, cols, st)
        times[:, own] = 0  # the meter's samples come below, with the whole plant's output
        yield Part(cols, sub, times, values)
    del prepared
    sums.gather = set()
    assert meter is not None  # every plant has a primary device
    cols, st = meter
    sub, ctl = engine.part(fleet, cols), controls_of(controls, cols)
    ex = engine.exogenous(sub, day)
    rows, times, rec, counters, today = engine.run_steps(
        sub, st, ctl, ex, after_ms, until_ms, sums.hook(0, 1)
    )
    values = variables.of(sub, ex, rows, rec, counters, today, ctl, day)
    put_state(state, cols, st)
    yield Part(cols, sub, times, values)


__all__ = ["PART_DEVICES", "Part", "count", "groups", "simulate"]
