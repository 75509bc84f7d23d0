"""schemathesis over the server's own /openapi.json, every operation, signed as a real
client signs: generated input never gets a 5xx and never the 41200 of an unexpected
failure. The number of examples per operation is bounded so CI stays quick
(``FOXDEN_SCHEMATHESIS_EXAMPLES``, default 15); ``bench/attack.py`` runs many more."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from foxden.protocol.errno import Errno
from foxden.server.openapi import openapi_document
from tests.conftest import LiveServer
from tests.server.calls import signed, unlimited_server

SN = "STHH10000001"
EXAMPLES = int(os.environ.get("FOXDEN_SCHEMATHESIS_EXAMPLES", "15"))
COVERAGE = os.environ.get("FOXDEN_SCHEMATHESIS_COVERAGE", "") == "1"
"""The coverage phase (boundary values of every field) runs hundreds of cases an operation:
on for the attack suite, off in CI."""
CONFIG = SchemathesisConfig.from_dict(
    {
        "phases": {
            "examples": {"enabled": False},
            "coverage": {"enabled": COVERAGE},
            "stateful": {"enabled": False},
        },
        "generation": {"max-examples": EXAMPLES, "mode": "all"},
    }
)
schema = schemathesis.openapi.from_dict(openapi_document(), config=CONFIG)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    live, key = unlimited_server(Path(tmp_path_factory.mktemp("schemathesis")), "fuzzer", SN)
    yield live, key
    live.stop()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_generated_input_never_fails_the_server(
    case: schemathesis.Case[Any], target: tuple[LiveServer, str]
) -> None:
    live, key = target
    response = case.call(base_url=live.url, headers=signed(case.path, key), timeout=30)
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        answer = response.json()
        assert answer["errno"] != Errno.QUERY_FAILED, (case.path, case.body, case.query)
