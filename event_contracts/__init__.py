"""event-contract-v1: the JSON Schemas of product and server events, and the one validator every path shares.

document, violations = parse_line(raw)
if document is not None:
    violations += validate_event(document) + timestamp_violations(document, received_at)
reason_code = primary_reason(violations)  # None: the event is accepted
"""

from event_contracts.lines import MAX_LINE_BYTES, parse_line
from event_contracts.published import CONTRACT_DIR, CONTRACT_VERSION, PUBLISHED_FILES
from event_contracts.reasons import Reason, Violation, by_priority, primary_reason
from event_contracts.registry import CatalogEntry, ContractRegistry, contract_registry, load_registry
from event_contracts.row_rules import FUTURE_LIMIT, STALE_LIMIT, timestamp_violations
from event_contracts.validation import validate_event

__all__ = [
    "CONTRACT_DIR",
    "CONTRACT_VERSION",
    "FUTURE_LIMIT",
    "MAX_LINE_BYTES",
    "PUBLISHED_FILES",
    "STALE_LIMIT",
    "CatalogEntry",
    "ContractRegistry",
    "Reason",
    "Violation",
    "by_priority",
    "contract_registry",
    "load_registry",
    "parse_line",
    "primary_reason",
    "timestamp_violations",
    "validate_event",
]
