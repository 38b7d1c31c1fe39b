"""The contract's schemas and catalog, loaded and compiled once per process."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from event_contracts.published import CONTRACT_DIR, CONTRACT_VERSION
from event_contracts.schema_check import JsonObject, SchemaCheck, SchemaCompiler, compile_schema_check

_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_PLATFORMS = {"client": ["ios", "android", "web"], "server": ["server"]}


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    event_name: str
    emitted_by: Literal["client", "server"]
    requires_project_id: bool
    funnel_step: int | None
    properties_schema: str  # relative to the contract directory


@dataclass(frozen=True, slots=True)
class ContractRegistry:
    version: str
    catalog: Mapping[str, CatalogEntry]
    envelope_check: SchemaCheck  # for events not in the catalog: the envelope alone
    event_checks: Mapping[str, SchemaCheck]  # envelope + the event's properties + its catalog rules, in one pass
    # Per event, the properties the schema types `integer`: JSON Schema also accepts integral floats (`2500.0`) there.
    integer_properties: Mapping[str, frozenset[str]]


def _read(directory: Path, relative: str) -> JsonObject:
    document: JsonObject = json.loads((directory / relative).read_text(encoding="utf-8"))
    return document


def read_catalog(directory: Path = CONTRACT_DIR) -> dict[str, CatalogEntry]:
    events: JsonObject = _read(directory, "catalog.json")["events"]
    return {name: CatalogEntry(event_name=name, **entry) for name, entry in events.items()}


def integer_properties(properties_schema: JsonObject) -> frozenset[str]:
    declared: JsonObject = properties_schema.get("properties", {})
    return frozenset(name for name, rule in declared.items() if rule.get("type") == "integer")


def event_document_schema(entry: CatalogEntry, envelope_id: str, properties_id: str) -> JsonObject:
    """A whole event of one name: the catalog's per-event rules join the envelope and properties schemas."""
    emitter = f"{entry.event_name} is emitted by the {entry.emitted_by}"
    rules: list[JsonObject] = [
        {"$ref": envelope_id},
        {"properties": {"properties": {"$ref": properties_id}}},
        {"properties": {"platform": {"description": emitter, "enum": _PLATFORMS[entry.emitted_by]}}},
    ]
    if entry.requires_project_id:
        requirement = f"{entry.event_name} requires a project_id"
        rules.append(
            {
                "description": requirement,
                "required": ["project_id"],
                "properties": {"project_id": {"description": requirement, "type": "string"}},
            }
        )
    document_id = f"{envelope_id.rsplit('/', 1)[0]}/documents/{entry.event_name}"  # compiled only, never published
    return {"$schema": _DRAFT, "$id": document_id, "allOf": rules}


def load_registry(compiler: SchemaCompiler = compile_schema_check, directory: Path = CONTRACT_DIR) -> ContractRegistry:
    envelope = _read(directory, "envelope.schema.json")
    catalog = read_catalog(directory)
    properties = {name: _read(directory, entry.properties_schema) for name, entry in catalog.items()}
    resources = {str(schema["$id"]): schema for schema in (envelope, *properties.values())}
    envelope_id = str(envelope["$id"])
    return ContractRegistry(
        version=CONTRACT_VERSION,
        catalog=catalog,
        envelope_check=compiler(resources, {"$schema": _DRAFT, "$ref": envelope_id}),
        event_checks={
            name: compiler(resources, event_document_schema(entry, envelope_id, str(properties[name]["$id"])))
            for name, entry in catalog.items()
        },
        integer_properties={name: integer_properties(schema) for name, schema in properties.items()},
    )


@cache
def contract_registry() -> ContractRegistry:
    """The registry every caller shares: compiling the schemas costs milliseconds, so it happens once."""
    return load_registry()
