"""Validating one parsed event against event-contract-v1 (the rules that need no `received_at`)."""

from __future__ import annotations

import re
from typing import Any

from event_contracts.json_paths import excerpt
from event_contracts.reasons import Reason, Violation, by_priority
from event_contracts.registry import ContractRegistry, contract_registry

SUPPORTED_MAJOR = "1"
# The envelope schema rejects a version that is not MAJOR.MINOR; a well-formed one of another major is unsupported.
_SCHEMA_VERSION = re.compile(r"([0-9]+)\.[0-9]+")


def validate_event(document: dict[str, Any], *, registry: ContractRegistry | None = None) -> list[Violation]:
    """Every violation of the contract found in `document`, the primary reason first; empty when it is valid."""
    contract = registry or contract_registry()
    violations: list[Violation] = []
    name = document.get("event_name")
    check = contract.envelope_check
    if isinstance(name, str):
        if name in contract.event_checks:
            check = contract.event_checks[name]
        else:
            message = f"{excerpt(name, 80)!r} is not an event of the catalog of event-contract-{contract.version}"
            violations.append(Violation(Reason.UNKNOWN_EVENT, "$.event_name", message))
    version = document.get("schema_version")
    # A well-formed version not starting with "1." has another major (and the check skips the regex for 1.x).
    if (
        isinstance(version, str)
        and not version.startswith(f"{SUPPORTED_MAJOR}.")
        and _SCHEMA_VERSION.fullmatch(version)
    ):
        message = f"schema version {version} is not supported: this pipeline validates {SUPPORTED_MAJOR}.x"
        violations.append(Violation(Reason.UNSUPPORTED_SCHEMA_VERSION, "$.schema_version", message))
    violations.extend(check.violations(document))
    return by_priority(violations)
