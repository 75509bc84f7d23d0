"""Numeric limits of the Open API, as the vendor document states them (and fixes to it)."""

from __future__ import annotations

PAGE_MIN = 1
PAGE_SIZE_MIN = 10
PAGE_SIZE_MAX = 1000

REAL_QUERY_MAX_SNS = 50
HISTORY_MAX_SPAN_MS = 24 * 3600 * 1000
HISTORY_DEFAULT_SPAN_MS = 3 * 24 * 3600 * 1000

REPORT_MIN_YEAR = 2020
REPORT_MAX_YEAR = 2100

SOC_MIN = 10
SOC_MAX = 100

SCHEDULER_MAX_GROUPS = 8
SCHEDULER_MIN_SOC_ON_GRID = 10
SCHEDULER_FD_SOC_MAX = 100
SCHEDULER_FD_SOC_MIN_ENABLED = 11
"""v0/v1 refuse an enabled group with fdSoc below 11 (40257), although the properties
block reports 10 as the minimum (nicois/foxess-control API_DEVIATIONS.md)."""

# The document swaps the ranges of the time/set fields; these are the real ones.
TIME_RANGES: dict[str, tuple[int, int]] = {
    "year": (0, 99),
    "month": (1, 12),
    "day": (1, 31),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}

DAILY_QUOTA_PER_DEVICE = 1440

# Bounds on what a client sends that the vendor document leaves open. They keep every value
# inside what the server computes with (64-bit integers, dates up to year 9999), so an
# out-of-range value is a 40257 naming the field rather than a failure deep inside.
PAGE_MAX = 1_000_000
TIME_MS_MAX = 253_402_300_799_999
"""9999-12-31 23:59:59.999 UTC, the last instant a date can name."""
INT_MAX = 2**53
"""Largest magnitude of a whole-number setting value (exact in a JSON double)."""
NUMBER_MAX = 1e12
"""Largest magnitude of a decimal field (price, capacity)."""
ID_MAX_LENGTH = 64
"""Serial numbers, power station ids, setting keys, work modes, currency codes."""
NAME_MAX_LENGTH = 128
TEXT_MAX_LENGTH = 256
"""Free text: city, address, postcode and the like."""
ZONE_MAX_LENGTH = 64
VARIABLES_MAX = 256
"""Variable names in one real-time, history or report query."""
JSON_MAX_DEPTH = 32
"""Deepest nesting of arrays and objects in a request body."""
SCHEDULER_LIST_MAX = 100
"""Groups in one v1/v2/v3 scheduler request (the per-version counts are checked after)."""
PLANT_MAX_DEVICES = 1000
"""Devices bound in one plant/create or plant/update."""

# Pacing of the real cloud (newer-endpoints.md section 2.5, quoting the V1.1.9 and V1.1.18
# documents): query interfaces at most once a second per interface, update interfaces at
# most once every two seconds; clients keep 1 s per path and 2 s per inverter for writes.
PATH_MIN_INTERVAL_MS = 1000
DEVICE_WRITE_MIN_INTERVAL_MS = 2000
