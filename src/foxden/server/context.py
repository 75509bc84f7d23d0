"""What every handler gets: the store, the clock, the calling account, and helpers for
the rules every area shares (ownership of devices and plants)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from foxden.clock import Clock
from foxden.protocol import models, timefmt
from foxden.protocol.errno import Errno
from foxden.server.errors import ApiError
from foxden.server.limits import QuotaKeeper
from foxden.store import Account, Device, Plant, Store

UTC_ZONE = ZoneInfo("UTC")


@dataclass(slots=True)
class Ctx:
    store: Store
    clock: Clock
    wall: Clock
    account: Account
    quota: QuotaKeeper
    lang: str = "en"

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def device(self, sn: str, field: str = "sn") -> Device:
        """The account's device; another account's SN behaves exactly like an unknown one."""
        device = self.store.device(sn)
        if device is None or device.account_id != self.account.id:
            raise ApiError(Errno.INVERTER_ID_INCORRECT, f"{field}: no inverter {sn!r}")
        return device

    def model(self, device: Device) -> models.InverterModel:
        model = models.model(device.model)
        if model is None:  # registered under a model this version does not know
            raise ApiError(Errno.UNSUPPORTED_FEATURE, f"model {device.model}")
        return model

    def battery_device(self, sn: str, field: str = "sn") -> tuple[Device, models.InverterModel]:
        device = self.device(sn, field)
        model = self.model(device)
        if not model.has_battery:
            raise ApiError(
                Errno.UNSUPPORTED_FEATURE, f"{device.model} is a grid-tied inverter (no battery)"
            )
        return device, model

    def plant(self, plant_id: str, field: str) -> Plant:
        plant = self.store.plant(self.account.id, plant_id)
        if plant is None:
            raise ApiError(Errno.PARAMETER_INVALID, f"{field}: no power station {plant_id!r}")
        return plant

    def zone_of(self, device: Device) -> ZoneInfo:
        """The zone a device's times are written in: its plant's, else UTC."""
        if device.plant_id is None:
            return UTC_ZONE
        plant = self.store.plant(self.account.id, device.plant_id)
        return timefmt.zone(plant.timezone) if plant else UTC_ZONE


Handler = Callable[[Ctx, Any], Any]
"""An area's handler: the parsed request struct in, a result struct (or None) out."""
