"""Tidy rows (device, variable, time, value, unit) of history and reports, as CSV or Parquet."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from pathlib import Path

from foxden.cli.common import EXIT_USAGE, CliError, err_console, fail, need

TidyRow = tuple[str, str, str, float | str, str]
TIDY_COLUMNS = ("device", "variable", "time", "value", "unit")


def write_csv(rows: Sequence[TidyRow]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(TIDY_COLUMNS)
    writer.writerows(rows)


def write_parquet(path: Path, rows: Sequence[TidyRow]) -> None:
    """Tidy rows to Parquet: ``value`` is float64 (null for a text value), the text of a
    text variable (runningState, batStatusV2 ...) is kept in ``text``."""
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
            "time": pa.array([r[2] for r in rows], pa.string()),
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


def check_formats(as_json: bool, as_csv: bool, parquet: Path | None) -> None:
    """Before any call: the formats go together and what they need is installed."""
    if as_json and as_csv:
        fail("--json and --csv do not go together", EXIT_USAGE, "choose one")
    if parquet is not None:
        need("parquet", "--parquet")
