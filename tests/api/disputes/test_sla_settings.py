"""Dispute SLA settings: defaults per api.md, environment overrides, clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import ConfigError, DisputeSettings, settings_from

SECRET = "s" * 40


def test_defaults_are_24_h_72_h_and_50000(tmp_path: Path) -> None:
    settings = settings_from({"PATRONAGE_DATA_DIR": str(tmp_path), "PATRONAGE_JWT_SECRET": SECRET})
    assert settings.disputes == DisputeSettings(ack_hours=24, triage_hours=72, escalation_minor=50_000)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PATRONAGE_DISPUTE_ACK_HOURS", "0", "PATRONAGE_DISPUTE_ACK_HOURS must be a whole number of hours"),
        ("PATRONAGE_DISPUTE_ACK_HOURS", "1.5", "PATRONAGE_DISPUTE_ACK_HOURS must be a whole number of hours"),
        ("PATRONAGE_DISPUTE_TRIAGE_HOURS", "soon", "PATRONAGE_DISPUTE_TRIAGE_HOURS must be a whole number"),
        ("PATRONAGE_DISPUTE_TRIAGE_HOURS", "12", "must be at least PATRONAGE_DISPUTE_ACK_HOURS (24)"),
        ("PATRONAGE_DISPUTE_ESCALATION_MINOR", "-5", "PATRONAGE_DISPUTE_ESCALATION_MINOR must be a whole number"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings_from({"PATRONAGE_DATA_DIR": str(tmp_path), "PATRONAGE_JWT_SECRET": SECRET, name: value})
