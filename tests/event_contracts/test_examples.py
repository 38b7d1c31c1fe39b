"""The published examples are the contract's executable documentation: each one behaves as its manifest says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from event_contracts import CONTRACT_DIR, Reason, contract_registry, primary_reason, validate_event

EXAMPLES = CONTRACT_DIR / "examples"
EXPECTED: dict[str, str] = json.loads((EXAMPLES / "expected.json").read_text())
# The catalog of events.md, written out here so that a catalog.json drifting from the spec fails a test.
SPEC_CATALOG = {
    "app_open": ("client", False, None),
    "feed_impression": ("client", True, 1),
    "project_view": ("client", True, 2),
    "support_cta_tap": ("client", True, 3),
    "checkout_started": ("client", True, 4),
    "payment_succeeded": ("server", True, 5),
    "support_prepared": ("server", True, None),
    "payment_failed": ("server", True, None),
    "support_canceled": ("server", True, None),
    "refund_issued": ("server", True, None),
    "dispute_opened": ("server", True, None),
    "dispute_closed": ("server", True, None),
    "payout_released": ("server", True, None),
    "video_play": ("client", True, None),
    "upload_state_changed": ("client", True, None),
    "notification_opened": ("client", False, None),
}


def _examples(prefix: str) -> list[str]:
    return sorted(
        path.relative_to(EXAMPLES).as_posix() for path in EXAMPLES.glob(f"*/{prefix}_*.json") if path.is_file()
    )


def _load(relative: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / relative).read_text())
    return document


def test_catalog_matches_the_spec() -> None:
    catalog = contract_registry().catalog
    assert {
        name: (entry.emitted_by, entry.requires_project_id, entry.funnel_step) for name, entry in catalog.items()
    } == SPEC_CATALOG
    assert sorted(path.name for path in (CONTRACT_DIR / "events").iterdir()) == sorted(
        f"{name}.schema.json" for name in SPEC_CATALOG
    )


@pytest.mark.parametrize("event_name", sorted(SPEC_CATALOG))
def test_every_event_has_one_valid_and_two_invalid_examples(event_name: str) -> None:
    assert len(list(EXAMPLES.glob(f"{event_name}/valid_*.json"))) >= 1
    assert len(list(EXAMPLES.glob(f"{event_name}/invalid_*.json"))) >= 2


def test_the_manifest_lists_exactly_the_invalid_examples_with_known_reasons() -> None:
    assert sorted(EXPECTED) == _examples("invalid")
    assert set(EXPECTED.values()) <= {reason.value for reason in Reason}
    every_file = {path.relative_to(EXAMPLES).as_posix() for path in EXAMPLES.rglob("*.json")}
    assert every_file == {"expected.json", *_examples("valid"), *_examples("invalid")}


@pytest.mark.parametrize("relative", _examples("valid"))
def test_valid_example_has_no_violation(relative: str) -> None:
    assert validate_event(_load(relative)) == []


@pytest.mark.parametrize("relative", _examples("invalid"))
def test_invalid_example_has_its_expected_primary_reason(relative: str) -> None:
    violations = validate_event(_load(relative))
    assert primary_reason(violations) == Reason(EXPECTED[relative])
    assert violations[0].reason == Reason(EXPECTED[relative])
    assert all(violation.path.startswith("$") and violation.message for violation in violations)


@pytest.mark.parametrize("relative", _examples("invalid"))
def test_invalid_example_is_a_small_edit_of_a_valid_one(relative: str) -> None:
    """Each invalid example shows one mistake: its event's valid twin differs from it in few places."""
    event_name = relative.split("/")[0]
    invalid = _load(relative)
    closest = min(
        sum(invalid.get(key) != _load(valid).get(key) for key in {*invalid, *_load(valid)})
        for valid in _examples("valid")
        if valid.startswith(f"{event_name}/")
    )
    assert closest <= 3
