"""Tidy rows (device, variable, time, value, unit) of history and reports, as CSV, Parquet
or JSON; ``--out FILE`` picks the format from the file's extension."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TextIO

import msgspec
import typer

from foxden.cli.common import EXIT_USAGE, CliError, err_console, fail, need

TidyRow = tuple[str, str, str, float | str, str]
TIDY_COLUMNS = ("device", "variable", "time", "value", "unit")
OUT_FORMATS = {".csv": "tidy rows as CSV", ".parquet": "tidy rows as Parquet",
               ".json": "the raw result as JSON"}  # fmt: skip

OutFile = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Write to this file, in the format its name ends with: "
        + "; ".join(f"{suffix} {what}" for suffix, what in OUT_FORMATS.items()),
        dir_okay=False,
        show_default="none: print to stdout",
    ),
]


def write_csv(rows: Sequence[TidyRow], stream: TextIO | None = None) -> None:
    writer = csv.writer(stream or sys.stdout, lineterminator="\n")
    writer.writerow(TIDY_COLUMNS)
    writer.writerows(rows)


def write_parquet(path: Path, rows: Sequence[TidyRow]) -> None:
    """Tidy rows to Parquet: ``time`` is a timestamp (UTC, ms) and ``local_time`` the
    plant's local time as text with its offset; ``value`` is float64 (null for a text
    value), the text of a text variable (runningState, batStatusV2 ...) is kept in ``text``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    numbers: list[float | None] = []
    texts: list[str | None] = []
    for row in rows:
        value = row[3]
        if isinstance(value, str):
            texts.append(value)
            try:
                numbers.append(float(value))
            except ValueError:
                numbers.append(None)
        else:
            texts.append(None)
            numbers.append(float(value))
    table = pa.table(
        {
            "device": pa.array([r[0] for r in rows], pa.string()),
            "variable": pa.array([r[1] for r in rows], pa.string()),
            "time": pa.array(
                [datetime.fromisoformat(r[2]) for r in rows], pa.timestamp("ms", tz="UTC")
            ),
            "local_time": pa.array([r[2] for r in rows], pa.string()),
            "value": pa.array(numbers, pa.float64()),
            "unit": pa.array([r[4] for r in rows], pa.string()),
            "text": pa.array(texts, pa.string()),
        }
    )
    try:
        pq.write_table(table, str(path))
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc}", "check the directory exists") from None
    err_console().print(f"Wrote {len(rows)} rows to {path}")


def out_suffix(path: Path | None) -> str | None:
    """The format ``--out`` asks for, checked before any call; None without ``--out``."""
    if path is None:
        return None
    suffix = path.suffix.lower()
    if suffix not in OUT_FORMATS:
        fail(
            f"--out {path}: cannot tell the format from {suffix or 'a name without extension'}",
            EXIT_USAGE,
            "end the name in " + ", ".join(OUT_FORMATS),
        )
    if suffix == ".parquet":
        need("parquet", "Parquet output")
    return suffix


def write_out(path: Path, suffix: str, rows: Sequence[TidyRow], raw: Any) -> None:
    """Write ``--out``: tidy rows (CSV, Parquet) or the raw result (JSON)."""
    if suffix == ".parquet":
        return write_parquet(path, rows)
    try:
        with path.open("w", encoding="utf-8", newline="") as stream:
            if suffix == ".csv":
                write_csv(rows, stream)
            else:
                encoded = msgspec.json.encode(msgspec.to_builtins(raw))
                stream.write(msgspec.json.format(encoded, indent=2).decode() + "\n")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
    count = f"{len(rows)} rows" if suffix == ".csv" else "the result"
    err_console().print(f"Wrote {count} to {path}")


def check_formats(as_json: bool, as_csv: bool, parquet: Path | None) -> None:
    """Before any call: the formats go together and what they need is installed."""
    if as_json and as_csv:
        fail("--json and --csv do not go together", EXIT_USAGE, "choose one")
    if parquet is not None:
        need("parquet", "--parquet")
