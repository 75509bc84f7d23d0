"""The JSON the dashboard's pages read, built by running the Open API's own handlers (the
same structs, validation and rounding a client gets) for the account that owns a device.

``fleet`` gathers every account's plants and inverters for the overview; ``call`` runs one
read-only Open API operation by catalogue name and answers its envelope; ``settings`` reads
every setting the model has through the ``settings.get`` handler. Nothing here writes.
"""

from __future__ import annotations

from typing import Any

import msgspec

from foxden.protocol import models
from foxden.protocol import structs as s
from foxden.protocol.endpoints import ENDPOINTS, Endpoint
from foxden.protocol.errno import Errno
from foxden.server import envelope
from foxden.server.areas import HANDLERS
from foxden.server.context import Ctx
from foxden.server.errors import ApiError, invalid
from foxden.store import Account, Device

READS = frozenset(
    {
        "device.detail",
        "device.real_v0",
        "device.history",
        "device.report",
        "device.generation",
        "battery.soc_get",
        "battery.charge_times_get",
        "scheduler.get_flag",
        "scheduler.get_v1",
        "module.signal",
    }
)
"""The operations the pages may run: reads of one device (its serial in the request)."""

OVERVIEW_VARIABLES = [
    "pvPower",
    "SoC",
    "gridConsumptionPower",
    "feedinPower",
    "loadsPower",
    "batChargePower",
    "batDischargePower",
    "runningState",
    "currentFault",
]
"""What the overview shows of each inverter's newest sample."""

_BY_NAME: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS}
_PAGE = 1000


class Source:
    """What a view needs of the server: the store, the clocks and the quota keeper."""

    def __init__(self, store: Any, clock: Any, wall: Any, quota: Any) -> None:
        self.store = store
        self.clock = clock
        self.wall = wall
        self.quota = quota

    def ctx(self, account: Account) -> Ctx:
        return Ctx(self.store, self.clock, self.wall, account, self.quota)

    def owner(self, sn: str) -> tuple[Device, Account]:
        """A device and its account; 40261 for an unknown serial, as the Open API says it."""
        device = self.store.device(sn) if sn else None
        account = None
        if device is not None:
            account = next((a for a in self.store.accounts() if a.id == device.account_id), None)
        if device is None or account is None:
            raise ApiError(Errno.INVERTER_ID_INCORRECT, f"sn: no inverter {sn[:64]!r}")
        return device, account


def _all_pages(ctx: Ctx, name: str) -> list[Any]:
    handler = HANDLERS[name]
    items: list[Any] = []
    page = 1
    while True:
        answer = handler(ctx, s.PageRequest(currentPage=page, pageSize=_PAGE))
        items += answer.data
        if len(items) >= answer.total or not answer.data:
            return items
        page += 1


def fleet(source: Source) -> dict[str, Any]:
    """Every account's plants with their inverters: model, status, newest values, today's
    energy; inverters bound to no plant come under a plant with an empty id."""
    plants: list[dict[str, Any]] = []
    for account in source.store.accounts():
        ctx = source.ctx(account)
        devices = _all_pages(ctx, "device.list")
        latest = {
            r.deviceSN: r
            for r in HANDLERS["device.real_v0"](
                ctx, s.RealQueryV0(sn=None, variables=OVERVIEW_VARIABLES)
            )
        }
        rows: dict[str, list[dict[str, Any]]] = {}
        for d in devices:
            real = latest.get(d.deviceSN)
            today = HANDLERS["device.generation"](ctx, s.SnQuery(sn=d.deviceSN)).today
            rows.setdefault(d.stationID, []).append(
                {
                    "deviceSN": d.deviceSN,
                    "deviceType": d.deviceType,
                    "productType": d.productType,
                    "status": d.status,
                    "hasBattery": d.hasBattery,
                    "time": real.time if real else "",
                    "values": {v.variable: v.value for v in real.datas} if real else {},
                    "units": {v.variable: v.unit for v in real.datas} if real else {},
                    "todayGeneration": round(today, 2),
                }
            )
        for p in _all_pages(ctx, "plant.list"):
            plants.append(
                {
                    "account": account.name,
                    "stationID": p.stationID,
                    "name": p.name,
                    "ianaTimezone": p.ianaTimezone,
                    "devices": rows.pop(p.stationID, []),
                }
            )
        for station, loose in rows.items():
            plants.append(
                {
                    "account": account.name,
                    "stationID": station,
                    "name": "",
                    "ianaTimezone": "",
                    "devices": loose,
                }
            )
    return {"now_ms": source.clock.now_ms(), "plants": plants}


def _serial(endpoint: Endpoint, params: dict[str, Any]) -> str:
    field = "deviceSN" if endpoint.name.startswith("scheduler.") else "sn"
    raw = params.get(field)
    if not isinstance(raw, str) or not raw:
        raise invalid(field, "required")
    return raw


def refusal(exc: ApiError) -> bytes:
    """The envelope of a refusal, with the detail the Open API puts in its header."""
    return msgspec.json.encode(
        {"errno": int(exc.errno), "msg": exc.msg, "result": None, "detail": exc.detail}
    )


def call(source: Source, name: str, params: Any) -> bytes:
    """The envelope of one read-only operation run for the device's owner."""
    try:
        endpoint = _BY_NAME.get(name)
        if endpoint is None or name not in READS:
            raise invalid("endpoint", f"not one the pages read: {name[:64]!r}")
        if not isinstance(params, dict):
            raise invalid("params", "must be a JSON object")
        _, account = source.owner(_serial(endpoint, params))
        try:
            request = msgspec.convert(params, endpoint.request, strict=False)
        except msgspec.ValidationError as exc:
            raise invalid("params", str(exc).replace("`", "")) from None
        return envelope.body_ok(HANDLERS[name](source.ctx(account), request))
    except ApiError as exc:
        return refusal(exc)


def device(source: Source, sn: str) -> bytes:
    """What a device page needs to place a device: its account, plant and zone, and the
    data clock's now (simulated time may be far from the browser's)."""
    try:
        found, account = source.owner(sn)
        plant = source.store.plant(account.id, found.plant_id) if found.plant_id else None
        return envelope.body_ok(
            {
                "deviceSN": found.sn,
                "model": found.model,
                "account": account.name,
                "stationID": plant.id if plant else "",
                "stationName": plant.name if plant else "",
                "ianaTimezone": plant.timezone if plant else "UTC",
                "now_ms": source.clock.now_ms(),
            }
        )
    except ApiError as exc:
        return refusal(exc)


def settings(source: Source, sn: str) -> bytes:
    """Every setting the device's model has, each as ``settings.get`` answers it (or the
    errno it refuses with)."""
    try:
        device, account = source.owner(sn)
        model = models.model(device.model)
        plant = source.store.plant(account.id, device.plant_id) if device.plant_id else None
        ctx = source.ctx(account)
        keys = sorted(model.settings(plant.country_code if plant else None)) if model else []
        items: list[dict[str, Any]] = []
        for key in keys:
            try:
                value = HANDLERS["settings.get"](ctx, s.SettingGet(sn=sn, key=key))
                items.append({"key": key, "errno": 0, "value": value})
            except ApiError as exc:
                items.append({"key": key, "errno": int(exc.errno), "msg": exc.msg})
        return envelope.body_ok(items)
    except ApiError as exc:
        return refusal(exc)
