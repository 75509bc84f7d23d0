"""The rules of call limits shared by the server, its settings and the account listing:
the daily quota and the limit profiles a server can run under."""

from __future__ import annotations

from dataclasses import dataclass

from foxden.protocol import limits


def quota_total(per_device: int, device_count: int) -> int:
    """Calls a day for an account: the per-inverter quota times its inverters (at least one),
    as the real cloud grants 1440 a day per inverter."""
    return per_device * max(1, device_count)


@dataclass(frozen=True, slots=True)
class LimitProfile:
    """Which limits a server enforces (docs/fidelity.md says where each comes from)."""

    name: str
    path_interval_ms: int
    """Per API key and query interface (a path ending in ``/query``): a second call closer
    than this is refused (40400); 0: none."""
    device_write_interval_ms: int
    """Per inverter: a second setting write closer than this is refused (40400); 0: none."""
    key_bucket: bool
    """The per-key token bucket of ``rate_per_second`` / ``rate_burst`` applies."""
    quota: bool
    """The daily quota refuses calls (40402) once spent; calls are counted either way."""


LIMIT_PROFILES: dict[str, LimitProfile] = {
    p.name: p
    for p in (
        LimitProfile(
            "cloud",
            limits.PATH_MIN_INTERVAL_MS,
            limits.DEVICE_WRITE_MIN_INTERVAL_MS,
            key_bucket=False,
            quota=True,
        ),
        LimitProfile("lenient", 0, 0, key_bucket=True, quota=True),
        LimitProfile("off", 0, 0, key_bucket=False, quota=False),
    )
}
DEFAULT_LIMIT_PROFILE = "cloud"


def limit_profile(name: str) -> LimitProfile:
    """The profile by name; KeyError naming the known ones."""
    try:
        return LIMIT_PROFILES[name]
    except KeyError:
        raise KeyError(
            f"unknown limit profile {name!r}; known: {', '.join(LIMIT_PROFILES)}"
        ) from None
