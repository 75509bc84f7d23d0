"""The endpoint catalogue: every path of the vendor document and the newer ones the cloud
serves (spec/newer-endpoints.md), its method, structs and rules.

Server routes and client methods are both built from this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from foxden.protocol import structs as s

Method = Literal["GET", "POST"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One Open API operation."""

    name: str
    method: Method
    path: str
    request: type[s.Request] | None
    result: Any
    summary: str
    area: str
    counted: bool = True
    aliases: tuple[str, ...] = ()
    public: bool = False
    """Answered without the signed headers (GET /c/v0/errors/message)."""

    @property
    def params_in_query(self) -> bool:
        return self.method == "GET"

    @property
    def query_interface(self) -> bool:
        """A query interface (real-time, history, report: the path ends in ``/query``): the
        real cloud answers one call a second per interface and key."""
        return self.path.endswith("/query")

    @property
    def device_write(self) -> bool:
        """A setting write to one inverter (its serial in ``sn`` or ``deviceSN``): the
        real cloud spaces these 2 s apart per inverter."""
        return (
            self.method == "POST"
            and self.path.startswith("/op/")
            and "/device/" in self.path
            and self.path.endswith(("/set", "/set/flag", "/enable", "/setMeterReader"))
        )


def _e(
    name: str,
    method: Method,
    path: str,
    request: type[s.Request] | None,
    result: Any,
    summary: str,
    *,
    counted: bool = True,
    aliases: tuple[str, ...] = (),
    public: bool = False,
) -> Endpoint:
    return Endpoint(
        name, method, path, request, result, summary, name.split(".")[0], counted, aliases, public
    )


ENDPOINTS: tuple[Endpoint, ...] = (
    _e(
        "plant.create",
        "POST",
        "/op/v0/plant/create",
        s.PlantCreate,
        s.PlantWriteResult,
        "Create a power station and bind devices to it",
    ),
    _e(
        "plant.update",
        "POST",
        "/op/v0/plant/update",
        s.PlantUpdate,
        s.PlantWriteResult,
        "Update a power station",
    ),
    _e(
        "plant.delete",
        "POST",
        "/op/v0/plant/delete",
        s.PlantDelete,
        None,
        "Delete a power station (its devices stay registered)",
    ),
    _e(
        "plant.detail",
        "GET",
        "/op/v0/plant/detail",
        s.PlantDetailQuery,
        s.PlantDetail,
        "Details of a power station",
    ),
    _e(
        "plant.list",
        "POST",
        "/op/v0/plant/list",
        s.PageRequest,
        s.PageResult[s.PlantSummary],
        "Power stations of this account",
    ),
    _e(
        "device.list",
        "POST",
        "/op/v0/device/list",
        s.PageRequest,
        s.PageResult[s.DeviceSummary],
        "Inverters of this account",
    ),
    _e(
        "device.detail",
        "GET",
        "/op/v0/device/detail",
        s.SnQuery,
        s.DeviceDetail,
        "Details of an inverter",
    ),
    _e(
        "device.detail_v1",
        "GET",
        "/op/v1/device/detail",
        s.SnQuery,
        s.DeviceDetailV1,
        "Details of an inverter (v1: thirdPartyGen)",
    ),
    _e(
        "device.variables",
        "GET",
        "/op/v0/device/variable/get",
        None,
        list[dict[str, Any]],
        "The variable table for real-time and history queries",
    ),
    _e(
        "device.faults",
        "GET",
        "/op/v0/device/fault/get",
        None,
        list[dict[str, Any]],
        "The fault code table",
    ),
    _e(
        "device.real_v0",
        "POST",
        "/op/v0/device/real/query",
        s.RealQueryV0,
        list[dict[str, Any]],
        "Latest real-time data of one or all inverters",
    ),
    _e(
        "device.real_v1",
        "POST",
        "/op/v1/device/real/query",
        s.RealQueryV1,
        list[dict[str, Any]],
        "Latest real-time data of up to 50 inverters",
    ),
    _e(
        "device.history",
        "POST",
        "/op/v0/device/history/query",
        s.HistoryQuery,
        list[dict[str, Any]],
        "History of an inverter over at most 24 hours",
    ),
    _e(
        "device.report",
        "POST",
        "/op/v0/device/report/query",
        s.ReportQuery,
        list[dict[str, Any]],
        "Energy report by day, month or year",
    ),
    _e(
        "device.generation",
        "GET",
        "/op/v0/device/generation",
        s.SnQuery,
        dict[str, float],
        "Generation today, this month and cumulative",
    ),
    _e(
        "battery.soc_get",
        "GET",
        "/op/v0/device/battery/soc/get",
        s.SnQuery,
        s.SocSettings,
        "Minimum SoC settings",
    ),
    _e(
        "battery.soc_set",
        "POST",
        "/op/v0/device/battery/soc/set",
        s.SocSet,
        None,
        "Set the minimum SoC settings",
    ),
    _e(
        "battery.charge_times_get",
        "GET",
        "/op/v0/device/battery/forceChargeTime/get",
        s.SnQuery,
        s.ForceChargeTimes,
        "The two force-charge periods",
    ),
    _e(
        "battery.charge_times_set",
        "POST",
        "/op/v0/device/battery/forceChargeTime/set",
        s.ForceChargeTimeSet,
        None,
        "Set both force-charge periods",
    ),
    _e(
        "settings.get",
        "POST",
        "/op/v0/device/setting/get",
        s.SettingGet,
        s.SettingValue,
        "Read one device setting",
    ),
    _e(
        "settings.set",
        "POST",
        "/op/v0/device/setting/set",
        s.SettingSet,
        None,
        "Write one device setting",
    ),
    _e(
        "settings.time_get",
        "POST",
        "/op/v0/device/time/get",
        s.DeviceTimeGet,
        s.DeviceTime,
        "The device clock",
    ),
    _e(
        "settings.time_set",
        "POST",
        "/op/v0/device/time/set",
        s.DeviceTimeSet,
        None,
        "Set the device clock",
    ),
    _e(
        "scheduler.get_flag",
        "POST",
        "/op/v0/device/scheduler/get/flag",
        s.SchedulerDevice,
        s.SchedulerFlag,
        "Whether the scheduler is supported and on",
    ),
    _e(
        "scheduler.set_flag",
        "POST",
        "/op/v0/device/scheduler/set/flag",
        s.SchedulerSetFlag,
        None,
        "Turn the scheduler on or off",
        aliases=("/op/v0/device/scheduler/set",),
    ),
    _e(
        "scheduler.get",
        "POST",
        "/op/v0/device/scheduler/get",
        s.SchedulerDevice,
        s.SchedulerInfoV0,
        "The scheduler's time segments (v0: no maxSoc, no properties)",
    ),
    _e(
        "scheduler.enable",
        "POST",
        "/op/v0/device/scheduler/enable",
        s.SchedulerEnable,
        None,
        "Write the scheduler's time segments",
    ),
    _e(
        "scheduler.get_flag_v1",
        "POST",
        "/op/v1/device/scheduler/get/flag",
        s.SchedulerDevice,
        s.SchedulerFlag,
        "Whether the scheduler is supported and on (JSON booleans)",
    ),
    _e(
        "scheduler.set_flag_v1",
        "POST",
        "/op/v1/device/scheduler/set/flag",
        s.SchedulerSetFlag,
        s.SchedulerFlagEcho,
        "Turn the scheduler on or off (the only flag write of every version)",
    ),
    _e(
        "scheduler.get_v1",
        "POST",
        "/op/v1/device/scheduler/get",
        s.SchedulerDevice,
        s.SchedulerInfo,
        "The scheduler's groups with maxSoc and the model's property ranges",
    ),
    _e(
        "scheduler.enable_v1",
        "POST",
        "/op/v1/device/scheduler/enable",
        s.SchedulerEnable,
        s.SchedulerEnableEcho,
        "Write the scheduler's groups (flat fields, maxSoc)",
    ),
    _e(
        "scheduler.get_v2",
        "POST",
        "/op/v2/device/scheduler/get",
        s.SchedulerDevice,
        s.SchedulerInfoV2,
        "The scheduler's groups with extraParam",
    ),
    _e(
        "scheduler.enable_v2",
        "POST",
        "/op/v2/device/scheduler/enable",
        s.SchedulerEnableV2,
        s.SchedulerEnableEchoV2,
        "Write the scheduler's groups with extraParam (at most 8)",
    ),
    _e(
        "scheduler.get_v3",
        "POST",
        "/op/v3/device/scheduler/get",
        s.SchedulerDevice,
        s.SchedulerInfoV3,
        "The scheduler's active periods, maxGroupCount and property ranges",
    ),
    _e(
        "scheduler.enable_v3",
        "POST",
        "/op/v3/device/scheduler/enable",
        s.SchedulerEnableV3,
        s.SchedulerEnableEchoV3,
        "Write the scheduler's active periods (no per-period enable)",
    ),
    _e(
        "peak_shaving.get",
        "POST",
        "/op/v0/device/peakShaving/get",
        s.SnBody,
        s.PeakShaving,
        "Peak shaving: grid import limit (kW) and the SoC kept for it",
    ),
    _e(
        "peak_shaving.set",
        "POST",
        "/op/v0/device/peakShaving/set",
        s.PeakShavingSet,
        None,
        "Set the peak shaving import limit and SoC",
    ),
    _e(
        "battery_heating.get",
        "POST",
        "/op/v0/device/batteryHeating/get",
        s.SnBody,
        s.BatteryHeating,
        "Battery heating: switch, temperatures and three time windows",
    ),
    _e(
        "battery_heating.set",
        "POST",
        "/op/v0/device/batteryHeating/set",
        s.BatteryHeatingSet,
        None,
        "Set battery heating (every field, as strings)",
    ),
    _e(
        "module.list",
        "POST",
        "/op/v0/module/list",
        s.PageRequest,
        s.PageResult[s.ModuleSummary],
        "Data loggers of this account",
    ),
    _e(
        "module.detail",
        "GET",
        "/op/v0/module/detail",
        s.SnQuery,
        s.ModuleSummary,
        "One data logger",
    ),
    _e(
        "module.signal",
        "POST",
        "/op/v0/module/getSignal",
        s.ModuleSn,
        s.ModuleSignal,
        "A data logger's signal strength (dBm) and when it last reported",
    ),
    _e(
        "errors.messages",
        "GET",
        "/c/v0/errors/message",
        None,
        s.ErrorMessages,
        "The cloud's text of every errno, by language (no signed headers needed)",
        counted=False,
        public=True,
    ),
    _e(
        "user.access_count",
        "GET",
        "/op/v0/user/getAccessCount",
        None,
        s.AccessCount,
        "Daily call quota: total and remaining",
        counted=False,
    ),
)

BY_NAME: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS}
BY_PATH: dict[str, Endpoint] = {p: e for e in ENDPOINTS for p in (e.path, *e.aliases)}


def endpoint(name: str) -> Endpoint:
    """The endpoint by its catalogue name, e.g. ``plant.list``."""
    return BY_NAME[name]
