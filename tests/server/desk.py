"""Area handlers called directly, without HTTP: a real SQLite store in a tmp dir, a frozen
clock and the ``Ctx`` the app builds for a signed call. The live-server tests show the same
rules on the wire; the handler tests built on this pin each rule's errno, detail and
read-back, and are fast enough for a mutation shard to run them once per mutant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from foxden import accounts
from foxden.clock import FrozenClock
from foxden.protocol import structs as s
from foxden.protocol.errno import Errno
from foxden.server.areas import plant as plant_area
from foxden.server.context import Ctx
from foxden.server.errors import ApiError
from foxden.server.limits import QuotaKeeper
from foxden.store import Account, Device, Store, open_store, url_for

NOW = 1_717_243_200_000
"""2024-06-01 12:00:00 UTC (13:00 in London, 21:00 in Tokyo)."""


@dataclass
class Desk:
    """One store, one clock, accounts made on demand."""

    store: Store
    clock: FrozenClock
    quota: QuotaKeeper

    def account(self, name: str) -> Account:
        found = self.store.account_by_name(name)
        if found is None:
            accounts.create_account(self.store, name, NOW)
            found = self.store.account_by_name(name)
        assert found is not None
        return found

    def ctx(self, name: str = "alice") -> Ctx:
        """The context of a call signed with ``name``'s key (the account as it is now)."""
        return Ctx(self.store, self.clock, self.clock, self.account(name), self.quota)

    def device(self, sn: str, model: str = "H1-5.0-E", account: str = "alice") -> Device:
        self.account(account)
        return accounts.add_device(self.store, account, sn, model, NOW)

    def plant(
        self,
        sns: list[str] | None = None,
        zone: str = "Europe/London",
        country: str = "GB",
        account: str = "alice",
        name: str = "Home",
    ) -> str:
        """A plant made by the create handler, with ``sns`` bound to it; its id."""
        req = s.PlantCreate(
            details=s.PlantDetails(
                name=name, type=1, countryCode=country, city="c", address="a", postcode="p"
            ),
            timezone=zone,
            devices=[s.PlantDeviceRef(sn=sn) for sn in sns or []],
        )
        return plant_area.create(self.ctx(account), req).stationID


def new_desk(tmp_path: Path) -> Desk:
    store = open_store(url_for(tmp_path))
    return Desk(store, FrozenClock(NOW), QuotaKeeper(store, 1440))


def refusal(call: Callable[..., Any], *args: Any) -> tuple[int, str]:
    """(errno, detail) of the ``ApiError`` the call raises; fails when it raises none."""
    with pytest.raises(ApiError) as info:
        call(*args)
    return int(info.value.errno), info.value.detail


def bad(detail: str) -> tuple[int, str]:
    """A 40257 naming the field, as ``refusal`` reports it."""
    return int(Errno.PARAMETER_INVALID), detail
