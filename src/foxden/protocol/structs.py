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

Page = Annotated[
    int,
    Meta(ge=limits.PAGE_MIN, le=limits.PAGE_MAX, description="Current page number, from 1"),
]
PageSize = Annotated[
    int, Meta(ge=limits.PAGE_SIZE_MIN, le=limits.PAGE_SIZE_MAX, description="Items per page")
]
Sn = Annotated[
    str, Meta(min_length=1, max_length=limits.ID_MAX_LENGTH, description="Serial number")
]
Id = Annotated[str, Meta(min_length=1, max_length=limits.ID_MAX_LENGTH)]
ShortText = Annotated[str, Meta(max_length=limits.ID_MAX_LENGTH)]
Text = Annotated[str, Meta(max_length=limits.TEXT_MAX_LENGTH)]
Zone = Annotated[
    str, Meta(min_length=1, max_length=limits.ZONE_MAX_LENGTH, description="IANA time zone")
]
Amount = Annotated[float, Meta(ge=0, le=limits.NUMBER_MAX)]
Coordinate = Text | Annotated[float, Meta(ge=-limits.NUMBER_MAX, le=limits.NUMBER_MAX)]
TimeMs = Annotated[
    int, Meta(ge=0, le=limits.TIME_MS_MAX, description="Milliseconds since 1970-01-01 UTC")
]
Value = (
    ShortText
    | Annotated[int, Meta(ge=-limits.INT_MAX, le=limits.INT_MAX)]
    | Annotated[float, Meta(ge=-limits.NUMBER_MAX, le=limits.NUMBER_MAX)]
)
"""A setting value as clients send it: a number or a numeric string."""


Variables = (
    Annotated[
        list[Annotated[str, Meta(max_length=limits.ID_MAX_LENGTH)]],
        Meta(max_length=limits.VARIABLES_MAX),
    ]
    | None
)
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
    key: ShortText | None = None


class PlantDetails(Request):
    name: Annotated[str, Meta(min_length=1, max_length=limits.NAME_MAX_LENGTH)]
    type: Annotated[int, Meta(ge=1, le=4, description="1 pv, 2 storage, 3 charge pile, 4 mini")]
    countryCode: Annotated[str, Meta(pattern="^[A-Za-z]{2}$")]
    city: Text
    address: Text
    postcode: Text
    price: Amount | None = None
    currency: ShortText | None = None
    systemCapacity: Amount | None = None


class PlantDetailsUpdate(PlantDetails, kw_only=True):
    stationID: Id


class Position(Request):
    x: Coordinate | None = None
    y: Coordinate | None = None
    format: Text | None = None
    pid: Text | None = None


class PlantCreate(Request):
    details: PlantDetails
    timezone: Zone
    devices: Annotated[list[PlantDeviceRef], Meta(max_length=limits.PLANT_MAX_DEVICES)] | None = (
        None
    )
    pileSN: Text | None = None
    position: Position | None = None
    electricmeterSN: Text | None = None
    layoutByMini: dict[str, Any] | None = None


class PlantUpdate(Request):
    details: PlantDetailsUpdate
    timezone: Zone
    devices: Annotated[list[PlantDeviceRef], Meta(max_length=limits.PLANT_MAX_DEVICES)] | None = (
        None
    )
    pileSN: Text | None = None
    position: Position | None = None
    electricmeterSN: Text | None = None
    layoutByMini: dict[str, Any] | None = None


class PlantDelete(Request):
    stationID: Id


class PlantDetailQuery(Request):
    id: Id


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
    key: Id


class SettingSet(Request):
    sn: Sn
    key: Id
    value: Value


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


TimeField = ShortText | Annotated[int, Meta(ge=-limits.INT_MAX, le=limits.INT_MAX)]


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
    enable: Annotated[int, Meta(ge=0, le=1)] | bool


class SchedulerFlag(Result, omit_defaults=False):
    """Flags as JSON booleans, as the cloud writes them (spec 3.2.1)."""

    support: bool
    enable: bool


class SchedulerFlagEcho(Result, omit_defaults=False):
    deviceSN: str
    enable: int


Percent = Annotated[int, Meta(ge=0, le=100)]
Power = (
    Annotated[int, Meta(ge=0, le=limits.INT_MAX)]
    | Annotated[float, Meta(ge=0, le=limits.NUMBER_MAX)]
)
Number = (
    Annotated[int, Meta(ge=-limits.INT_MAX, le=limits.INT_MAX)]
    | Annotated[float, Meta(ge=-limits.NUMBER_MAX, le=limits.NUMBER_MAX)]
)


class SchedulerGroup(Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One v0/v1 time segment (flat fields); unknown group fields are refused, as the real
    cloud does. Ranges that depend on the model are checked by the server's rules."""

    enable: Flag
    startHour: Hour
    startMinute: Minute
    endHour: Hour
    endMinute: Minute
    workMode: Annotated[str, Meta(min_length=1, max_length=limits.ID_MAX_LENGTH)]
    minSocOnGrid: Percent
    fdSoc: Percent
    fdPwr: Power
    maxSoc: Percent | None = None


class SchedulerEnable(Request):
    deviceSN: Sn
    groups: list[SchedulerGroup]


class SchedulerEnableEcho(Result, omit_defaults=False):
    deviceSN: str
    groups: list[SchedulerGroup]


class ExtraParam(Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """The SoC and power fields of a v2/v3 group; numbers or numeric strings, all optional
    (a null is the same as leaving the field out)."""

    minSocOnGrid: Number | None = None
    fdSoc: Number | None = None
    fdPwr: Number | None = None
    maxSoc: Number | None = None
    importLimit: Number | None = None
    exportLimit: Number | None = None
    pvLimit: Number | None = None
    reactivePower: Number | None = None


class SchedulerGroupV2(Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    enable: Flag
    startHour: Hour
    startMinute: Minute
    endHour: Hour
    endMinute: Minute
    workMode: Annotated[str, Meta(min_length=1, max_length=limits.ID_MAX_LENGTH)]
    extraParam: ExtraParam | None = None


class SchedulerEnableV2(Request):
    deviceSN: Sn
    groups: Annotated[list[SchedulerGroupV2], Meta(max_length=limits.SCHEDULER_LIST_MAX)]
    isDefault: bool = False


class SchedulerGroupV3(Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A v3 period: listed means active. ``isRemainMode`` marks the filler for the time no
    other period covers; ``enable`` is not part of v3 (1 is tolerated, 0 refused)."""

    startHour: Hour
    startMinute: Minute
    endHour: Hour
    endMinute: Minute
    workMode: Annotated[str, Meta(min_length=1, max_length=limits.ID_MAX_LENGTH)]
    extraParam: ExtraParam | None = None
    isRemainMode: bool = False
    enable: Flag | None = None


class SchedulerEnableV3(Request):
    deviceSN: Sn
    groups: Annotated[list[SchedulerGroupV3], Meta(max_length=limits.SCHEDULER_LIST_MAX)]
    isDefault: bool = False


class SchedulerEnableEchoV2(Result, omit_defaults=False):
    deviceSN: str
    isDefault: bool
    groups: Annotated[list[SchedulerGroupV2], Meta(max_length=limits.SCHEDULER_LIST_MAX)]


class SchedulerEnableEchoV3(Result, omit_defaults=False):
    deviceSN: str
    isDefault: bool
    groups: Annotated[list[SchedulerGroupV3], Meta(max_length=limits.SCHEDULER_LIST_MAX)]


class SchedulerGroupOutV0(Result, omit_defaults=False):
    enable: int
    startHour: int
    startMinute: int
    endHour: int
    endMinute: int
    workMode: str
    minSocOnGrid: int
    fdSoc: int
    fdPwr: int


class SchedulerGroupOut(SchedulerGroupOutV0, omit_defaults=False):
    """A v1 group: v0's fields and ``maxSoc``."""

    maxSoc: int


class PropertyRange(Result):
    min: float
    max: float


class PropertySpec(Result):
    unit: str
    precision: float
    range: PropertyRange | None = None
    enumList: list[str] | None = None


class SchedulerInfoV0(Result, omit_defaults=False):
    enable: int
    groups: list[SchedulerGroupOutV0]
    properties: dict[str, PropertySpec]


class SchedulerInfo(Result, omit_defaults=False):
    enable: int
    groups: list[SchedulerGroupOut]
    properties: dict[str, PropertySpec]


class SchedulerGroupOutV2(Result, omit_defaults=False):
    enable: int
    startHour: int
    startMinute: int
    endHour: int
    endMinute: int
    workMode: str
    extraParam: dict[str, float]


class SchedulerInfoV2(Result, omit_defaults=False):
    enable: int
    groups: list[SchedulerGroupOutV2]
    properties: dict[str, PropertySpec]


class SchedulerGroupOutV3(Result):
    startHour: int
    startMinute: int
    endHour: int
    endMinute: int
    workMode: str
    extraParam: dict[str, float]
    isRemainMode: bool = False


class SchedulerInfoV3(Result, omit_defaults=False):
    enable: int
    maxGroupCount: int
    groups: list[SchedulerGroupOutV3]
    properties: dict[str, PropertySpec]


# ---------------------------------------------------------------- peak shaving, battery heating


class SnBody(Request):
    sn: Sn


class PeakShaving(Result):
    importLimit: SettingValue
    soc: SettingValue


class PeakShavingSet(Request):
    sn: Sn
    importLimit: Value
    soc: Value


HeatingValue = Value


class HeatingItem(Result):
    name: str
    value: str
    unit: str
    precision: float
    range: SettingRange | None = None
    enumList: list[str] | None = None


class BatteryHeating(Result):
    dataList: list[HeatingItem]


class BatteryHeatingSet(Request):
    sn: Sn
    batteryWarmUpEnable: ShortText
    startTemperature: HeatingValue
    endTemperature: HeatingValue
    time1Enable: ShortText
    time1StartHour: HeatingValue
    time1StartMinute: HeatingValue
    time1EndHour: HeatingValue
    time1EndMinute: HeatingValue
    time2Enable: ShortText
    time2StartHour: HeatingValue
    time2StartMinute: HeatingValue
    time2EndHour: HeatingValue
    time2EndMinute: HeatingValue
    time3Enable: ShortText
    time3StartHour: HeatingValue
    time3StartMinute: HeatingValue
    time3EndHour: HeatingValue
    time3EndMinute: HeatingValue


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


class RealQueryV0(Request):
    sn: ShortText | None = None
    variables: Variables = None


class RealQueryV1(Request):
    sns: Annotated[list[Sn], Meta(min_length=1, max_length=limits.REAL_QUERY_MAX_SNS)]
    variables: Variables = None


class HistoryQuery(Request):
    sn: Sn
    variables: Variables = None
    begin: TimeMs | None = None
    end: TimeMs | None = None


class ReportQuery(Request):
    sn: Sn
    year: Annotated[int, Meta(ge=limits.REPORT_MIN_YEAR, le=limits.REPORT_MAX_YEAR)]
    dimension: ShortText
    variables: Annotated[
        list[Annotated[str, Meta(max_length=limits.ID_MAX_LENGTH)]],
        Meta(max_length=limits.VARIABLES_MAX),
    ]
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
