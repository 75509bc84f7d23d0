"""The quota rule shared by the server and the account listing."""

from __future__ import annotations


def quota_total(per_device: int, device_count: int) -> int:
    """Calls a day for an account: the per-inverter quota times its inverters (at least one),
    as the real cloud grants 1440 a day per inverter."""
    return per_device * max(1, device_count)
