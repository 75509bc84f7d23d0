"""The one exception the rules raise: an errno and the message that names the field."""

from __future__ import annotations

import math
import re

from foxden.protocol.errno import ERRNO_TABLE, Errno

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


class ApiError(Exception):
    """A failure answered with the vendor's envelope (HTTP 200, non-zero errno)."""

    def __init__(self, errno: Errno, detail: str | None = None) -> None:
        base = ERRNO_TABLE[errno].message
        self.errno = errno
        self.msg = f"{base}: {detail}" if detail else base
        super().__init__(self.msg)


def invalid(field: str, problem: str) -> ApiError:
    """errno 40257 naming the field."""
    return ApiError(Errno.PARAMETER_INVALID, f"{field}: {problem}")


def parse_number(raw: str | int | float) -> float:
    """A JSON number or a plain decimal string ("12", "-3.5"); NaN for anything else."""
    if isinstance(raw, bool):
        return math.nan
    if isinstance(raw, int | float):
        return float(raw)
    text = raw.strip()
    return float(text) if _NUMBER.match(text) else math.nan
