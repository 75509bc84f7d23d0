"""For every endpoint of the catalogue, values just outside each field's bounds (integers
past a range, strings past a length, NUL characters, nesting past the depth limit) are
generated from the request struct itself and must answer errno 40257 with the field named
in the detail: never 41200, never a different field."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foxden.protocol import limits
from foxden.protocol.endpoints import ENDPOINTS, Endpoint
from tests.conftest import LiveServer
from tests.server.calls import signed, unlimited_server

Wrap = Callable[[Any], Any]
Violation = tuple[str, st.SearchStrategy[Any]]
"""The field's path as the detail names it, and a strategy for a whole body breaking it."""

SN = "BNDH10000001"


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _scalar(t: mi.Type, query: bool) -> list[st.SearchStrategy[Any]]:
    """Bad values for a scalar type (strings only when the field comes in a query)."""
    found: list[st.SearchStrategy[Any]] = []
    if isinstance(t, mi.StrType):
        found.append(st.text(max_size=8).map(lambda s: s + "\x00"))
        if t.max_length is not None:
            n = t.max_length
            found.append(st.text(alphabet="ab1", min_size=n + 1, max_size=n + 40))
    if query:
        return found
    if isinstance(t, mi.IntType):
        if t.le is not None:
            found.append(st.integers(min_value=t.le + 1, max_value=t.le + 2**70))
        if t.ge is not None:
            found.append(st.integers(min_value=t.ge - 2**70, max_value=t.ge - 1))
    if isinstance(t, mi.FloatType) and t.le is not None:
        found.append(st.floats(min_value=t.le, exclude_min=True, allow_infinity=False))
    return found


def violations(t: mi.Type, path: str, wrap: Wrap, query: bool) -> list[Violation]:
    if isinstance(t, mi.Metadata):
        return violations(t.type, path, wrap, query)
    if isinstance(t, mi.UnionType):
        return [v for member in t.types for v in violations(member, path, wrap, query)]
    if isinstance(t, mi.StructType):
        found: list[Violation] = []
        for f in t.fields:
            where = f"{path}.{f.encode_name}" if path else f.encode_name

            def inner(value: Any, name: str = f.encode_name, outer: Wrap = wrap) -> Any:
                return outer({name: value})

            found += violations(f.type, where, inner, query)
        return found
    if isinstance(t, mi.ListType) and not query:

        def item(value: Any, outer: Wrap = wrap) -> Any:
            return outer([value])

        return violations(t.item_type, f"{path}[0]", item, query)
    if isinstance(t, mi.AnyType | mi.DictType) and not query:
        depth = limits.JSON_MAX_DEPTH + 5
        return [("body", st.just(wrap(_deep(depth))))]
    return [(path, strategy.map(wrap)) for strategy in _scalar(t, query)]


def endpoint_violations(endpoint: Endpoint) -> list[Violation]:
    assert endpoint.request is not None
    return violations(mi.type_info(endpoint.request), "", lambda v: v, endpoint.params_in_query)


WITH_REQUESTS = [e for e in ENDPOINTS if e.request is not None]


def test_every_endpoint_with_a_request_has_bounded_fields() -> None:
    for endpoint in WITH_REQUESTS:
        assert endpoint_violations(endpoint), endpoint.name


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    live, key = unlimited_server(Path(tmp_path_factory.mktemp("bounds")), "bounds", SN)
    yield live, key
    live.stop()


@pytest.mark.parametrize("endpoint", WITH_REQUESTS, ids=lambda e: e.name)
def test_values_outside_the_bounds_name_their_field(
    server: tuple[LiveServer, str], endpoint: Endpoint
) -> None:
    live, key = server
    cases = endpoint_violations(endpoint)

    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(cases).flatmap(lambda c: st.tuples(st.just(c[0]), c[1])))
    def check(case: tuple[str, Any]) -> None:
        field, body = case
        headers = signed(endpoint.path, key)
        if endpoint.params_in_query:
            answer = httpx.get(live.url + endpoint.path, params=_flat(body), headers=headers)
        else:
            content = msgspec.json.encode(body)
            answer = httpx.post(live.url + endpoint.path, content=content, headers=headers)
        assert answer.status_code == 200
        envelope = answer.json()
        detail = answer.headers.get("x-foxden-detail", "")
        assert envelope["errno"] == 40257, (field, json.dumps(body)[:200], envelope, detail)
        assert detail.startswith(f"{field}:"), (field, detail)

    check()


def _flat(body: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}


@given(st.text(max_size=30))
def test_a_refused_fields_name_is_never_blank_and_never_holds_the_separator(raw: str) -> None:
    from foxden.server.validate import field_name

    name = field_name(raw, "body")
    assert name and name == name.strip()
    assert ": " not in name  # the detail "field: reason" splits at its first ": "
    assert all(c.isprintable() for c in name)
    if raw.isprintable() and ": " not in raw and raw.strip() == raw and raw:
        assert name == raw  # an ordinary key is named as sent


def test_a_key_that_reads_as_the_separator_is_named_without_it() -> None:
    from foxden.server.validate import field_name

    # found by the fuzz test: ":" and an unassigned character (printed as a space)
    assert field_name(":\U00018cd6.\\0", "body") == ":.\\0"
    assert field_name("a:  b", "body") == "a:b"
    assert field_name("\x01\x02", "query") == "query"
