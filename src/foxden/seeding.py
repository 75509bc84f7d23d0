"""Starting a database from a scenario once: ``foxden serve --scenario FILE`` applies the
file to a fresh database and records that it did (a ``meta`` row); started again on the same
database it keeps what clients changed since instead of applying the file over it, unless
told to start again (``--reset``). A different scenario (other accounts, plants, inverters,
settings, schedules, faults or start) is refused on a database started from another one:
merged into what clients changed it would leave a state neither file describes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from foxden.scenario import Applied, Scenario, ScenarioError, apply

APPLIED_META = "scenario"
"""The ``meta`` row that records which scenario a database was started from, and when."""


def fingerprint(scenario: Scenario) -> str:
    """A hash of what applying ``scenario`` writes into a store (its start, accounts with
    their plants, inverters, settings and schedules, and its faults): files that differ only
    in their clock speed, seed, backfill, chaos rules, comments or layout share it."""
    f = scenario.file
    body = msgspec.json.encode({"start": f.start, "account": f.account, "fault": f.fault})
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Seeding:
    """What :func:`seed` did: ``applied`` the scenario (to a fresh database, or one no
    scenario started, such as the demo fleet's), ``kept`` the database as it was (this scenario was
    applied to it before), or ``reset`` it (emptied, then applied)."""

    outcome: str
    applied: Applied
    earlier: dict[str, Any] | None
    """The record of the scenario applied before (``source``, ``applied_ms``), if any."""


def applied_record(store: Any) -> dict[str, Any] | None:
    """Which scenario the database was started from (``fingerprint``, ``source``,
    ``applied_ms``), or None."""
    raw = store.meta(APPLIED_META)
    if raw is None:
        return None
    record = json.loads(raw)
    return record if isinstance(record, dict) else None


def seed(scenario: Scenario, store: Any, now_ms: int, reset: bool = False) -> Seeding:
    """Start a database from ``scenario``: apply it unless this very scenario was applied to
    the database before, so a restart keeps what clients wrote since (settings, schedules,
    plants, cleared faults); ``reset`` empties the database first and starts again. A
    database another scenario started is a ScenarioError (it asks for ``reset``)."""
    if reset:
        store.empty()
    earlier = applied_record(store)
    mark = fingerprint(scenario)
    if earlier is not None and earlier.get("fingerprint") == mark:
        return Seeding("kept", Applied(), earlier)
    if earlier is not None:
        when = datetime.fromtimestamp(int(earlier.get("applied_ms", 0)) / 1000, UTC)
        raise ScenarioError(
            scenario.source,
            [
                (
                    0,
                    f"this database was started from another scenario "
                    f"({earlier.get('source', '?')}, applied {when:%Y-%m-%d %H:%M} UTC); "
                    "--reset empties it and starts again from this one",
                )
            ],
        )
    applied = apply(scenario, store, now_ms)
    record = {"fingerprint": mark, "source": scenario.source, "applied_ms": now_ms}
    store.put_meta(APPLIED_META, json.dumps(record))
    return Seeding("reset" if reset else "applied", applied, earlier)


def resume_ms(store: Any, start_ms: int | None) -> int | None:
    """Where the fleet clock goes on from when a database is kept: the newest sample any
    inverter stored, if later than the scenario's start (so time does not run backwards over
    data the fleet already made)."""
    latest = store.latest([d.sn for d, _ in store.all_devices()])
    newest = max((x.time_ms for x in latest.values()), default=None)
    if start_ms is None or newest is None or newest <= start_ms:
        return start_ms  # no fixed start: the real clock, as on the first run
    return int(newest)
