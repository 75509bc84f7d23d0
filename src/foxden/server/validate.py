"""Checks on a request's raw input that the structs cannot express: nesting depth, NUL
characters, body size. Each failure is the 40257 of ``invalid`` naming the field."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from foxden.protocol import limits
from foxden.server.errors import ApiError, invalid

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


def check_depth(body: bytes, max_depth: int = limits.JSON_MAX_DEPTH) -> None:
    """40257 when arrays and objects nest deeper than ``max_depth`` (the decoder would
    otherwise recurse once per level)."""
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return  # cannot be deeper: the common case costs two C-level counts
    depth = 0
    for bracket in _BRACKETS.findall(_STRING.sub(b'""', body)):
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                raise invalid("body", f"nested deeper than {max_depth} levels")
        else:
            depth -= 1


def nul_path(value: Any, path: str = "") -> str | None:
    """The path of the first key or string holding a NUL character, else None."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where.replace("\x00", "\\0")
            found = nul_path(item, where)
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = nul_path(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def check_nul_body(body: bytes) -> None:
    """40257 naming the field when a JSON string holds a NUL (``\\u0000``): databases
    refuse it and no field of the API can hold one."""
    if b"\\u0000" not in body:
        return
    try:
        decoded = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return  # the typed decoder reports it
    where = nul_path(decoded)
    if where is not None:
        raise invalid(field_name(where, "body"), "must not contain a NUL character")


def check_nul_query(params: dict[str, str]) -> None:
    for key, value in params.items():
        if "\x00" in key or "\x00" in value:
            name = field_name(key.replace("\x00", "\\0"), "query")
            raise invalid(name, "must not contain a NUL character")


def field_name(raw: str, blank: str) -> str:
    """A client's key (or key path) as the field a 40257's detail names: unprintable
    characters as spaces, trimmed, ``blank`` when nothing is left, and never holding the
    ``": "`` that separates the field from the reason in the detail."""
    name = "".join(c if c.isprintable() else " " for c in raw).strip()
    while ": " in name:
        name = name.replace(": ", ":")
    return name or blank


def too_large(limit: int) -> ApiError:
    return invalid("body", f"larger than {limit} bytes")
