"""Inverter models foxden knows: ratings, phases, PV inputs, battery, settings they support.

Shared by the server (validation, setting ranges) and the simulator (physics).
"""

from __future__ import annotations

from dataclasses import dataclass, field

WORK_MODES_BASE: tuple[str, ...] = ("SelfUse", "Feedin", "Backup", "ForceCharge", "ForceDischarge")
GRID_CODES: tuple[str, ...] = (
    "UK G98",
    "UK G99",
    "VDE4105",
    "EN50549",
    "AS4777.2",
    "IEEE1547",
    "CEI0-21",
    "NRS097",
)

SETTING_KEYS: tuple[str, ...] = ("ExportLimit", "MinSoc", "MinSocOnGrid", "MaxSoc", "GridCode")
"""The document's setting keys; WorkMode is accepted too, as real clients use it."""


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
class InverterModel:
    """One inverter model."""

    name: str
    product_type: str
    device_type: str
    rated_power_w: int
    phases: int
    pv_inputs: int
    has_battery: bool
    peak_shaving: bool = False
    battery_kwh: float = 0.0
    max_charge_w: int = 0
    firmware: dict[str, str] = field(default_factory=dict)

    @property
    def grid_tied(self) -> bool:
        return not self.has_battery

    @property
    def scheduler(self) -> bool:
        return self.has_battery

    @property
    def work_modes(self) -> tuple[str, ...]:
        if not self.has_battery:
            return ()
        return (*WORK_MODES_BASE, "PeakShaving") if self.peak_shaving else WORK_MODES_BASE

    def settings(self) -> dict[str, SettingSpec]:
        """The setting keys this model supports, with unit, precision and range."""
        specs = [
            SettingSpec(
                "ExportLimit", "W", 1, 0, self.rated_power_w, default=str(self.rated_power_w)
            ),
            SettingSpec("GridCode", "", 1, enum=GRID_CODES, default=GRID_CODES[0]),
        ]
        if self.has_battery:
            specs += [
                SettingSpec("MinSoc", "%", 1, 10, 100, default="10"),
                SettingSpec("MinSocOnGrid", "%", 1, 10, 100, default="10"),
                SettingSpec("MaxSoc", "%", 1, 10, 100, default="100"),
                SettingSpec("WorkMode", "", 1, enum=self.work_modes, default="SelfUse"),
            ]
        return {s.key: s for s in specs}


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
        ),
        InverterModel(
            "KH8",
            "KH",
            "KH8",
            8000,
            1,
            4,
            True,
            peak_shaving=True,
            battery_kwh=10.36,
            max_charge_w=8000,
            firmware=_fw("1.34", "1.01", "1.28"),
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
