"""Bad input of any shape gets the vendor's error envelope: HTTP 200, a known errno that is
never the 41200 of an unexpected failure, and for invalid parameters a message naming a field.
Random bodies and queries for every endpoint, over a real socket."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from foxden.protocol import signing
from foxden.protocol.endpoints import ENDPOINTS, Endpoint
from foxden.protocol.errno import ERRNO_TABLE, Errno
from tests.conftest import LiveServer, start_server

SN = "FUZZH1000001"
KNOWN = {int(e) for e in Errno} - {int(Errno.QUERY_FAILED)}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from([SN, "SelfUse", "ExportLimit", "day", "Europe/London", "10", "", "2024"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    live = start_server(
        Path(tmp_path_factory.mktemp("fuzz")), rate_per_second=1e9, rate_burst=10**9
    )
    key = live.account("fuzz")
    live.device("fuzz", SN)
    yield live, key
    live.stop()


def bodies(endpoint: Endpoint) -> st.SearchStrategy[dict[str, Any]]:
    names = (
        [f.encode_name for f in msgspec.structs.fields(endpoint.request)]
        if endpoint.request
        else []
    )
    known = st.fixed_dictionaries({}, optional={n: values for n in names})
    extra = st.dictionaries(st.text(max_size=6), values, max_size=2)
    return st.builds(lambda a, b: {**b, **a}, known, extra)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_random_input_gets_a_known_errno(
    server: tuple[LiveServer, str], endpoint: Endpoint
) -> None:
    live, key = server

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(bodies(endpoint))
    @example({"sn": SN})  # the one inverter, every time (not only when drawn)
    def check(body: dict[str, Any]) -> None:
        headers = signing.headers(endpoint.path, key, int(time.time() * 1000))
        if endpoint.params_in_query:
            params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
            answer = httpx.get(live.url + endpoint.path, params=params, headers=headers)
        else:
            answer = httpx.post(live.url + endpoint.path, content=json.dumps(body), headers=headers)
        assert answer.status_code == 200
        envelope = answer.json()
        assert set(envelope) == {"errno", "msg", "result"}
        if envelope["errno"] == Errno.QUERY_FAILED and endpoint.area == "battery_heating":
            # the cloud's answer for a model without battery heating (the fuzz inverter's)
            assert answer.headers["X-Foxden-Detail"] == "H1-5.0-E has no battery heating"
            return
        assert envelope["errno"] in KNOWN | {0}, envelope
        assert envelope["msg"] == ERRNO_TABLE[Errno(envelope["errno"])].message or (
            envelope["errno"] == Errno.HEADER_INVALID
        )
        if envelope["errno"] == Errno.PARAMETER_INVALID:
            # the cloud's text in msg, the field and the reason in the detail header
            field, _, reason = answer.headers["X-Foxden-Detail"].partition(": ")
            assert field and reason, answer.headers["X-Foxden-Detail"]

    check()
