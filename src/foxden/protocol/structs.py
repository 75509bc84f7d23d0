"""Request and result structs of the Open API, field names exactly as on the wire.

The server decodes requests into these and encodes results from them; the client
decodes results into them. Constraints (``Meta``) are the document's, so a violation
comes back from the decoder with the field's path, which the server turns into errno
40257 with a message naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

import msgspec
from msgspec import Meta, Struct

from foxden.protocol import limits

T = TypeVar("T")

Page = Annotated[int, Meta(ge=limits.PAGE_MIN, description="Current page number, from 1")]
PageSize = Annotated[
    int, Meta(ge=limits.PAGE_SIZE_MIN, le=limits.PAGE_SIZE_MAX, description="Items per page")
]
Sn = Annotated[str, Meta(min_length=1, max_length=64, description="Serial number")]
Soc = Annotated[int, Meta(ge=limits.SOC_MIN, le=limits.SOC_MAX)]
Hour = Annotated[int, Meta(ge=0, le=23)]
Minute = Annotated[int, Meta(ge=0, le=59)]
Flag = Annotated[int, Meta(ge=0, le=1)]


class Request(Struct, kw_only=True):
    """Base of every request body or query; unknown fields are ignored, as the cloud does."""


class Result(Struct, kw_only=True, omit_defaults=True):
    """Base of every result struct."""


# ---------------------------------------------------------------- paging


class PageRequest(Request):
    currentPage: Page
    pageSize: PageSize


class PageResult(Result, Generic[T]):
    currentPage: int
    pageSize: int
    total: int
    data: list[T]


# ---------------------------------------------------------------- plants


class PlantDeviceRef(Request):
    sn: Sn
    key: str | None = None


class PlantDetails(Request):
    name: Annotated[str, Meta(min_length=1, max_length=128)]
    type: Annotated[int, Meta(ge=1, le=4, description="1 pv, 2 storage, 3 charge pile, 4 mini")]
    countryCode: Annotated[str, Meta(pattern="^[A-Za-z]{2}$")]
    city: str
    address: str
    postcode: str
    price: Annotated[float, Meta(ge=0)] | None = None
    currency: str | None = None
    systemCapacity: Annotated[float, Meta(ge=0)] | None = None


class PlantDetailsUpdate(PlantDetails, kw_only=True):
    stationID: Annotated[str, Meta(min_length=1)]


class Position(Request):
    x: str | float | None = None
    y: str | float | None = None
    format: str | None = None
    pid: str | None = None


class PlantCreate(Request):
    details: PlantDetails
    timezone: Annotated[str, Meta(min_length=1)]
    devices: list[PlantDeviceRef] | None = None
    pileSN: str | None = None
    position: Position | None = None
    electricmeterSN: str | None = None
    layoutByMini: dict[str, Any] | None = None


class PlantUpdate(Request):
    details: PlantDetailsUpdate
    timezone: Annotated[str, Meta(min_length=1)]
    devices: list[PlantDeviceRef] | None = None
    pileSN: str | None = None
    position: Position | None = None
    electricmeterSN: str | None = None
    layoutByMini: dict[str, Any] | None = None


class PlantDelete(Request):
    stationID: Annotated[str, Meta(min_length=1)]


class PlantDetailQuery(Request):
    id: Annotated[str, Meta(min_length=1)]


class PlantDeviceRefResult(Result):
    sn: str
    key: str | None = None


class PlantDeviceResult(Result):
    """One device of a plant create/update answer, as the document's table nests it:
    ``{"device": {"sn", "key"}, "errno"}`` (errno 0 bound, else why not)."""

    device: PlantDeviceRefResult
    errno: int


class PlantWriteResult(Result):
    stationID: str
    devices: list[PlantDeviceResult] = []


class PlantSummary(Result):
    stationID: str
    name: str
    ianaTimezone: str


class Person(Result):
    """A plant's user or installer: the real cloud always sends all three keys, empty
    strings where nothing is known (samples/v0_plant_detail__energystats_ios.json)."""

    name: str
    phone: str
    email: str


class ModuleRef(Result):
    moduleSN: str
    deviceSN: str


class PlantDetail(Result):
    stationName: str
    country: str
    city: str
    address: str
    postcode: str
    capacity: float
    timezone: str
    createDate: str
    user: Person
    installer: Person
    modules: list[ModuleRef]


# ---------------------------------------------------------------- devices and modules


class SnQuery(Request):
    sn: Sn


class DeviceSummary(Result):
    deviceSN: str
    moduleSN: str
    stationID: str
    stationName: str
    status: int
    hasPV: bool
    hasBattery: bool
    deviceType: str
    productType: str


class DeviceFunction(Result):
    scheduler: bool


class BatteryInfo(Result):
    """One entry of ``batteryList``: type ``bcu`` (the stack's controller), ``bmu`` (one
    per module, with its ``capacity`` in Wh) or ``ivu`` (samples/v0_device_detail__batpred_kh8
    .json; newer-endpoints.md section 3.1.1)."""

    batterySN: str
    model: str
    type: str
    version: str
    capacity: int | None = None


class DeviceDetail(Result):
    """v0 detail. ``capacity`` is whole kW as the real cloud writes it (KH8: 8; a 10.5 kW
    model: 10, batpred PR #4527)."""

    deviceSN: str
    moduleSN: str
    stationID: str
    stationName: str
    deviceType: str
    productType: str
    status: int
    hasPV: bool
    hasBattery: bool
    capacity: int
    afciVersion: str
    managerVersion: str
    masterVersion: str
    slaveVersion: str
    hardwareVersion: str
    function: DeviceFunction
    batteryList: list[BatteryInfo]


class DeviceDetailV1(DeviceDetail, kw_only=True):
    """v1 detail: v0's keys plus ``thirdPartyGen`` (newer-endpoints.md section 3.1.1)."""

    thirdPartyGen: bool


class ModuleSummary(Result):
    """A data logger in module/list; ``plantName``, ``webVersion`` and ``softVersion`` are
    the newer keys (doc V1.1.9 "collector version"; foxesscloud prints ``plantName``)."""

    moduleSN: str
    stationID: str
    plantName: str
    status: int
    signal: int
    webVersion: str
    softVersion: str


class ModuleSn(Request):
    sn: Sn


class ModuleSignal(Result):
    """module/getSignal: when the logger last reported (ms) and its signal in dBm."""

    timestamp: int
    signal: int


class ErrorMessages(Result):
    """GET /c/v0/errors/message: ``messages[lang][errno as string]`` = text."""

    messages: dict[str, dict[str, str]]


class AccessCount(Result):
    total: str
    remaining: str


# ---------------------------------------------------------------- battery


class SocSettings(Result):
    minSoc: int
    minSocOnGrid: int


class SocSet(Request):
    sn: Sn
    minSoc: Soc
    minSocOnGrid: Soc


class ClockTime(Request):
    hour: Hour
    minute: Minute


class ForceChargeTimeSet(Request):
    sn: Sn
    enable1: bool
    enable2: bool
    startTime1: ClockTime
    endTime1: ClockTime
    startTime2: ClockTime
    endTime2: ClockTime


class ClockTimeOut(Result):
    hour: int
    minute: int


class ForceChargeTimes(Result):
    enable1: bool
    startTime1: ClockTimeOut
    endTime1: ClockTimeOut
    enable2: bool
    startTime2: ClockTimeOut
    endTime2: ClockTimeOut


# ---------------------------------------------------------------- settings and time


class SettingGet(Request):
    sn: Sn
    key: Annotated[str, Meta(min_length=1)]


class SettingSet(Request):
    sn: Sn
    key: Annotated[str, Meta(min_length=1)]
    value: str | int | float


class SettingRange(Result):
    min: float
    max: float


class SettingValue(Result):
    value: str
    unit: str
    precision: float
    range: SettingRange | None = None
    enumList: list[str] | None = None


class DeviceTimeGet(Request):
    sn: Sn


TimeField = str | int


class DeviceTimeSet(Request):
    sn: Sn
    year: TimeField
    month: TimeField
    day: TimeField
    hour: TimeField
    minute: TimeField
    second: TimeField


class DeviceTime(Result):
    year: str
    month: str
    day: str
    hour: str
    minute: str
    second: str


# ---------------------------------------------------------------- scheduler


class SchedulerDevice(Request):
    deviceSN: Sn


class SchedulerSetFlag(Request):
    deviceSN: Sn
    enable: Flag


class SchedulerFlag(Result):
    support: int
    enable: int


class SchedulerGroup(Struct, kw_only=True, forbid_unknown_fields=True):
    """One time segment; unknown group fields are refused, as the real cloud does."""

    enable: Flag
    startHour: Hour
    startMinute: Minute
    endHour: Hour
    endMinute: Minute
    workMode: Annotated[str, Meta(min_length=1)]
    minSocOnGrid: Annotated[int, Meta(ge=limits.SCHEDULER_MIN_SOC_ON_GRID, le=100)]
    fdSoc: Annotated[int, Meta(ge=0, le=limits.SCHEDULER_FD_SOC_MAX)]
    fdPwr: Annotated[int, Meta(ge=0)]
    maxSoc: Annotated[int, Meta(ge=10, le=100)] | None = None


class SchedulerEnable(Request):
    deviceSN: Sn
    groups: Annotated[list[SchedulerGroup], Meta(max_length=limits.SCHEDULER_MAX_GROUPS)]


class SchedulerGroupOut(Result, omit_defaults=False):
    enable: int
    startHour: int
    startMinute: int
    endHour: int
    endMinute: int
    workMode: str
    minSocOnGrid: int
    fdSoc: int
    fdPwr: int
    maxSoc: int


class PropertyRange(Result):
    min: float
    max: float


class PropertySpec(Result):
    unit: str
    precision: float
    range: PropertyRange | None = None
    enumList: list[str] | None = None


class SchedulerInfo(Result):
    enable: int
    groups: list[SchedulerGroupOut]
    properties: dict[str, PropertySpec]


# ---------------------------------------------------------------- envelope


class Envelope(Struct, Generic[T], kw_only=True):
    """Every answer: errno 0 and a result, or a non-zero errno and a null result."""

    errno: int
    msg: str
    result: T | None = None


def decode_envelope(data: bytes, result_type: type[T]) -> Envelope[T]:
    """Decode one answer, typing its result."""
    return msgspec.json.decode(data, type=Envelope[result_type])  # type: ignore[valid-type]


# ---------------------------------------------------------------- telemetry requests

Variables = list[str] | None


class RealQueryV0(Request):
    sn: str | None = None
    variables: Variables = None


class RealQueryV1(Request):
    sns: Annotated[list[Sn], Meta(min_length=1, max_length=limits.REAL_QUERY_MAX_SNS)]
    variables: Variables = None


class HistoryQuery(Request):
    sn: Sn
    variables: Variables = None
    begin: int | None = None
    end: int | None = None


class ReportQuery(Request):
    sn: Sn
    year: Annotated[int, Meta(ge=limits.REPORT_MIN_YEAR, le=limits.REPORT_MAX_YEAR)]
    dimension: str
    variables: list[str]
    month: Annotated[int, Meta(ge=1, le=12)] | None = None
    day: Annotated[int, Meta(ge=1, le=31)] | None = None


# ---------------------------------------------------------------- telemetry results


class RealValue(Result):
    variable: str
    name: str
    value: float | str
    unit: str | None = None


class RealDevice(Result):
    deviceSN: str
    time: str
    datas: list[RealValue]


class HistoryPoint(Result, array_like=False):
    time: str
    value: float | str


class HistoryVariable(Result):
    variable: str
    name: str
    data: list[HistoryPoint]
    unit: str | None = None


class HistoryDevice(Result):
    deviceSN: str
    datas: list[HistoryVariable]


class ReportVariable(Result):
    variable: str
    unit: str
    values: list[float]


class Generation(Result):
    today: float
    month: float
    cumulative: float
