"""The upstream call budget: what the gateway may spend of the upstream's daily quota, planned
across the UTC day, and the rule every upstream call passes before it is sent.

Pure arithmetic on counts and milliseconds (no I/O), so the rules are tested directly.

The day's quota is shared by every kind of call the gateway makes:

- ``realtime``: one v1 real-time call per batch of up to 50 inverters per refresh interval;
  it has first claim on the quota, planned to the end of the day;
- ``write``: local writes passed upstream and their read-backs, from a reserve kept back
  for them all day;
- ``inventory``: the plant and inverter lists and details, re-read a few times a day;
- ``backfill``: history the gateway lacks, only from what the plan leaves over;

and a margin that is never spent, for the clock skew between the gateway's idea of the
day and the upstream's. Calls other applications make on the same key are learnt from
``getAccessCount`` and counted as spent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from foxden.protocol import limits

DAY_MS = 86_400_000
Kind = Literal["realtime", "write", "inventory", "backfill", "access"]
KINDS: tuple[Kind, ...] = ("realtime", "write", "inventory", "backfill", "access")

INVENTORY_EVERY_MS = 6 * 3_600_000
"""The plant and inverter lists are read again this often (new inverters, plant names)."""
ACCESS_EVERY_MS = 3_600_000
"""The upstream's own count (getAccessCount) is read this often."""


def day_of(now_ms: int) -> int:
    """The UTC day number (days since the epoch) ``now_ms`` falls in."""
    return now_ms // DAY_MS


def batches(inverters: int) -> int:
    """v1 real-time calls one refresh of ``inverters`` inverters takes."""
    return math.ceil(inverters / limits.REAL_QUERY_MAX_SNS) if inverters > 0 else 0


@dataclass(frozen=True, slots=True)
class Plan:
    """The day's budget as planned at one instant: calls per kind over a whole day, and
    what is left of today for each."""

    quota: int
    """Calls a day the upstream grants the key (1440 per inverter)."""
    used: int
    """Calls spent today (by the gateway and, as far as it knows, by others on the key)."""
    margin: int
    """Never spent."""
    inverters: int
    batches: int
    refresh_s: float
    realtime_per_day: int
    inventory_per_day: int
    write_reserve: int
    backfill_per_day: int
    """What a whole day leaves for backfill after the rest."""
    realtime_left: int
    """Real-time calls still to make today at the refresh interval."""
    writes_left: int
    """Of the write reserve, what today has not used."""
    inventory_left: int
    backfill_left: int
    """What backfill may still spend today without touching any claim above."""

    def as_json(self) -> dict[str, int | float]:
        return {
            "quota": self.quota,
            "used": self.used,
            "remaining": max(0, self.quota - self.used),
            "margin": self.margin,
            "inverters": self.inverters,
            "batches": self.batches,
            "refresh_s": self.refresh_s,
            "realtime_per_day": self.realtime_per_day,
            "inventory_per_day": self.inventory_per_day,
            "write_reserve": self.write_reserve,
            "backfill_per_day": self.backfill_per_day,
            "realtime_left": self.realtime_left,
            "writes_left": self.writes_left,
            "inventory_left": self.inventory_left,
            "backfill_left": self.backfill_left,
        }


class Budget:
    """Counts the day's upstream calls by kind and says whether one more may be made."""

    def __init__(
        self,
        per_device: int = limits.DAILY_QUOTA_PER_DEVICE,
        refresh_s: float = 300.0,
        write_share: float = 0.1,
        margin_share: float = 0.02,
    ) -> None:
        if refresh_s <= 0:
            raise ValueError("the refresh interval must be positive")
        self.per_device = per_device
        self.refresh_s = refresh_s
        self.write_share = write_share
        self.margin_share = margin_share
        self.inverters = 0
        self.quota_override: int | None = None
        """The upstream's own total (getAccessCount), once read."""
        self._day = -1
        self._spent: dict[str, int] = dict.fromkeys(KINDS, 0)
        self._others = 0
        """Calls other applications made on the key today, as getAccessCount tells."""
        self._exhausted = False
        """The upstream answered 40402 today: nothing more until tomorrow."""

    # ------------------------------------------------------------ the day's counts

    def _roll(self, now_ms: int) -> None:
        day = day_of(now_ms)
        if day != self._day:
            self._day = day
            self._spent = dict.fromkeys(KINDS, 0)
            self._others = 0
            self._exhausted = False

    def quota(self) -> int:
        if self.quota_override is not None:
            return self.quota_override
        return self.per_device * max(1, self.inverters)

    def spent(self, now_ms: int) -> dict[str, int]:
        self._roll(now_ms)
        return dict(self._spent)

    def used(self, now_ms: int) -> int:
        self._roll(now_ms)
        return sum(self._spent.values()) + self._others

    def observe_upstream(self, total: int, remaining: int, now_ms: int) -> None:
        """The upstream's count (getAccessCount): its total replaces the computed quota,
        and whatever it has counted beyond our own calls was spent by other applications."""
        self._roll(now_ms)
        self.quota_override = total
        ours = sum(self._spent.values())
        self._others = max(0, total - remaining - ours)

    def exhausted(self, now_ms: int) -> None:
        """The upstream refused a call with 40402: the rest of its day is gone."""
        self._roll(now_ms)
        self._exhausted = True

    # ------------------------------------------------------------ the plan

    def plan(self, now_ms: int) -> Plan:
        self._roll(now_ms)
        quota = self.quota()
        used = self.used(now_ms)
        margin = max(1, math.ceil(quota * self.margin_share))
        n_batches = batches(self.inverters)
        per_day = math.ceil(DAY_MS / (self.refresh_s * 1000))
        realtime_day = n_batches * per_day
        inventory_runs = math.ceil(DAY_MS / INVENTORY_EVERY_MS)
        # a run reads the plant list and the inverter list, each detail, and the count
        inventory_day = inventory_runs * (2 + self.inverters * 2) + math.ceil(
            DAY_MS / ACCESS_EVERY_MS
        )
        write_reserve = math.floor(quota * self.write_share)
        backfill_day = max(0, quota - margin - realtime_day - inventory_day - write_reserve)
        left_ms = (day_of(now_ms) + 1) * DAY_MS - now_ms
        realtime_left = n_batches * math.ceil(left_ms / (self.refresh_s * 1000))
        inventory_left = math.ceil(left_ms / INVENTORY_EVERY_MS) * (
            2 + self.inverters * 2
        ) + math.ceil(left_ms / ACCESS_EVERY_MS)
        writes_left = max(0, write_reserve - self._spent["write"])
        backfill_left = max(0, quota - margin - used - realtime_left - inventory_left - writes_left)
        return Plan(
            quota=quota,
            used=used,
            margin=margin,
            inverters=self.inverters,
            batches=n_batches,
            refresh_s=self.refresh_s,
            realtime_per_day=realtime_day,
            inventory_per_day=inventory_day,
            write_reserve=write_reserve,
            backfill_per_day=backfill_day,
            realtime_left=realtime_left,
            writes_left=writes_left,
            inventory_left=inventory_left,
            backfill_left=backfill_left,
        )

    def allows(self, kind: Kind, now_ms: int, n: int = 1) -> bool:
        """Whether ``n`` more calls of ``kind`` fit today's plan."""
        self._roll(now_ms)
        if self._exhausted:
            return False
        plan = self.plan(now_ms)
        free = plan.quota - plan.margin - plan.used
        if kind == "write":
            return n <= free
        if kind == "backfill":
            return n <= plan.backfill_left
        # real-time, inventory and the count keep the write reserve untouched
        return n <= free - plan.writes_left

    def try_spend(self, kind: Kind, now_ms: int, n: int = 1) -> bool:
        """Count ``n`` calls of ``kind`` if the plan allows them; whether it did."""
        if not self.allows(kind, now_ms, n):
            return False
        self._spent[kind] += n
        return True
