"""Settings: defaults per operations.md, clear errors for bad values, secrets never shown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.settings import ConfigError, settings_from

SECRET = "s" * 40


def test_defaults_follow_the_operations_contract(tmp_path: Path) -> None:
    settings = settings_from({"PATRONAGE_DATA_DIR": str(tmp_path), "PATRONAGE_JWT_SECRET": SECRET})
    assert settings.database.embedded
    assert settings.database.embedded_dir == tmp_path / "pg"
    assert settings.paths.warehouse == tmp_path / "warehouse.duckdb"
    assert settings.paths.landing_dir == tmp_path / "landing"
    assert settings.paths.dead_letter_dir == tmp_path / "dead_letter"
    assert settings.payout_country == "US"
    assert settings.notifications.smtp_url is None
    assert settings.notifications.ops_webhook_url is None
    assert settings.auto_migrate


def test_landing_dead_letters_and_uploads_may_live_in_object_storage(tmp_path: Path) -> None:
    base = {"PATRONAGE_DATA_DIR": str(tmp_path), "PATRONAGE_JWT_SECRET": SECRET}
    settings = settings_from(
        {
            **base,
            "PATRONAGE_LANDING_DIR": "s3://events/landing",
            "PATRONAGE_DEAD_LETTER_DIR": str(tmp_path / "dl"),
            "PATRONAGE_UPLOAD_STORAGE": "s3://videos/uploads",
        }
    )
    assert settings.paths.landing_dir == "s3://events/landing"
    assert settings.paths.dead_letter_dir == tmp_path / "dl"
    assert settings.paths.upload_storage == "s3://videos/uploads"
    assert settings_from(base).paths.upload_storage == tmp_path / "uploads"
    for bad in ("gs://events/landing", "s3:///no-bucket", "ftp://host/dir"):
        with pytest.raises(ConfigError, match="PATRONAGE_LANDING_DIR must be a directory or an s3://"):
            settings_from({**base, "PATRONAGE_LANDING_DIR": bad})


def test_a_real_server_is_not_auto_migrated(tmp_path: Path) -> None:
    settings = settings_from(
        {
            "PATRONAGE_DATA_DIR": str(tmp_path),
            "PATRONAGE_JWT_SECRET": SECRET,
            "DATABASE_URL": "postgresql://app:pw@db.internal:5432/patronage",
        }
    )
    assert not settings.database.embedded
    assert not settings.auto_migrate


def test_dev_generates_and_keeps_a_jwt_secret(tmp_path: Path) -> None:
    first = settings_from({"PATRONAGE_DATA_DIR": str(tmp_path)})
    second = settings_from({"PATRONAGE_DATA_DIR": str(tmp_path)})
    assert first.auth.jwt_secret == second.auth.jwt_secret
    assert len(first.auth.jwt_secret) >= 32
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o077 == 0


def test_a_short_secret_is_accepted_outside_production(tmp_path: Path) -> None:
    for environment in ("dev", "test"):
        env = {"PATRONAGE_DATA_DIR": str(tmp_path), "PATRONAGE_ENV": environment, "PATRONAGE_JWT_SECRET": "test-secret"}
        assert settings_from(env).auth.jwt_secret == "test-secret"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"PATRONAGE_ENV": "production"}, "PATRONAGE_JWT_SECRET"),
        ({"PATRONAGE_ENV": "test"}, "PATRONAGE_JWT_SECRET"),  # required outside dev
        ({"PATRONAGE_ENV": "production", "PATRONAGE_JWT_SECRET": "short"}, "PATRONAGE_JWT_SECRET"),
        ({"PATRONAGE_ENV": "staging"}, "PATRONAGE_ENV"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL"),
        ({"STRIPE_API_BASE": "localhost:12111"}, "STRIPE_API_BASE"),
        ({"PATRONAGE_PAYOUT_COUNTRY": "USA"}, "PATRONAGE_PAYOUT_COUNTRY"),
        ({"PATRONAGE_SMTP_URL": "http://mail"}, "PATRONAGE_SMTP_URL"),
        ({"PATRONAGE_INGEST_WORKERS": "0"}, "PATRONAGE_INGEST_WORKERS must be a whole number of processes"),
        ({"PATRONAGE_INGEST_WORKERS": "two"}, "PATRONAGE_INGEST_WORKERS"),
    ],
)
def test_bad_configuration_names_the_variable(tmp_path: Path, env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        settings_from({"PATRONAGE_DATA_DIR": str(tmp_path), **env})


def test_ingest_workers_default_to_one_per_core(tmp_path: Path) -> None:
    assert settings_from({"PATRONAGE_DATA_DIR": str(tmp_path)}).ingest_workers == (os.cpu_count() or 1)
    assert settings_from({"PATRONAGE_DATA_DIR": str(tmp_path), "PATRONAGE_INGEST_WORKERS": "3"}).ingest_workers == 3


def test_secrets_are_not_in_reprs(tmp_path: Path) -> None:
    settings = settings_from(
        {
            "PATRONAGE_DATA_DIR": str(tmp_path),
            "PATRONAGE_JWT_SECRET": SECRET,
            "STRIPE_SECRET_KEY": "sk_live_abc",
            "STRIPE_WEBHOOK_SECRET": "whsec_xyz",
            "DATABASE_URL": "postgresql://app:hunter2@db/patronage",
        }
    )
    text = repr(settings)
    assert "hunter2" not in text
    assert SECRET not in text
    assert "sk_live_abc" not in text
    assert "whsec_xyz" not in text
