"""The one exception the rules raise, and the one function that names a bad field.

The envelope's ``msg`` is always the cloud's own text for the errno (clients match on
it); what a developer needs to know (which field, why) is the ``detail``, which the app
sends in the ``X-Foxden-Detail`` response header and writes to the server log. Rules
raise ``invalid(field, problem)`` for 40257 and ``ApiError(errno, detail)`` otherwise.
"""

from __future__ import annotations

import math
import re

from foxden.protocol.errno import ERRNO_TABLE, Errno

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


class ApiError(Exception):
    """A failure answered with the vendor's envelope (HTTP 200, non-zero errno).

    ``msg`` is the cloud's text for the errno unless ``msg`` is given (40256 carries its
    reason in the text, as the cloud writes it); ``detail`` is for the developer only.
    """

    def __init__(self, errno: Errno, detail: str | None = None, *, msg: str | None = None) -> None:
        self.errno = errno
        self.msg = msg or ERRNO_TABLE[errno].message
        self.detail = detail or ""
        super().__init__(f"{self.msg} ({self.detail})" if self.detail else self.msg)


def invalid(field: str, problem: str) -> ApiError:
    """errno 40257; the detail names the field and says what is wrong with it."""
    return ApiError(Errno.PARAMETER_INVALID, f"{field}: {problem}")


def header_invalid(reason: str, detail: str) -> ApiError:
    """errno 40256 with the cloud's text: the base message, a space, the short reason
    ("no token", "illegal timestamp", ...), as the real cloud writes it."""
    base = ERRNO_TABLE[Errno.HEADER_INVALID].message
    return ApiError(Errno.HEADER_INVALID, detail, msg=f"{base} {reason}")


def parse_number(raw: str | int | float) -> float:
    """A JSON number or a plain decimal string ("12", "-3.5"); NaN for anything else."""
    if isinstance(raw, bool):
        return math.nan
    if isinstance(raw, int | float):
        return float(raw)
    text = raw.strip()
    return float(text) if _NUMBER.match(text) else math.nan
