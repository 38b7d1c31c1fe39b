"""The committed OpenAPI snapshot (what iOS generates its client from) matches the app."""

from __future__ import annotations

import json
import re
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from api.cli import OPENAPI_SNAPSHOT, openapi_document
from api.settings import Settings


def test_snapshot_is_current(settings: Settings) -> None:
    assert OPENAPI_SNAPSHOT.read_text() == openapi_document(settings), (
        "api/openapi.json is stale: run `uv run patronage openapi` and commit it"
    )


async def test_served_document_matches_the_snapshot(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    served = response.json()
    assert served == json.loads(OPENAPI_SNAPSHOT.read_text())
    assert "/v1/projects" in served["paths"]
    assert served["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"


# api.md marks these creating POSTs (I): generated clients must know they need the header.
IDEMPOTENT_ROUTES = {
    "/v1/projects",
    "/v1/projects/{project_id}/updates",
    "/v1/projects/{project_id}/supports/prepare",
    "/v1/supports/{support_id}/confirm",
    "/v1/supports/{support_id}/cancel",
    "/v1/reconciliation/checks",
    "/v1/disputes/{dispute_id}/recovery-attempts",
    "/v1/projects/{project_id}/reports",
}


def test_the_idempotency_key_and_etag_headers_are_documented() -> None:
    document = json.loads(OPENAPI_SNAPSHOT.read_text())
    documented = {
        path
        for path, operations in document["paths"].items()
        for parameter in operations.get("post", {}).get("parameters", [])
        if parameter["name"] == "Idempotency-Key" and parameter["in"] == "header" and parameter["required"]
    }
    assert documented == IDEMPOTENT_ROUTES
    status_read = document["paths"]["/v1/supports/{support_id}"]["get"]
    assert "If-None-Match" in {p["name"] for p in status_read["parameters"]}
    assert "304" in status_read["responses"]
    assert "ETag" in status_read["responses"]["200"]["headers"]


def test_the_tus_request_headers_are_documented() -> None:
    """Written from the tus 1.0.0 protocol (core, creation, checksum, termination), not from the code."""
    expected = {
        ("post", "/v1/uploads"): {"Tus-Resumable": True, "Upload-Length": True, "Upload-Metadata": True},
        ("head", "/v1/uploads/{upload_id}"): {"Tus-Resumable": True},
        ("patch", "/v1/uploads/{upload_id}"): {"Tus-Resumable": True, "Upload-Offset": True, "Upload-Checksum": False},
        ("delete", "/v1/uploads/{upload_id}"): {"Tus-Resumable": True},
    }
    paths = json.loads(OPENAPI_SNAPSHOT.read_text())["paths"]
    for (method, path), headers in expected.items():
        documented = {p["name"]: p["required"] for p in paths[path][method]["parameters"] if p["in"] == "header"}
        assert documented == headers, (method, path)


def test_every_operation_has_an_explicit_stable_operation_id(app: Litestar) -> None:
    """api.md: an explicit lowerCamelCase operationId named for the action, so renaming a handler or a path
    never renames the method a generated client calls; two operations never share one."""
    ours = [
        handler
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if handler.include_in_schema and not route.path.startswith("/schema")
    ]
    assert len(ours) > 30
    missing = [handler.handler_name for handler in ours if not isinstance(handler.operation_id, str)]
    assert missing == [], "give these routes an operation_id"
    ids = [str(handler.operation_id) for handler in ours]
    assert [i for i in ids if not re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", i)] == []
    assert len(set(ids)) == len(ids), "two operations share an operationId"
    documented = [
        operation["operationId"]
        for operations in json.loads(OPENAPI_SNAPSHOT.read_text())["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    assert sorted(documented) == sorted(ids)


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its `$ref` followed, and a nullable `oneOf`/`anyOf` reduced to its non-null member."""
    while True:
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        elif "oneOf" in schema or "anyOf" in schema:
            members = [m for m in schema.get("oneOf") or schema["anyOf"] if m.get("type") != "null"]
            assert len(members) == 1, schema
            schema = members[0]
        else:
            return schema


def test_every_link_leads_to_an_operation_with_a_value_the_answer_holds() -> None:
    """Each link names an existing operation, fills exactly that operation's path parameters, and points
    into the source's success answer at a field of the parameter's type (a uuid for a uuid, a string for a
    device token)."""
    document = json.loads(OPENAPI_SNAPSHOT.read_text())
    operations = {
        operation["operationId"]: operation
        for path in document["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict)
    }
    links = [
        (source, response, link)
        for source, operation in operations.items()
        for code, response in operation["responses"].items()
        if code.startswith("2")
        for link in response.get("links", {}).values()
    ]
    assert len(links) >= 32
    for source, response, link in links:
        target = operations[link["operationId"]]
        path_parameters = {p["name"]: p for p in target.get("parameters", []) if p["in"] == "path"}
        assert set(link["parameters"]) == set(path_parameters), (source, link)
        for name, expression in link["parameters"].items():
            assert expression.startswith("$response.body#/"), (source, expression)
            schema = _resolve(document, next(iter(response["content"].values()))["schema"])
            for step in expression.removeprefix("$response.body#/").split("/"):
                schema = _resolve(document, schema["items"] if step.isdigit() else schema["properties"][step])
            wanted = _resolve(document, path_parameters[name]["schema"])
            assert wanted["type"] == "string", (link, name)
            assert (schema.get("type"), schema.get("format")) == ("string", wanted.get("format")), (source, expression)
