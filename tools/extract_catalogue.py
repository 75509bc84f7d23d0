"""Extract the variable and fault-code catalogues from the vendor's Open API document.

Usage::

    python tools/extract_catalogue.py [SPEC] [OUTDIR]

SPEC defaults to ``../shared/spec/000_b5422acc5bfaa84d.txt`` (relative to the repository
root) and OUTDIR to ``src/foxden/protocol/data``. Two files are written there, in document
order: ``variables.json`` and ``faults.json``. ``foxden.protocol.catalogue`` loads them.

The document is plain text with a YAML-like layout, but it is not valid YAML (the fault
table has a ``#`` comment on a code line, some units are quoted and some are not), so it is
read with a small line-based parser. Every line inside the two tables must be understood:
anything unexpected raises ``ValueError`` naming the line, rather than being skipped.
Texts are kept exactly as the document has them (typos included); only surrounding
whitespace is stripped.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypedDict

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO_ROOT / ".." / "shared" / "spec" / "000_b5422acc5bfaa84d.txt"
DEFAULT_OUTDIR = REPO_ROOT / "src" / "foxden" / "protocol" / "data"

LANGUAGES = ("zh_CN", "en", "pl", "fr", "pt", "de")

# Where the tables start and stop in the document.
VARIABLES_START = "data:"
VARIABLES_END_PREFIXES = ("Error code information table", "faults:")
FAULTS_START = "faults:"
FAULTS_END = "Path: /op/v0/plant/create"

_HEADING = re.compile(r"-\s+(\w+):")
_LANG_LINE = re.compile(r"(" + "|".join(LANGUAGES) + r"):(.*)")
_UNIT = re.compile(r"unit:(.*)")
_FLAG = re.compile(r"(Grid-tied inverter|Energy-storage inverter):\s*(true|false)")
_ENUM_ITEM = re.compile(r"(\d+):(.*)")
_CODE = re.compile(r"(\d+):(.*)")


class VariableRecord(TypedDict):
    variable: str
    unit: str | None
    name: dict[str, str]
    gridTied: bool | None
    energyStorage: bool | None
    enum: dict[str, str] | None


class FaultRecord(TypedDict):
    code: int
    name: dict[str, str]
    note: str | None


def _fail(lineno: int, line: str, why: str) -> ValueError:
    return ValueError(f"line {lineno}: {why}: {line!r}")


def _table(
    lines: Sequence[str], start: str, is_end: Callable[[str], bool]
) -> list[tuple[int, str]]:
    """The stripped lines between the single line ``start`` and the first end line.

    Returns (1-based line number, stripped text) pairs; blank lines are dropped.
    """
    starts = [i for i, line in enumerate(lines) if line.strip() == start]
    if len(starts) != 1:
        raise ValueError(f"expected exactly one {start!r} line, found {len(starts)}")
    out: list[tuple[int, str]] = []
    for i in range(starts[0] + 1, len(lines)):
        text = lines[i].strip()
        if is_end(text):
            if not out:
                raise ValueError(f"the table starting at line {starts[0] + 1} is empty")
            return out
        if text:
            out.append((i + 1, text))
    raise ValueError(f"the table starting at line {starts[0] + 1} ({start!r}) never ends")


def _text(lineno: int, line: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise _fail(lineno, line, "empty text")
    return value


def parse_variables(text: str) -> list[VariableRecord]:
    """The variable table (after ``data:``), one record per ``- name:`` heading."""
    rows = _table(
        text.splitlines(),
        VARIABLES_START,
        lambda line: line.startswith(VARIABLES_END_PREFIXES),
    )
    records: list[VariableRecord] = []
    seen: set[str] = set()
    current: VariableRecord | None = None
    # Which part of the current entry we are in: "head" (just after the heading),
    # "name" (language lines), "body" (unit and flags), "enum" (enum items).
    part = "head"
    have_unit = False

    def finish(lineno: int, line: str) -> None:
        if current is not None and not have_unit:
            raise _fail(
                lineno, line, f"variable {current['variable']!r} ended with no 'unit:' line"
            )

    for lineno, line in rows:
        if m := _HEADING.fullmatch(line):
            finish(lineno, line)
            variable = m.group(1)
            if variable in seen:
                raise _fail(lineno, line, f"duplicate variable {variable!r}")
            seen.add(variable)
            current = {
                "variable": variable,
                "unit": None,
                "name": {},
                "gridTied": None,
                "energyStorage": None,
                "enum": None,
            }
            records.append(current)
            part, have_unit = "head", False
            continue
        if current is None:
            raise _fail(lineno, line, "expected a '- variable:' heading")
        if line == "name:" and part == "head":
            part = "name"
        elif part == "name" and (m := _LANG_LINE.fullmatch(line)):
            lang = m.group(1)
            if lang in current["name"]:
                raise _fail(lineno, line, f"duplicate language {lang!r}")
            current["name"][lang] = _text(lineno, line, m.group(2))
        elif part == "name" and (m := _UNIT.fullmatch(line)):
            unit = m.group(1).strip()
            if len(unit) >= 2 and unit[0] == unit[-1] == '"':
                unit = unit[1:-1].strip()
            current["unit"] = unit or None
            part, have_unit = "body", True
        elif part == "body" and (m := _FLAG.fullmatch(line)):
            flag = m.group(2) == "true"
            if m.group(1) == "Grid-tied inverter" and current["gridTied"] is None:
                current["gridTied"] = flag
            elif m.group(1) == "Energy-storage inverter" and current["energyStorage"] is None:
                current["energyStorage"] = flag
            else:
                raise _fail(lineno, line, f"duplicate {m.group(1)!r}")
        elif line == "enum:" and part == "body" and current["enum"] is None:
            current["enum"] = {}
            part = "enum"
        elif part == "enum" and current["enum"] is not None and (m := _ENUM_ITEM.fullmatch(line)):
            key = m.group(1)
            if key in current["enum"]:
                raise _fail(lineno, line, f"duplicate enum value {key}")
            current["enum"][key] = _text(lineno, line, m.group(2))
        else:
            raise _fail(lineno, line, f"unexpected line in variable {current['variable']!r}")
    finish(*rows[-1])
    return records


def parse_faults(text: str) -> list[FaultRecord]:
    """The fault-code table (after ``faults:``), one record per ``N:`` line."""
    rows = _table(text.splitlines(), FAULTS_START, lambda line: line == FAULTS_END)
    records: list[FaultRecord] = []
    seen: set[int] = set()
    current: FaultRecord | None = None

    def finish(lineno: int, line: str) -> None:
        if current is not None and not current["name"]:
            raise _fail(lineno, line, f"fault {current['code']} ended with no language line")

    for lineno, line in rows:
        if m := _CODE.fullmatch(line):
            finish(lineno, line)
            code = int(m.group(1))
            if code in seen:
                raise _fail(lineno, line, f"duplicate fault code {code}")
            seen.add(code)
            rest = m.group(2).strip()
            note: str | None = None
            if rest:
                if not rest.startswith("#"):
                    raise _fail(lineno, line, "text after a fault code that is not a # comment")
                note = _text(lineno, line, rest[1:])
            current = {"code": code, "name": {}, "note": note}
            records.append(current)
        elif current is not None and (m := _LANG_LINE.fullmatch(line)):
            lang = m.group(1)
            if lang in current["name"]:
                raise _fail(lineno, line, f"duplicate language {lang!r}")
            current["name"][lang] = _text(lineno, line, m.group(2))
        else:
            raise _fail(lineno, line, "unexpected line in the fault table")
    finish(*rows[-1])
    return records


def render(records: Sequence[VariableRecord] | Sequence[FaultRecord]) -> str:
    """The exact text written to the data files."""
    return json.dumps(list(records), ensure_ascii=False, indent=1) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("outdir", nargs="?", type=Path, default=DEFAULT_OUTDIR)
    args = parser.parse_args(argv)
    spec: Path = args.spec
    outdir: Path = args.outdir

    text = spec.read_text(encoding="utf-8")
    variables = parse_variables(text)
    faults = parse_faults(text)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "variables.json").write_text(render(variables), encoding="utf-8")
    (outdir / "faults.json").write_text(render(faults), encoding="utf-8")
    print(f"{len(variables)} variables, {len(faults)} fault codes -> {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
