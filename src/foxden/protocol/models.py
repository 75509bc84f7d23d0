"""Inverter models foxden knows: ratings, phases, PV inputs, battery, settings they support.

Shared by the server (validation, setting ranges) and the simulator (physics).
"""

from __future__ import annotations

from dataclasses import dataclass, field

WORK_MODES_BASE: tuple[str, ...] = ("SelfUse", "Feedin", "Backup", "ForceCharge", "ForceDischarge")
"""Every mode the simulator knows; a model's own lists are narrower (see ``Family``)."""

ENABLE_DISABLE: tuple[str, ...] = ("disable", "enable")
"""The cloud's two-word switch values, in its order (batteryHeating/get sample)."""

GRID_CODES_BY_COUNTRY: dict[str, tuple[str, ...]] = {
    "GB": ("UK G98", "UK G99"),
    "DE": ("VDE4105",),
    "AT": ("VDE4105",),
    "AU": ("AS4777.2",),
    "NZ": ("AS4777.2",),
    "IT": ("CEI0-21",),
    "ZA": ("NRS097",),
    "US": ("IEEE1547",),
}
"""Grid codes an installer can choose in each country; anywhere else the European norm."""
GRID_CODES_DEFAULT: tuple[str, ...] = ("EN50549",)
GRID_CODES: tuple[str, ...] = (
    tuple(dict.fromkeys(c for codes in GRID_CODES_BY_COUNTRY.values() for c in codes).keys())
    + GRID_CODES_DEFAULT
)

SETTING_KEYS: tuple[str, ...] = (
    "ExportLimit",
    "MinSoc",
    "MinSocOnGrid",
    "MaxSoc",
    "GridCode",
    "WorkMode",
    "ActivePowerLimit",
    "ExportLimitPower",
    "EpsOutPut",
    "MaxSetChargeCurrent",
    "MaxSetDischargeCurrent",
    "ECOMode",
    "Meter1Enable",
    "Meter2Enable",
    "SysSwitch",
    "GroundProtection",
    "LowPowerMode",
)
"""Every key of setting/get|set the cloud documents (V1.0.8's five, then DOC-CG's, spec
3.5.9); a key outside this list is a bad request (40257), a listed key the model lacks is
"not supported" (42015)."""

EXPORT_LIMIT_KEYS: tuple[str, ...] = ("ExportLimit", "ExportLimitPower")
"""Two names of one inverter register: writing either stores both."""

SCHEDULE_BASE_PARAMS: tuple[str, ...] = ("minSocOnGrid", "fdSoc", "fdPwr", "maxSoc")
SCHEDULE_EXTRA_PARAMS: tuple[str, ...] = ("importLimit", "exportLimit", "pvLimit", "reactivePower")
SCHEDULE_PARAMS: tuple[str, ...] = SCHEDULE_BASE_PARAMS + SCHEDULE_EXTRA_PARAMS
"""The ``extraParam`` fields of scheduler v2/v3 groups (v0/v1 carry the first four flat)."""

FORCE_MODES: frozenset[str] = frozenset(
    {"ForceCharge", "ForceDischarge", "ForceCharge(BAT)", "ForceDischarge(BAT)"}
)


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """How one setting key reads and what it accepts on one model."""

    key: str
    unit: str
    precision: float
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[str, ...] | None = None
    default: str = ""


@dataclass(frozen=True, slots=True)
class Family:
    """What a model family's firmware offers beyond its ratings: the lists the cloud
    reports for it and the functions it has."""

    work_modes: tuple[str, ...]
    """WorkMode values of setting/get|set (empty: the key is not supported)."""
    scheduler_modes: tuple[str, ...]
    """``properties.workmode.enumList`` of the scheduler."""
    scheduler_v1: bool = True
    """v0/v1 scheduler paths answer; EVO firmware answers 41200 there (spec 3.2.3)."""
    max_group_count: int = 8
    schedule_extra: tuple[str, ...] = ()
    """extraParam fields beyond the four SoC/power ones (pvLimit, importLimit, ...)."""
    soc_floor: int = 10
    """Lowest minSocOnGrid/fdSoc the scheduler's properties report."""
    pv_limit_factor: float = 2.0
    peak_shaving: bool = False
    battery_heating: bool = False
    settings: frozenset[str] = frozenset()
    max_current_a: float = 0.0
    """Battery charge/discharge current limit (MaxSetChargeCurrent range)."""


_HYBRID_SETTINGS = frozenset(
    {"ExportLimit", "ExportLimitPower", "GridCode", "MinSoc", "MinSocOnGrid", "MaxSoc",
     "WorkMode", "EpsOutPut", "MaxSetChargeCurrent", "MaxSetDischargeCurrent", "SysSwitch"}
)  # fmt: skip
_THREE_PHASE_EXTRA = frozenset(
    {"ActivePowerLimit", "Meter1Enable", "Meter2Enable", "GroundProtection", "ECOMode"}
)
_SCHED_H1 = ("ForceDischarge", "Feedin", "Backup", "SelfUse", "ForceCharge")

FAMILIES: dict[str, Family] = {
    "H1": Family(("Feedin", "SelfUse"), _SCHED_H1, settings=_HYBRID_SETTINGS, max_current_a=25.0),
    "KH": Family(
        ("PeakShaving", "Feedin", "SelfUse"),
        ("ForceDischarge", "Feedin", "SelfUse", "ForceCharge"),
        max_group_count=24,
        peak_shaving=True,
        settings=_HYBRID_SETTINGS,
        max_current_a=50.0,
    ),
    "H3": Family(
        ("Feedin", "Backup", "SelfUse"),
        _SCHED_H1,
        max_group_count=96,
        schedule_extra=SCHEDULE_EXTRA_PARAMS,
        battery_heating=True,
        settings=_HYBRID_SETTINGS | _THREE_PHASE_EXTRA,
        max_current_a=26.0,
    ),
    "EVO": Family(
        (),
        (
            "ForceDischarge",
            "Feedin",
            "ForceCharge(BAT)",
            "ForceDischarge(BAT)",
            "Backup",
            "SelfUse",
            "ForceCharge",
        ),
        scheduler_v1=False,
        max_group_count=96,
        schedule_extra=SCHEDULE_EXTRA_PARAMS,
        soc_floor=5,
        pv_limit_factor=2.4,
        battery_heating=True,
        settings=(_HYBRID_SETTINGS - {"ExportLimit", "WorkMode", "MaxSoc"})
        | _THREE_PHASE_EXTRA
        | {"LowPowerMode"},
        max_current_a=50.0,
    ),
    "GRID": Family(
        (),
        (),
        settings=frozenset(
            {
                "ExportLimit",
                "ExportLimitPower",
                "GridCode",
                "ActivePowerLimit",
                "SysSwitch",
                "GroundProtection",
            }
        ),
    ),
}


@dataclass(frozen=True, slots=True)
class InverterModel:
    """One inverter model."""

    name: str
    product_type: str
    device_type: str
    rated_power_w: int
    phases: int
    pv_inputs: int
    has_battery: bool
    battery_kwh: float = 0.0
    max_charge_w: int = 0
    firmware: dict[str, str] = field(default_factory=dict)
    family: str = "H1"

    @property
    def grid_tied(self) -> bool:
        return not self.has_battery

    @property
    def features(self) -> Family:
        return FAMILIES["GRID" if not self.has_battery else self.family]

    @property
    def scheduler(self) -> bool:
        return self.has_battery

    @property
    def work_modes(self) -> tuple[str, ...]:
        """The values setting/set accepts for WorkMode (the model's firmware list)."""
        return self.features.work_modes

    @property
    def scheduler_modes(self) -> tuple[str, ...]:
        return self.features.scheduler_modes

    @property
    def fd_pwr_max(self) -> int:
        """The highest fdPwr the cloud accepts: about 1.05 x the rating (KH10.5 and H3-10:
        10500 in ``properties.fdpwr.range.max``)."""
        return round(self.rated_power_w * 1.05)

    @property
    def schedule_params(self) -> tuple[str, ...]:
        """The extraParam fields this model's scheduler takes (its ``properties`` keys)."""
        return (*SCHEDULE_BASE_PARAMS, *self.features.schedule_extra)

    def grid_codes(self, country: str | None) -> tuple[str, ...]:
        return GRID_CODES_BY_COUNTRY.get((country or "").upper(), GRID_CODES_DEFAULT)

    def settings(self, country: str | None = None) -> dict[str, SettingSpec]:
        """The setting keys this model supports, with unit, precision and range, as the
        cloud writes them (floats: ``precision`` 1.0, ranges 10.0-100.0); ``country`` (the
        plant's) chooses the grid codes offered."""
        rated = float(self.rated_power_w)
        amps = self.features.max_current_a
        codes = self.grid_codes(country)
        uk_g99 = codes[0] == "UK G98" and self.rated_power_w > 3700  # G98: up to 16 A a phase
        switch = ENABLE_DISABLE
        table = {
            "ExportLimit": SettingSpec("ExportLimit", "W", 1.0, 0.0, rated, default=f"{rated:g}"),
            "ExportLimitPower": SettingSpec(
                "ExportLimitPower", "W", 1.0, 0.0, rated, default=f"{rated:g}"
            ),
            "ActivePowerLimit": SettingSpec(
                "ActivePowerLimit", "W", 1.0, 0.0, rated, default=f"{rated:g}"
            ),
            "GridCode": SettingSpec(
                "GridCode", "", 1.0, enum=codes, default=codes[1] if uk_g99 else codes[0]
            ),
            "MinSoc": SettingSpec("MinSoc", "%", 1.0, 10.0, 100.0, default="10"),
            "MinSocOnGrid": SettingSpec("MinSocOnGrid", "%", 1.0, 10.0, 100.0, default="10"),
            "MaxSoc": SettingSpec("MaxSoc", "%", 1.0, 10.0, 100.0, default="100"),
            "WorkMode": SettingSpec("WorkMode", "", 1.0, enum=self.work_modes, default="SelfUse"),
            "MaxSetChargeCurrent": SettingSpec(
                "MaxSetChargeCurrent", "A", 0.1, 0.0, amps, default=f"{amps:g}"
            ),
            "MaxSetDischargeCurrent": SettingSpec(
                "MaxSetDischargeCurrent", "A", 0.1, 0.0, amps, default=f"{amps:g}"
            ),
            "EpsOutPut": SettingSpec("EpsOutPut", "", 1.0, enum=switch, default="enable"),
            "ECOMode": SettingSpec("ECOMode", "", 1.0, enum=switch, default="disable"),
            "Meter1Enable": SettingSpec("Meter1Enable", "", 1.0, enum=switch, default="enable"),
            "Meter2Enable": SettingSpec("Meter2Enable", "", 1.0, enum=switch, default="disable"),
            "SysSwitch": SettingSpec("SysSwitch", "", 1.0, enum=switch, default="enable"),
            "GroundProtection": SettingSpec(
                "GroundProtection", "", 1.0, enum=switch, default="enable"
            ),
            "LowPowerMode": SettingSpec("LowPowerMode", "", 1.0, enum=switch, default="disable"),
        }
        supported = self.features.settings
        return {key: spec for key, spec in table.items() if key in supported}


def _fw(master: str, slave: str, manager: str, afci: str = "") -> dict[str, str]:
    return {
        "masterVersion": master,
        "slaveVersion": slave,
        "managerVersion": manager,
        "afciVersion": afci,
        "hardwareVersion": "--",
    }


MODELS: dict[str, InverterModel] = {
    m.name: m
    for m in (
        InverterModel(
            "H1-3.7-E",
            "H",
            "H1-3.7-E",
            3700,
            1,
            2,
            True,
            battery_kwh=5.2,
            max_charge_w=3000,
            firmware=_fw("1.74", "1.02", "1.57"),
        ),
        InverterModel(
            "H1-5.0-E",
            "H",
            "H1-5.0-E",
            5000,
            1,
            2,
            True,
            battery_kwh=10.4,
            max_charge_w=5000,
            firmware=_fw("1.74", "1.02", "1.57"),
        ),
        InverterModel(
            "H1-6.0-E",
            "H",
            "H1-6.0-E",
            6000,
            1,
            2,
            True,
            battery_kwh=10.4,
            max_charge_w=6000,
            firmware=_fw("1.74", "1.02", "1.57"),
        ),
        InverterModel(
            "H3-10.0-E",
            "H3",
            "H3-10.0-E",
            10000,
            3,
            2,
            True,
            battery_kwh=10.4,
            max_charge_w=10000,
            firmware=_fw("1.80", "1.03", "1.60"),
            family="H3",
        ),
        InverterModel(
            "KH8",
            "KH",
            "KH8",
            8000,
            1,
            4,
            True,
            battery_kwh=10.36,
            max_charge_w=8000,
            firmware=_fw("1.34", "1.01", "1.28"),
            family="KH",
        ),
        InverterModel(
            "AIO-H3-10.0",
            "AIO-H3",
            "AIO-H3-10.0",
            10000,
            3,
            2,
            True,
            battery_kwh=15.0,
            max_charge_w=10000,
            firmware=_fw("1.45", "1.02", "1.33"),
            family="H3",
        ),
        InverterModel(
            "EVO 10-5-H",
            "812",
            "EVO 10-5-H",
            10000,
            1,
            3,
            True,
            battery_kwh=10.36,
            max_charge_w=10000,
            firmware=_fw("1.10", "1.05", "1.12"),
            family="EVO",
        ),
        InverterModel(
            "F3000",
            "F",
            "F3000",
            3000,
            1,
            2,
            False,
            firmware=_fw("1.12", "1.00", "1.10"),
        ),
        InverterModel(
            "T10-G3",
            "T",
            "T10-G3",
            10000,
            3,
            2,
            False,
            firmware=_fw("1.20", "1.00", "1.15"),
        ),
    )
}


def model(name: str) -> InverterModel | None:
    """The model by its name, e.g. ``H1-5.0-E``; None when unknown."""
    return MODELS.get(name)
