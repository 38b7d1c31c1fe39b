"""Every operation of the OpenAPI document carries examples (issue 16), and every example is true to it.

The document is the app's own (as `patronage openapi` writes it), so a route added without examples, or a
schema changed under an example, fails here before the snapshot is regenerated. Each example is validated
against its schema with the components resolved, every object closed as the API writes it (no member the
schema does not declare) and every timestamp RFC 3339 in UTC; each problem is one the operation answers; the
ids along a flow's links match; and the request examples are read by the server's own decoders.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from http import HTTPStatus
from typing import Any

import jsonschema_rs
import msgspec
from litestar import Litestar
from litestar.routes import HTTPRoute

from api.app import create_app
from api.errors import PROBLEM_JSON
from api.notifications.services import device_token
from api.openapi_examples import EXAMPLES, PARAMETERS, TITLES, problem_statuses
from api.pagination import decode_cursor
from api.payments.services import parse_event
from api.settings import settings_from
from api.uploads import tus
from event_contracts import validate_event
from tests.conftest import JWT_SECRET

Operations = dict[str, tuple[str, str, dict[str, Any]]]  # operationId → (method, path, operation)
JSON_CONTENT = "application/json"
RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


@cache
def app() -> Litestar:
    return create_app(settings_from({"PATRONAGE_ENV": "test", "PATRONAGE_JWT_SECRET": JWT_SECRET}))


@cache
def document() -> dict[str, Any]:
    served: dict[str, Any] = json.loads(json.dumps(app().openapi_schema.to_schema()))
    return served


def operations() -> Operations:
    return {
        operation["operationId"]: (method, path, operation)
        for path, item in document()["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }


def closed(schema: Any) -> Any:
    """The schema with every object closed: the API writes (and request bodies accept) declared members only."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: closed(value) for key, value in schema.items()}
    if "properties" in schema and not {"additionalProperties", "unevaluatedProperties"} & schema.keys():
        result["additionalProperties"] = False
    return result


def _utc_timestamp(value: str) -> bool:
    """api.md: RFC 3339 timestamps in UTC, written with Z."""
    if not RFC3339_UTC.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def validator(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **closed(schema),
        "components": {"schemas": closed(document()["components"]["schemas"])},
    }
    return jsonschema_rs.validator_for(root, validate_formats=True, formats={"date-time": _utc_timestamp})


def named_examples(holder: dict[str, Any]) -> dict[str, Any]:
    examples: dict[str, Any] = holder.get("examples") or {}
    return examples


def exemplified(*, whole: bool = False) -> Iterator[tuple[str, dict[str, Any], str, Any]]:
    """(where, schema, example name, value) of every example in the document; the Example object if `whole`."""
    holders: list[tuple[str, dict[str, Any]]] = []
    for operation_id, (_, _, operation) in operations().items():
        holders += [(f"{operation_id} {p['name']}", p) for p in operation.get("parameters", [])]
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            holders.append((f"{operation_id} request {media_type}", media))
        for status, response in operation["responses"].items():
            holders += [(f"{operation_id} {status} {t}", media) for t, media in response.get("content", {}).items()]
    for where, holder in holders:
        for name, item in named_examples(holder).items():
            yield where, holder["schema"], name, item if whole else item.get("value")


def test_every_operation_carries_examples() -> None:
    """A request example per body content type, one per parameter, one per response content type."""
    found = operations()
    assert len(found) >= 39
    missing = []
    for operation_id, (_, _, operation) in found.items():
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            if not named_examples(media):
                missing.append(f"{operation_id}: request body {media_type}")
        missing += [
            f"{operation_id}: parameter {parameter['name']}"
            for parameter in operation.get("parameters", [])
            if not named_examples(parameter)
        ]
        for status, response in operation["responses"].items():
            missing += [
                f"{operation_id}: {status} {media_type}"
                for media_type, media in response.get("content", {}).items()
                if not named_examples(media)
            ]
    assert missing == [], "add them to api/openapi_examples.py"
    for where, _, name, item in exemplified(whole=True):
        assert {"summary", "value"} <= item.keys(), (where, name)  # a literal value, never an externalValue


def test_every_example_is_valid_against_its_schema() -> None:
    invalid = [
        f"{where} [{name}]: {error.message} at {'/'.join(map(str, error.instance_path))}"
        for where, schema, name, value in exemplified()
        for error in validator(schema).iter_errors(value)
    ]
    assert invalid == []
    assert sum(1 for _ in exemplified()) > 300


def test_each_problem_example_is_one_the_operation_answers() -> None:
    """Named by its stable code, with the status that code is answered with and the fields errors.py writes;
    and every code the API answers with a documented status is shown somewhere."""
    statuses = problem_statuses()
    shown: set[str] = set()
    documented: set[int] = set()
    for operation_id, (_, _, operation) in operations().items():
        for status, response in operation["responses"].items():
            media = response.get("content", {}).get(PROBLEM_JSON)
            if media is None:
                continue
            documented.add(int(status))
            for name, item in named_examples(media).items():
                problem = item["value"]
                where = f"{operation_id} {status} {name}"
                assert name == problem["code"], where
                assert statuses.get(problem["code"]) == int(status) == problem["status"], where
                assert problem["type"] == f"https://patronage.dev/problems/{problem['code']}", where
                assert problem["title"] == (TITLES.get(int(status)) or HTTPStatus(int(status)).phrase), where
                assert item["summary"] == problem["detail"], where
                shown.add(problem["code"])
    answered = {code for code, status in statuses.items() if status in documented}
    assert answered - shown == set(), "show these codes on the operations that answer them"


def test_the_table_names_only_what_the_document_has() -> None:
    """No entry outlives its operation, status or parameter (it would silently document nothing)."""
    found = operations()
    assert set(EXAMPLES) <= set(found)
    used_parameters = set()
    for operation_id, examples in EXAMPLES.items():
        _, _, operation = found[operation_id]
        names = {parameter["name"] for parameter in operation.get("parameters", [])}
        used_parameters |= names
        assert set(examples.parameters) <= names, operation_id
        for status in examples.responses:
            assert JSON_CONTENT in operation["responses"][str(status)].get("content", {}), (operation_id, status)
        if examples.request:
            assert examples.body_type in operation["requestBody"]["content"], operation_id
        problem_statuses_shown = {
            int(status)
            for status, response in operation["responses"].items()
            if PROBLEM_JSON in response.get("content", {})
        }
        refused = {problem_statuses()[r if isinstance(r, str) else r.code] for r in examples.refusals}
        assert refused <= problem_statuses_shown, (operation_id, refused - problem_statuses_shown)
    assert set(PARAMETERS) <= used_parameters


def _pointer(value: Any, pointer: str) -> Any:
    """What a `$response.body#` expression picks from a body; None where it picks nothing (an empty page)."""
    for step in pointer.removeprefix("/").split("/"):
        if isinstance(value, list):
            value = value[int(step)] if int(step) < len(value) else None
        elif isinstance(value, dict):
            value = value.get(step)
        else:
            return None
    return value


def test_a_flow_passes_along_the_ids_its_examples_show() -> None:
    """Following a link from an answer's example lands on the id the next operation is exemplified with
    (prepare → confirm → status → cancel, feed → project, upload → offset → append …)."""
    found = operations()
    followed = 0
    for source, (_, _, operation) in found.items():
        for status, response in operation["responses"].items():
            for link in response.get("links", {}).values():
                _, _, target = found[link["operationId"]]
                shown = {p["name"]: p for p in target.get("parameters", [])}
                answers = named_examples(response["content"][JSON_CONTENT]).values()
                for parameter, expression in link["parameters"].items():
                    wanted = {item["value"] for item in named_examples(shown[parameter]).values()}
                    given = [_pointer(item["value"], expression.removeprefix("$response.body#")) for item in answers]
                    given = [value for value in given if value is not None]
                    assert given, (source, status, link)  # at least one example leads on
                    assert set(given) <= wanted, (source, status, link, given, wanted)
                    followed += 1
    assert followed >= 30


def _bodies() -> Iterator[tuple[str, type[Any], str, Any]]:
    """(operationId, the handler's body type, example name, value) of every JSON body the server decodes."""
    for route in app().routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            data = handler.parsed_fn_signature.parameters.get("data")
            examples = EXAMPLES.get(str(handler.operation_id))
            if data is not None and examples is not None:
                for name, item in examples.request.items():
                    yield str(handler.operation_id), data.annotation, name, item.value


def test_request_bodies_are_read_by_the_servers_own_decoders() -> None:
    """Bodies decode into the handlers' types (unknown members refused), the Stripe event parses, and the
    landed events are valid event-contract-v1 events."""
    decoded = 0
    for _, body_type, _, body in _bodies():
        msgspec.json.decode(json.dumps(body), type=body_type, strict=True)
        decoded += 1
    assert decoded >= 12, "every JSON body of a handler has an example"
    for item in EXAMPLES["receiveStripeWebhook"].request.values():
        assert parse_event(json.dumps(item.value).encode()).type == "payment_intent.succeeded"
    for item in EXAMPLES["landEvents"].request.values():
        batch: Any = item.value
        for event in batch["events"]:
            assert validate_event(event) == [], event["event_name"]


def test_header_and_cursor_examples_parse_as_the_routes_read_them() -> None:
    def value(name: str) -> Any:
        return next(iter(PARAMETERS[name].values())).value

    assert decode_cursor(value("cursor")) is not None
    assert device_token(value("token")) == value("token")
    metadata = tus.metadata(value("Upload-Metadata"))
    assert (metadata.filename, metadata.content_type) == ("field-recorder-pitch.mp4", "video/mp4")
    assert tus.upload_length(str(value("Upload-Length"))) == value("Upload-Length")
    assert tus.upload_offset(str(value("Upload-Offset"))) == value("Upload-Offset")
    assert tus.chunk_checksum(value("Upload-Checksum")) is not None
    tus.check_version(value("Tus-Resumable"))
