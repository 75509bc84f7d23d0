"""Which mirrored inverters each local key sees, and the store as one local key sees it.

Every local account sees every mirrored plant and inverter unless the operator restricts it
(``foxden gateway restrict NAME SN...``); the restrictions are kept in
``DATA_DIR/gateway-access.json`` as ``{"NAME": ["SN", ...]}`` and read again when the
file changes, so a running gateway applies them at once.

:class:`ScopedStore` is the store a handler gets for a call by a local key: the owner
account's inverters and plants, written as the caller's own (so every handler's ownership
rule holds unchanged), less those the key may not see.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from foxden.store import Device, Latest, Logger, Plant, Store

ACCESS_FILE = "gateway-access.json"
ALL = 1_000_000
"""A page size larger than any account's inverters (pages are cut here, after filtering)."""


class AccessError(Exception):
    """The access file cannot be read or written; the message says why."""


def access_path(data_dir: Path | str) -> Path:
    return Path(data_dir) / ACCESS_FILE


def read_access(path: Path) -> dict[str, list[str]]:
    """Restrictions by local account name (an account not named sees everything)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise AccessError(f"{path}: {exc}") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and all(isinstance(sn, str) for sn in v) for v in data.values()
    ):
        raise AccessError(f'{path}: expected {{"ACCOUNT": ["SN", ...]}}')
    return {str(k): list(v) for k, v in data.items()}


def write_access(path: Path, rules: dict[str, list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(rules, indent=2, sort_keys=True) + "\n", "utf-8")
    os.replace(temporary, path)


def restrict(path: Path, account: str, sns: Sequence[str]) -> dict[str, list[str]]:
    """Restrict ``account`` to ``sns``; no serials lifts its restriction."""
    rules = read_access(path)
    if sns:
        rules[account] = sorted(dict.fromkeys(sns))
    else:
        rules.pop(account, None)
    write_access(path, rules)
    return rules


class AccessRules:
    """The access file, read again whenever it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._rules: dict[str, frozenset[str]] = {}
        self.version = 0

    def _refresh(self) -> None:
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            self._rules = {k: frozenset(v) for k, v in read_access(self.path).items()}
            self.version += 1

    def allowed(self, account: str) -> frozenset[str] | None:
        """The serials ``account`` may see; None: all."""
        self._refresh()
        return self._rules.get(account)


class ScopedStore:
    """The store as local account ``local_id`` sees it (see the module docstring). Reads of
    other accounts and everything else pass straight through."""

    def __init__(
        self, store: Store, owner_id: int, local_id: int, allowed: frozenset[str] | None
    ) -> None:
        self._store = store
        self._owner = owner_id
        self._local = local_id
        self._allowed = allowed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def as_store(self) -> Store:
        return cast(Store, self)

    # ------------------------------------------------------------ what may be seen

    def _sees(self, sn: str) -> bool:
        return self._allowed is None or sn in self._allowed

    def _mine(self, device: Device) -> Device:
        return replace(device, account_id=self._local)

    def _visible(self) -> list[Device]:
        devices, _ = self._store.devices(self._owner, 0, ALL)
        return [self._mine(d) for d in devices if self._sees(d.sn)]

    def _plant_visible(self, plant_id: str) -> bool:
        if self._allowed is None:
            return True
        return any(self._sees(d.sn) for d in self._store.devices_of_plant(plant_id))

    def _account(self, account_id: int) -> int:
        return self._owner if account_id == self._local else account_id

    # ------------------------------------------------------------ inverters

    def device(self, sn: str) -> Device | None:
        device = self._store.device(sn)
        if device is None or device.account_id != self._owner:
            return device
        return self._mine(device) if self._sees(sn) else None

    def devices(
        self, account_id: int, offset: int = 0, limit: int = -1
    ) -> tuple[list[Device], int]:
        if account_id != self._local:
            return self._store.devices(account_id, offset, limit)
        visible = self._visible()
        end = None if limit < 0 else offset + limit
        return visible[offset:end], len(visible)

    def devices_with_plant_names(
        self, account_id: int, offset: int = 0, limit: int = -1
    ) -> tuple[list[tuple[Device, str]], int]:
        if account_id != self._local:
            return self._store.devices_with_plant_names(account_id, offset, limit)
        named, _ = self._store.devices_with_plant_names(self._owner, 0, ALL)
        visible = [(self._mine(d), name) for d, name in named if self._sees(d.sn)]
        end = None if limit < 0 else offset + limit
        return visible[offset:end], len(visible)

    def devices_of_plant(self, plant_id: str) -> list[Device]:
        return [
            self._mine(d) if d.account_id == self._owner else d
            for d in self._store.devices_of_plant(plant_id)
            if d.account_id != self._owner or self._sees(d.sn)
        ]

    def loggers(self, account_id: int, offset: int, limit: int) -> tuple[list[Logger], int]:
        if account_id != self._local:
            return self._store.loggers(account_id, offset, limit)
        seen = {d.logger_sn for d in self._visible()}
        found, _ = self._store.loggers(self._owner, 0, ALL)
        visible = [replace(g, account_id=self._local) for g in found if g.sn in seen]
        end = None if limit < 0 else offset + limit
        return visible[offset:end], len(visible)

    def logger(self, sn: str) -> Logger | None:
        found = self._store.logger(sn)
        if found is None or found.account_id != self._owner:
            return found
        if not any(d.logger_sn == sn for d in self._visible()):
            return None
        return replace(found, account_id=self._local)

    def latest(self, sns: Sequence[str]) -> dict[str, Latest]:
        return self._store.latest([sn for sn in sns if self._sees(sn)])

    # ------------------------------------------------------------ plants

    def plant(self, account_id: int, plant_id: str) -> Plant | None:
        if account_id != self._local:
            return self._store.plant(account_id, plant_id)
        found = self._store.plant(self._owner, plant_id)
        if found is None or not self._plant_visible(plant_id):
            return None
        return replace(found, account_id=self._local)

    def plants(self, account_id: int, offset: int, limit: int) -> tuple[list[Plant], int]:
        if account_id != self._local:
            return self._store.plants(account_id, offset, limit)
        found, _ = self._store.plants(self._owner, 0, ALL)
        visible = [replace(p, account_id=self._local) for p in found if self._plant_visible(p.id)]
        end = None if limit < 0 else offset + limit
        return visible[offset:end], len(visible)

    # writes (only ever inside a validation that is rolled back, see writes.py)
    def insert_plant(self, plant: Plant) -> None:
        self._store.insert_plant(replace(plant, account_id=self._account(plant.account_id)))

    def update_plant(self, plant: Plant) -> None:
        self._store.update_plant(replace(plant, account_id=self._account(plant.account_id)))

    def delete_plant(self, account_id: int, plant_id: str) -> bool:
        return self._store.delete_plant(self._account(account_id), plant_id)
