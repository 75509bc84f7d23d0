"""Simulated time: real, accelerated (``speed`` simulated seconds per real second), or
frozen and stepped by hand."""

from __future__ import annotations

import threading
import time


class SimClock:
    """``now_ms`` runs at ``speed`` from an anchor; speed 0 freezes it until ``set``/``advance``."""

    def __init__(self, start_ms: int | None = None, speed: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._anchor_real = time.monotonic()
        self._anchor_sim = start_ms if start_ms is not None else time.time_ns() // 1_000_000
        self._speed = speed

    def now_ms(self) -> int:
        with self._lock:
            elapsed = time.monotonic() - self._anchor_real
            return self._anchor_sim + int(elapsed * 1000 * self._speed)

    @property
    def speed(self) -> float:
        return self._speed

    def _rebase(self, sim_ms: int, speed: float) -> None:
        self._anchor_real = time.monotonic()
        self._anchor_sim = sim_ms
        self._speed = speed

    def set(self, ms: int) -> None:
        with self._lock:
            self._rebase(ms, self._speed)

    def advance(self, ms: int) -> None:
        now = self.now_ms()
        with self._lock:
            self._rebase(now + ms, self._speed)

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        now = self.now_ms()
        with self._lock:
            self._rebase(now, speed)

    @property
    def frozen(self) -> bool:
        return self._speed == 0
