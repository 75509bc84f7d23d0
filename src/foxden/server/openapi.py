"""An OpenAPI 3.1 description of the Open API, generated from the protocol structs."""

from __future__ import annotations

from typing import Any

import msgspec

from foxden import __version__
from foxden.protocol import structs as s
from foxden.protocol.endpoints import ENDPOINTS
from foxden.protocol.errno import ERRNO_TABLE

HEADERS = ("token", "timestamp", "signature", "lang")


def openapi_document() -> dict[str, Any]:
    """The whole document: one operation per endpoint and alias, schemas from the structs."""
    types: list[Any] = []
    for e in ENDPOINTS:
        result_type: Any = e.result
        types.append(s.Envelope[result_type])
        if e.request is not None:
            types.append(e.request)
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    index = 0
    paths: dict[str, Any] = {}
    header_params = [
        {"name": h, "in": "header", "required": True, "schema": {"type": "string"}} for h in HEADERS
    ]
    for e in ENDPOINTS:
        result_schema = schemas[index]
        index += 1
        operation: dict[str, Any] = {
            "operationId": e.name,
            "summary": e.summary,
            "tags": [e.area],
            "parameters": list(header_params),
            "responses": {
                "200": {
                    "description": "The envelope: errno 0 and a result, or a non-zero errno",
                    "content": {"application/json": {"schema": result_schema}},
                }
            },
        }
        if e.request is not None:
            request_schema = schemas[index]
            index += 1
            if e.params_in_query:
                fields = msgspec.structs.fields(e.request)
                operation["parameters"] += [
                    {
                        "name": f.encode_name,
                        "in": "query",
                        "required": f.required,
                        "schema": {"type": "string"},
                    }
                    for f in fields
                ]
            else:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": request_schema}},
                }
        paths.setdefault(e.path, {})[e.method.lower()] = operation
        for n, alias in enumerate(e.aliases, start=1):
            paths.setdefault(alias, {})[e.method.lower()] = {
                **operation,
                "operationId": f"{e.name}.alias{n}",
                "summary": f"{e.summary} (alias of {e.path}, used by the vendor's sample client)",
            }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Fox ESS Cloud Open API (foxden)",
            "version": __version__,
            "description": "errno codes: "
            + "; ".join(f"{int(k)} {v.meaning}" for k, v in ERRNO_TABLE.items()),
        },
        "paths": paths,
        "components": {"schemas": components},
    }
