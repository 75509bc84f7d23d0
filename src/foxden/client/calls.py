"""One function per Open API endpoint, building its :class:`Call`. No I/O.

``Client`` and ``AsyncClient`` expose the same names with the same parameters; a test
checks that they do.
"""

from __future__ import annotations

from typing import Any

import msgspec

from foxden.client.core import Call, call
from foxden.protocol import structs as s


def plant_create(request: s.PlantCreate) -> Call[s.PlantWriteResult]:
    return call("plant.create", s.PlantWriteResult, **_fields(request))


def plant_update(request: s.PlantUpdate) -> Call[s.PlantWriteResult]:
    return call("plant.update", s.PlantWriteResult, **_fields(request))


def plant_delete(station_id: str) -> Call[None]:
    return call("plant.delete", stationID=station_id)


def plant_detail(station_id: str) -> Call[s.PlantDetail]:
    return call("plant.detail", s.PlantDetail, id=station_id)


def plant_list(current_page: int = 1, page_size: int = 100) -> Call[s.PageResult[s.PlantSummary]]:
    return call(
        "plant.list", s.PageResult[s.PlantSummary], currentPage=current_page, pageSize=page_size
    )


def device_list(current_page: int = 1, page_size: int = 100) -> Call[s.PageResult[s.DeviceSummary]]:
    return call(
        "device.list", s.PageResult[s.DeviceSummary], currentPage=current_page, pageSize=page_size
    )


def device_detail(sn: str) -> Call[s.DeviceDetail]:
    return call("device.detail", s.DeviceDetail, sn=sn)


def device_detail_v1(sn: str) -> Call[s.DeviceDetailV1]:
    return call("device.detail_v1", s.DeviceDetailV1, sn=sn)


def module_detail(sn: str) -> Call[s.ModuleSummary]:
    return call("module.detail", s.ModuleSummary, sn=sn)


def module_signal(sn: str) -> Call[s.ModuleSignal]:
    return call("module.signal", s.ModuleSignal, sn=sn)


def error_messages() -> Call[s.ErrorMessages]:
    return call("errors.messages", s.ErrorMessages)


def module_list(current_page: int = 1, page_size: int = 100) -> Call[s.PageResult[s.ModuleSummary]]:
    return call(
        "module.list", s.PageResult[s.ModuleSummary], currentPage=current_page, pageSize=page_size
    )


def variables() -> Call[list[dict[str, Any]]]:
    return call("device.variables", list[dict[str, Any]])


def faults() -> Call[list[dict[str, Any]]]:
    return call("device.faults", list[dict[str, Any]])


def real_time(
    sn: str | None = None, variables: list[str] | None = None
) -> Call[list[s.RealDevice]]:
    return call("device.real_v0", list[s.RealDevice], sn=sn, variables=variables)


def real_time_v1(sns: list[str], variables: list[str] | None = None) -> Call[list[s.RealDevice]]:
    return call("device.real_v1", list[s.RealDevice], sns=sns, variables=variables)


def history(
    sn: str,
    begin_ms: int | None = None,
    end_ms: int | None = None,
    variables: list[str] | None = None,
) -> Call[list[s.HistoryDevice]]:
    return call(
        "device.history",
        list[s.HistoryDevice],
        sn=sn,
        begin=begin_ms,
        end=end_ms,
        variables=variables,
    )


def report(
    sn: str,
    dimension: str,
    year: int,
    month: int | None = None,
    day: int | None = None,
    variables: list[str] | None = None,
) -> Call[list[s.ReportVariable]]:
    return call(
        "device.report",
        list[s.ReportVariable],
        sn=sn,
        dimension=dimension,
        year=year,
        month=month,
        day=day,
        variables=variables
        or ["generation", "feedin", "gridConsumption", "chargeEnergyToTal", "dischargeEnergyToTal"],
    )


def generation(sn: str) -> Call[s.Generation]:
    return call("device.generation", s.Generation, sn=sn)


def battery_soc(sn: str) -> Call[s.SocSettings]:
    return call("battery.soc_get", s.SocSettings, sn=sn)


def set_battery_soc(sn: str, min_soc: int, min_soc_on_grid: int) -> Call[None]:
    return call("battery.soc_set", sn=sn, minSoc=min_soc, minSocOnGrid=min_soc_on_grid)


def charge_times(sn: str) -> Call[s.ForceChargeTimes]:
    return call("battery.charge_times_get", s.ForceChargeTimes, sn=sn)


def set_charge_times(sn: str, times: s.ForceChargeTimes) -> Call[None]:
    return call("battery.charge_times_set", sn=sn, **_fields(times))


def setting(sn: str, key: str) -> Call[s.SettingValue]:
    return call("settings.get", s.SettingValue, sn=sn, key=key)


def set_setting(sn: str, key: str, value: str | int | float) -> Call[None]:
    return call("settings.set", sn=sn, key=key, value=str(value))


def device_time(sn: str) -> Call[s.DeviceTime]:
    return call("settings.time_get", s.DeviceTime, sn=sn)


def set_device_time(sn: str, time: s.DeviceTime) -> Call[None]:
    return call("settings.time_set", sn=sn, **_fields(time))


def scheduler_flag(sn: str) -> Call[s.SchedulerFlag]:
    return call("scheduler.get_flag", s.SchedulerFlag, deviceSN=sn)


def set_scheduler_flag(sn: str, enable: bool) -> Call[None]:
    return call("scheduler.set_flag", deviceSN=sn, enable=int(enable))


def scheduler(sn: str) -> Call[s.SchedulerInfoV0]:
    return call("scheduler.get", s.SchedulerInfoV0, deviceSN=sn)


def set_scheduler(sn: str, groups: list[s.SchedulerGroup]) -> Call[None]:
    return call("scheduler.enable", deviceSN=sn, groups=groups)


def scheduler_flag_v1(sn: str) -> Call[s.SchedulerFlag]:
    return call("scheduler.get_flag_v1", s.SchedulerFlag, deviceSN=sn)


def set_scheduler_flag_v1(sn: str, enable: bool) -> Call[s.SchedulerFlagEcho]:
    return call("scheduler.set_flag_v1", s.SchedulerFlagEcho, deviceSN=sn, enable=int(enable))


def scheduler_v1(sn: str) -> Call[s.SchedulerInfo]:
    return call("scheduler.get_v1", s.SchedulerInfo, deviceSN=sn)


def set_scheduler_v1(sn: str, groups: list[s.SchedulerGroup]) -> Call[s.SchedulerEnableEcho]:
    return call("scheduler.enable_v1", s.SchedulerEnableEcho, deviceSN=sn, groups=groups)


def scheduler_v2(sn: str) -> Call[s.SchedulerInfoV2]:
    return call("scheduler.get_v2", s.SchedulerInfoV2, deviceSN=sn)


def set_scheduler_v2(
    sn: str, groups: list[s.SchedulerGroupV2], is_default: bool = False
) -> Call[s.SchedulerEnableEchoV2]:
    return call(
        "scheduler.enable_v2",
        s.SchedulerEnableEchoV2,
        deviceSN=sn,
        isDefault=is_default,
        groups=groups,
    )


def scheduler_v3(sn: str) -> Call[s.SchedulerInfoV3]:
    return call("scheduler.get_v3", s.SchedulerInfoV3, deviceSN=sn)


def set_scheduler_v3(
    sn: str, groups: list[s.SchedulerGroupV3], is_default: bool = False
) -> Call[s.SchedulerEnableEchoV3]:
    return call(
        "scheduler.enable_v3",
        s.SchedulerEnableEchoV3,
        deviceSN=sn,
        isDefault=is_default,
        groups=groups,
    )


def peak_shaving(sn: str) -> Call[s.PeakShaving]:
    return call("peak_shaving.get", s.PeakShaving, sn=sn)


def set_peak_shaving(sn: str, import_limit_kw: float, soc: int) -> Call[None]:
    return call("peak_shaving.set", sn=sn, importLimit=import_limit_kw, soc=soc)


def battery_heating(sn: str) -> Call[s.BatteryHeating]:
    return call("battery_heating.get", s.BatteryHeating, sn=sn)


def set_battery_heating(sn: str, values: dict[str, str]) -> Call[None]:
    """Set battery heating: ``values`` holds every field of the set body but ``sn``."""
    return call("battery_heating.set", sn=sn, **values)


def access_count() -> Call[s.AccessCount]:
    return call("user.access_count", s.AccessCount)


def _fields(struct: Any) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(struct)
    return data
