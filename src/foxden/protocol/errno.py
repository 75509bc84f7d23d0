"""The errno table of the Open API.

The vendor document lists only 40256, 40257 and 40400; the rest were seen on the real
cloud (see docs/errno.md, which is checked against this table by a test).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Errno(enum.IntEnum):
    """Every errno foxden answers with, and the ones the real cloud is known to send."""

    OK = 0
    HEADER_INVALID = 40256
    PARAMETER_INVALID = 40257
    INVERTER_ID_INCORRECT = 40261
    TOO_FREQUENT = 40400
    QUOTA_EXCEEDED = 40402
    QUERY_FAILED = 41200
    TOKEN_INVALID = 41808
    TOKEN_INVALID_LEGACY = 41809
    DEVICE_UNAVAILABLE = 41930
    UNSUPPORTED_FEATURE = 42015
    TIME_OVERLAP = 42023
    SETTING_REFUSED = 44096
    WRITE_FAILED = 44098


@dataclass(frozen=True, slots=True)
class ErrnoInfo:
    """What an errno means, the message the cloud sends, and what a caller should do."""

    errno: Errno
    meaning: str
    message: str
    advice: str
    sent_by_foxden: bool


SUCCESS_MESSAGE = "Operation successful"

ERRNO_TABLE: dict[Errno, ErrnoInfo] = {
    info.errno: info
    for info in (
        ErrnoInfo(Errno.OK, "success", SUCCESS_MESSAGE, "nothing", True),
        ErrnoInfo(
            Errno.HEADER_INVALID,
            "request header missing or invalid (token, timestamp, signature, lang)",
            "Parameter could not be parsed correctly",
            "send all four headers; keep the clock in sync; sign path, token and timestamp",
            True,
        ),
        ErrnoInfo(
            Errno.PARAMETER_INVALID,
            "request body or query parameters invalid",
            "Parameters do not meet expectations. Please reenter",
            "fix the field the X-Foxden-Detail header names; do not retry unchanged",
            True,
        ),
        ErrnoInfo(
            Errno.INVERTER_ID_INCORRECT,
            "incorrect inverter id",
            "Incorrect inverter id",
            "check the serial number belongs to this account",
            True,
        ),
        ErrnoInfo(
            Errno.TOO_FREQUENT,
            "requests too frequent",
            "The number of requests is too frequent. Please reduce the frequency of access",
            "wait and retry with backoff",
            True,
        ),
        ErrnoInfo(
            Errno.QUOTA_EXCEEDED,
            "daily call quota used up",
            "Your request exceeds the limit. Please try again later",
            "wait until the quota resets (00:00 UTC)",
            True,
        ),
        ErrnoInfo(
            Errno.QUERY_FAILED,
            "query data failed (transient); for good where a model lacks the function "
            "(v1 scheduler on EVO, battery heating)",
            "Query data failed",
            "retry later; after a few tries treat the function as missing",
            True,
        ),
        ErrnoInfo(
            Errno.TOKEN_INVALID,
            "token invalid: unknown, rotated, or signature does not match",
            "invalid token",
            "check the API key and the signing of path, token and timestamp",
            True,
        ),
        ErrnoInfo(
            Errno.TOKEN_INVALID_LEGACY,
            "invalid token (legacy API)",
            "invalid token",
            "check the API key",
            False,
        ),
        ErrnoInfo(
            Errno.DEVICE_UNAVAILABLE,
            "device does not exist or is already in use",
            "Device does not exist or are already in use",
            "check the serial number and that the device is registered to this account",
            True,
        ),
        ErrnoInfo(
            Errno.UNSUPPORTED_FEATURE,
            "this device does not support this feature",
            "This device does not currently support this feature",
            "do not retry: the model lacks this function",
            True,
        ),
        ErrnoInfo(
            Errno.TIME_OVERLAP,
            "scheduler time segments overlap",
            "Time overlap, please reselect time",
            "make the scheduler groups disjoint",
            True,
        ),
        ErrnoInfo(
            Errno.SETTING_REFUSED,
            "setting refused (unsupported by the model, or while the scheduler is active)",
            "Setting refused",
            "check the model supports the key; disable the scheduler first",
            True,
        ),
        ErrnoInfo(
            Errno.WRITE_FAILED,
            "write to the device failed",
            "Write failed",
            "retry later",
            False,
        ),
    )
}


MESSAGE_LANGUAGES: tuple[str, ...] = ("en",)
"""Languages the table has texts in (GET /c/v0/errors/message answers every one)."""


def messages(lang: str = "en") -> dict[str, str]:
    """The cloud's text of every errno in the table, keyed by the errno as a string
    (the shape of ``result.messages.<lang>`` of GET /c/v0/errors/message)."""
    if lang not in MESSAGE_LANGUAGES:
        raise KeyError(lang)
    return {str(int(entry.errno)): entry.message for entry in ERRNO_TABLE.values()}


def info(errno: int) -> ErrnoInfo | None:
    """The table entry for an errno, or None for one nobody has documented."""
    try:
        return ERRNO_TABLE[Errno(errno)]
    except ValueError:
        return None


def render_markdown() -> str:
    """docs/errno.md, generated from the table (a test checks the file matches)."""
    lines = [
        "# errno codes",
        "",
        "Generated from `foxden.protocol.errno` by `python -m foxden.protocol.errno`;",
        "a test fails when this file and the table disagree.",
        "",
        "| errno | meaning | msg | what to do | foxden sends it |",
        "|---|---|---|---|---|",
    ]
    for entry in ERRNO_TABLE.values():
        lines.append(
            f"| {int(entry.errno)} | {entry.meaning} | {entry.message} | {entry.advice} | "
            f"{'yes' if entry.sent_by_foxden else 'no'} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(render_markdown(), end="")
