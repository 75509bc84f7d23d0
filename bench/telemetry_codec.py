"""Which way to pack a device-day of telemetry: bytes per sample and time to pack, for the
candidate layouts, on the same synthetic fleet as bench/telemetry.py.

    python bench/telemetry_codec.py [--devices 20] [--days 3]
    python bench/telemetry_codec.py --simulated [--days 3]

``--simulated``: the demo fleet as the simulator makes it (``foxden.sim.engine``, each
inverter with its own model's variables) instead of the synthetic fleet.

The baseline is the raw float64 matrix (8 bytes a value); ratios are against it. The layout
foxden uses (``foxden.store.codec``) is marked. A row per (device, variable, time) is not
measured: its key alone is larger than the whole target of 300 bytes a sample.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from telemetry_data import DAY_MS, Fleet

from foxden.store import codec

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Packer = Callable[[I64, F64, F64], int]


def _ints(values: F64, q: F64, dtype: type) -> npt.NDArray[np.generic]:
    return np.round(np.nan_to_num(values) / q).astype(dtype)


def raw_float64(t: I64, v: F64, q: F64) -> int:
    return t.nbytes + v.nbytes


def float32_zlib(t: I64, v: F64, q: F64) -> int:
    return len(zlib.compress(t.tobytes(), 1)) + len(
        zlib.compress(v.astype(np.float32).tobytes(), 1)
    )


def _delta(v: F64, q: F64, dtype: type) -> npt.NDArray[np.generic]:
    cols = _ints(v, q, dtype).T
    return np.diff(cols, axis=1, prepend=np.zeros((cols.shape[0], 1), dtype=dtype))


def int64_shuffle(level: int) -> Packer:
    def pack(t: I64, v: F64, q: F64) -> int:
        d = np.ascontiguousarray(_delta(v, q, np.int64)).view(np.uint8).reshape(-1, 8)
        return len(zlib.compress(np.diff(t, prepend=0).tobytes(), level)) + len(
            zlib.compress(np.ascontiguousarray(d.T).tobytes(), level)
        )

    return pack


def int32_delta(level: int) -> Packer:
    def pack(t: I64, v: F64, q: F64) -> int:
        return len(zlib.compress(np.diff(t, prepend=0).tobytes(), level)) + len(
            zlib.compress(_delta(v, q, np.int32).tobytes(), level)
        )

    return pack


def foxden_codec(t: I64, v: F64, q: F64) -> int:
    tb, vb = codec.encode(t, v, q)
    return len(tb) + len(vb)


CANDIDATES: list[tuple[str, Packer]] = [
    ("raw float64 (baseline)", raw_float64),
    ("float32, zlib 1", float32_zlib),
    ("int64 deltas, byte-shuffled, zlib 1", int64_shuffle(1)),
    ("int64 deltas, byte-shuffled, zlib 6", int64_shuffle(6)),
    ("int32 deltas, zlib 0 (stored)", int32_delta(0)),
    ("int32 deltas, zlib 1", int32_delta(1)),
    ("int32 deltas, zlib 3", int32_delta(3)),
    ("int32 deltas, zlib 6", int32_delta(6)),
    ("int32 deltas, zlib 9", int32_delta(9)),
    (f"foxden.store.codec (int32 deltas, zlib {codec.LEVEL})", foxden_codec),
]
Chunk = tuple[I64, F64, F64]
"""One device-day: times, values, each variable's quantum."""


def synthetic(devices: int, days: int) -> tuple[list[Chunk], int]:
    fleet = Fleet([f"CODEC{i:06d}" for i in range(devices)], 1_742_860_800_000 // DAY_MS * DAY_MS)
    q = codec.quanta(fleet.variables)
    chunks = [(d.times_ms, d.values, q) for _ in range(days) for d in fleet.day()]
    return chunks, len(fleet.variables)


def simulated(days: int) -> tuple[list[Chunk], int]:
    """The demo fleet's inverters, ``days`` whole UTC days from 2026-06-01, as stored."""
    from zoneinfo import ZoneInfo

    from foxden import demo
    from foxden.protocol import models
    from foxden.sim import engine
    from foxden.sim.control import Controls
    from foxden.sim.runner import _batches

    specs = [
        engine.DeviceSpec(
            sn, models.MODELS[name], ZoneInfo(p.timezone), p.latitude, p.longitude, p.name
        )
        for p in demo.DEMO_PLANTS
        for sn, name in p.devices
    ]
    fleet = engine.Fleet(specs, 0)
    first = 1_780_272_000_000 // DAY_MS
    state = engine.initial_state(fleet, first * DAY_MS)
    controls = Controls.defaults(fleet.rating_kw)
    chunks: list[Chunk] = []
    widest = 0
    for day in range(first, first + days):
        times, values = engine.simulate(fleet, state, controls, day, 0, (day + 1) * DAY_MS)
        for item in _batches(fleet, times, values):
            q = codec.quanta(item.variables)
            chunks.append((item.times_ms, item.values, q))
            widest = max(widest, len(item.variables))
    return chunks, widest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--simulated", action="store_true", help="the simulated demo fleet")
    args = parser.parse_args()
    if args.simulated:
        chunks, width = simulated(args.days)
        what = f"the simulated demo fleet, {len(chunks)} device-days, up to {width} variables"
    else:
        chunks, width = synthetic(args.devices, args.days)
        what = f"{width} variables ({args.devices} devices x {args.days} days)"
    samples = sum(len(t) for t, _, _ in chunks)
    print(f"{samples:,} samples of {what}")
    print(f"{'layout':44} {'bytes/sample':>12} {'ratio':>7} {'pack ms/device-day':>19}")
    base = 0.0
    for name, pack in CANDIDATES:
        size = 0
        start = time.perf_counter()
        for t, v, q in chunks:
            size += pack(t, v, q)
        took = (time.perf_counter() - start) * 1000 / len(chunks)
        per = size / samples
        base = base or per
        print(f"{name:44} {per:12.1f} {per / base:7.3f} {took:19.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
