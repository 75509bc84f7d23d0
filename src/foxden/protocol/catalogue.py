"""The variable catalogue and the fault-code catalogue of the Fox ESS Open API.

These are the tables behind ``GET /op/v0/device/variable/get`` (which variables exist,
their unit, their name in six languages, which inverter kinds have them) and
``GET /op/v0/device/fault/get`` (the text of every fault code).

The data lives in ``foxden/protocol/data/variables.json`` and ``faults.json``. Those files
are generated from the vendor's API document by ``tools/extract_catalogue.py``; do not edit
them by hand, re-run the tool. Texts are exactly as the document has them, typos included.

The only I/O is reading that package data, once, on first use.
"""

from __future__ import annotations

import functools
from importlib import resources

import msgspec

__all__ = [
    "Fault",
    "Variable",
    "fault_get_result",
    "fault_text",
    "faults",
    "variable_get_result",
    "variables",
]

_DATA_PACKAGE = "foxden.protocol"

# Key order of the real cloud's variable/get entries (JSON key order carries no meaning,
# but this keeps our responses byte-comparable with real captures).
_CLOUD_NAME_ORDER = ("de", "pt", "en", "zh_CN", "pl", "fr")
# Key order of fault/get entries as the document lists them.
_FAULT_NAME_ORDER = ("en", "zh_CN", "pl")


class Variable(
    msgspec.Struct,
    frozen=True,
    forbid_unknown_fields=True,
    rename={"grid_tied": "gridTied", "energy_storage": "energyStorage"},
):
    """One variable of the real-time and history interfaces.

    ``unit`` is None when the variable has no unit. ``grid_tied`` / ``energy_storage`` say
    whether grid-tied / energy-storage inverters have it; None where the document (and
    the real cloud) gives no flag (pv2Power). ``enum`` maps raw values (as strings) to
    their meaning, for enumerated variables such as runningState.
    """

    variable: str
    unit: str | None
    name: dict[str, str]
    grid_tied: bool | None
    energy_storage: bool | None
    enum: dict[str, str] | None


class Fault(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One fault code: its text by language (only those the document gives) and a note."""

    code: int
    name: dict[str, str]
    note: str | None


def _read(filename: str) -> bytes:
    return (resources.files(_DATA_PACKAGE) / "data" / filename).read_bytes()


@functools.cache
def _variables() -> dict[str, Variable]:
    loaded = msgspec.json.decode(_read("variables.json"), type=list[Variable])
    table = {v.variable: v for v in loaded}
    if len(table) != len(loaded):
        raise RuntimeError("variables.json has duplicate variable names")
    return table


@functools.cache
def _faults() -> dict[int, Fault]:
    loaded = msgspec.json.decode(_read("faults.json"), type=list[Fault])
    table = {f.code: f for f in loaded}
    if len(table) != len(loaded):
        raise RuntimeError("faults.json has duplicate fault codes")
    return table


def variables() -> dict[str, Variable]:
    """Every variable by name, in document order (a fresh dict; the values are frozen)."""
    return dict(_variables())


def faults() -> dict[int, Fault]:
    """Every fault code, in document order (a fresh dict; the values are frozen)."""
    return dict(_faults())


def _ordered(texts: dict[str, str], order: tuple[str, ...]) -> dict[str, str]:
    out = {lang: texts[lang] for lang in order if lang in texts}
    out.update((lang, text) for lang, text in texts.items() if lang not in out)
    return out


def variable_get_result() -> list[dict[str, object]]:
    """The ``result`` of GET /op/v0/device/variable/get, shaped like the real cloud's.

    A list of one-key objects ``{variable: {...}}``. A variable without a unit has no
    ``unit`` key, one without inverter-kind flags has no flag keys, and an enumerated one
    has an ``enum`` key. A new structure on every call, free to modify.
    """
    result: list[dict[str, object]] = []
    for v in _variables().values():
        body: dict[str, object] = {}
        if v.unit is not None:
            body["unit"] = v.unit
        if v.grid_tied is not None:
            body["Grid-tied inverter"] = v.grid_tied
        body["name"] = _ordered(v.name, _CLOUD_NAME_ORDER)
        if v.energy_storage is not None:
            body["Energy-storage inverter"] = v.energy_storage
        if v.enum is not None:
            body["enum"] = dict(v.enum)
        result.append({v.variable: body})
    return result


def fault_get_result() -> list[dict[str, object]]:
    """The ``result`` of GET /op/v0/device/fault/get as the document describes it.

    A list of one-key objects ``{"<code>": {"en": ..., "zh_CN": ..., "pl": ...}}`` with
    only the languages the document gives for that code. A new structure on every call.
    """
    return [{str(f.code): _ordered(f.name, _FAULT_NAME_ORDER)} for f in _faults().values()]


def fault_text(code: int, lang: str = "en") -> str:
    """The text of fault ``code`` in ``lang``, falling back to English.

    Raises KeyError for a code that is not in the catalogue.
    """
    names = _faults()[code].name
    return names.get(lang) or names["en"]
