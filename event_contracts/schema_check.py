"""Compiled JSON Schema checks (jsonschema_rs): a document in, its violations with JSON paths out."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jsonschema_rs
from jsonschema_rs import ValidationError, ValidationErrorKind

from event_contracts.json_paths import excerpt, json_path
from event_contracts.reasons import Reason, Violation

JsonObject = dict[str, Any]


class SchemaCheck:
    """A compiled schema: `violations` lists a document's violations; `is_valid` says only whether there are any, in
    one call into the compiled validator (the ingestion's hot path). `is_valid` may raise ValueError for what is not
    a JSON document (a lone surrogate, a non-string key); `violations` reports that as a violation. Both are plain
    attributes, so a caller pays no call of ours on top of the validator's."""

    __slots__ = ("is_valid", "violations")

    def __init__(
        self, violations: Callable[[object], list[Violation]], is_valid: Callable[[object], bool] | None = None
    ) -> None:
        self.violations = violations
        self.is_valid = is_valid or (lambda document: not violations(document))


# (every schema a check may $ref, by $id; the root schema) -> the compiled check
SchemaCompiler = Callable[[Mapping[str, JsonObject], JsonObject], SchemaCheck]

_JSON_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}


def json_type(value: object) -> str:
    return "null" if value is None else _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


class _Descriptions:
    """The `description` of the rule a failing keyword belongs to, read from the schema itself."""

    def __init__(self, resources: Mapping[str, JsonObject]) -> None:
        self._resources = resources

    def of(self, keyword_location: str | None) -> str | None:
        uri, _, pointer = (keyword_location or "").partition("#")
        steps = [step.replace("~1", "/").replace("~0", "~") for step in pointer.split("/")[1:]]
        if not steps:
            return None
        owner = _walk(self._resources.get(uri), steps[:-1])
        # A subschema keyword (`not`) carries its own description; a resource's root one is about the whole schema.
        for node in (_walk(owner, steps[-1:]), owner if len(steps) > 1 else None):
            if isinstance(node, dict) and isinstance(node.get("description"), str):
                return str(node["description"])
        return None


def _walk(node: object, steps: list[str]) -> object:
    for step in steps:
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return None
    return node


def _violations(error: ValidationError, descriptions: _Descriptions) -> Iterator[tuple[str, str]]:
    """(path, message) pairs: one per missing or unexpected property, one otherwise."""
    location = list(error.instance_path)
    rule = descriptions.of(error.absolute_keyword_location)
    kind = error.kind
    if isinstance(kind, ValidationErrorKind.Required):
        yield json_path([*location, kind.property]), _with_rule("is required but missing", rule)
    elif isinstance(kind, ValidationErrorKind.AdditionalProperties):
        for name in kind.unexpected:
            yield json_path([*location, name]), "is not a field of the contract (no other keys are allowed)"
    elif isinstance(kind, ValidationErrorKind.Type):
        yield (
            json_path(location),
            _with_rule(f"expected {' or '.join(kind.types)}, got {json_type(error.instance)}", rule),
        )
    elif isinstance(kind, ValidationErrorKind.Enum):
        options = ", ".join(json.dumps(option, ensure_ascii=False) for option in kind.options)
        value = excerpt(json.dumps(error.instance, ensure_ascii=False), 80)
        yield json_path(location), _with_rule(f"{value} is not one of {options}", rule)
    elif isinstance(error.instance, dict | list):
        yield json_path(location), rule or f"does not satisfy `{kind.name}`"
    else:
        yield json_path(location), _with_rule(excerpt(error.message), rule)


def _with_rule(detail: str, rule: str | None) -> str:
    return f"{detail} ({rule})" if rule else detail


def compile_schema_check(resources: Mapping[str, JsonObject], schema: JsonObject) -> SchemaCheck:
    """Compile once; the check answers the common valid case with one `is_valid` call."""
    registry = jsonschema_rs.Registry(list(resources.items()))
    validator = jsonschema_rs.validator_for(schema, registry=registry, validate_formats=True, offline=True)
    descriptions = _Descriptions({**resources, str(schema.get("$id", "")): schema})

    def violations(document: object) -> list[Violation]:
        try:
            if validator.is_valid(document):
                return []
            found = dict.fromkeys(
                pair for error in validator.iter_errors(document) for pair in _violations(error, descriptions)
            )
        except ValueError as exc:  # not JSON-shaped: a non-string key, a lone surrogate, a Python-only type
            return [Violation(Reason.SCHEMA_VIOLATION, "$", excerpt(f"not a JSON document: {exc}"))]
        return [Violation(Reason.SCHEMA_VIOLATION, path, message) for path, message in found]

    return SchemaCheck(violations, validator.is_valid)
