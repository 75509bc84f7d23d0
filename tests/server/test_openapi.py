"""/openapi.json: a valid OpenAPI 3.1 document generated from the protocol structs."""

from __future__ import annotations

import httpx
from openapi_spec_validator import validate

from foxden.protocol.endpoints import ENDPOINTS
from tests.conftest import LiveServer


def test_openapi_document_is_valid_and_complete(live: LiveServer) -> None:
    doc = httpx.get(live.url + "/openapi.json").json()
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    expected = {p for e in ENDPOINTS for p in (e.path, *e.aliases)}
    assert set(doc["paths"]) == expected
    schemas = doc["components"]["schemas"]
    group = schemas["SchedulerGroup"]
    assert group["properties"]["minSocOnGrid"] == {"type": "integer", "minimum": 0, "maximum": 100}
    assert group["additionalProperties"] is False
    page = schemas["PageRequest"]["properties"]["pageSize"]
    assert (page["minimum"], page["maximum"]) == (10, 1000)
    detail = doc["paths"]["/op/v0/device/detail"]["get"]
    names = {p["name"] for p in detail["parameters"]}
    assert names == {"token", "timestamp", "signature", "lang", "sn"}
    body = doc["paths"]["/op/v0/plant/list"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/PageRequest")
