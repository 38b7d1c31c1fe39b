"""Configuration: read from the environment (and an optional `.env`) once, validated, cached.

One small frozen dataclass per concern; `load_settings()` is the only reader of `os.environ`.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from dotenv import dotenv_values

ENVIRONMENTS = ("dev", "test", "production")
MIN_SECRET_BYTES = 32


class ConfigError(ValueError):
    """Bad configuration: raised at startup with a message naming the variable."""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str | None = field(repr=False)  # None: embedded PostgreSQL under `embedded_dir`
    embedded_dir: Path
    pool_size: int = 20

    @property
    def embedded(self) -> bool:
        return self.url is None


@dataclass(frozen=True)
class AuthSettings:
    jwt_secret: str = field(repr=False)
    jwt_algorithm: str = "HS256"


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str = field(repr=False)
    publishable_key: str
    webhook_secret: str = field(repr=False)
    api_base: str | None


@dataclass(frozen=True)
class PathSettings:
    data_dir: Path
    warehouse: Path
    warehouse_url: str | None
    landing_dir: Path | str  # a local directory, or an object-store URL such as s3://bucket/landing
    dead_letter_dir: Path | str
    upload_storage: Path | str
    provider_reports_dir: Path

    @property
    def warehouse_at(self) -> Path | str:
        """Where the pipeline's warehouse is: PATRONAGE_WAREHOUSE_URL when set, else the DuckDB file."""
        return self.warehouse_url or self.warehouse


PUSH_ENVIRONMENTS = ("production", "development")


@dataclass(frozen=True)
class ApnsSettings:
    """Token-based APNs: the team's .p8 auth key (its PEM text), its key id, the team id and the app's bundle id."""

    key: str = field(repr=False)
    key_id: str
    team_id: str
    topic: str
    url: str | None = None  # None: Apple's server of each device's environment; else one stand-in server for both


@dataclass(frozen=True)
class NotificationSettings:
    smtp_url: str | None
    ops_webhook_url: str | None
    apns: ApnsSettings | None = None  # None: push goes to the dev sink
    push_environment: str = "production"  # the APNs environment of a device registered without one


@dataclass(frozen=True)
class DisputeSettings:
    """SLA clocks of a dispute, from the provider's `created`, and the amount that escalates at once."""

    ack_hours: int = 24
    triage_hours: int = 72
    escalation_minor: int = 50_000


DAGSTER_EXECUTORS = ("in_process", "multiprocess")


@dataclass(frozen=True)
class DagsterSettings:
    """How Dagster runs the jobs: every job's executor, and where its instance keeps runs and event logs."""

    executor: str = "in_process"  # or multiprocess: each step in a process of its own
    storage_url: str | None = field(default=None, repr=False)  # None: SQLite under $PATRONAGE_DATA_DIR/dagster


@dataclass(frozen=True)
class Settings:
    environment: str
    database: DatabaseSettings
    auth: AuthSettings
    stripe: StripeSettings
    paths: PathSettings
    notifications: NotificationSettings
    payout_country: str
    dead_letter_alert_rate: float = 0.01
    ingest_workers: int = 1  # processes that judge landed lines (1: in the pipeline's own process)
    disputes: DisputeSettings = field(default_factory=DisputeSettings)
    dagster: DagsterSettings = field(default_factory=DagsterSettings)

    @property
    def auto_migrate(self) -> bool:
        """Embedded databases are migrated by the process that starts them; real servers only by `db upgrade`."""
        return self.database.embedded


def _dev_jwt_secret(data_dir: Path) -> str:
    """A per-checkout secret kept in the data dir so dev tokens survive restarts."""
    path = data_dir / "jwt_secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


def _check_url(name: str, value: str | None, schemes: tuple[str, ...]) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.netloc or parts.query):
        raise ConfigError(f"{name} must be a URL with scheme {' or '.join(schemes)} (got scheme {parts.scheme!r})")
    return value


def _warehouse_url(value: str | None, data_dir: Path) -> str | None:
    """PATRONAGE_WAREHOUSE_URL: a PostgreSQL database, or `spark://local[?lake=/abs/dir&cores=N]`, a lake of Parquet
    tables under a local Spark session, or `spark://HOST:PORT[?lake=…&cores=N]`, the same lake under a Spark
    standalone cluster's master (the lake then a path every worker sees, `cores` the most the session takes); its
    lake `data_dir`/lake unless named: the one place a Spark URL gets its lake (stores/warehouse/spark_adapter.py
    reads it with `lake_of`)."""
    if not value or urlsplit(value).scheme != "spark":
        return _check_url("PATRONAGE_WAREHOUSE_URL", value, ("postgresql", "postgres", "spark"))
    parts = urlsplit(value)
    query = {name: values[-1] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
    query.setdefault("lake", str(data_dir / "lake"))
    unknown = sorted(set(query) - {"lake", "cores"})
    cores = query.get("cores", "*")
    try:
        cluster = parts.netloc != "local" and bool(parts.hostname) and parts.port is not None
    except ValueError:  # a port that is not a number
        cluster = False
    if (parts.netloc != "local" and not cluster) or parts.path not in ("", "/"):
        problem = f"{parts.netloc!r} is neither `local` nor a cluster's master as HOST:PORT"
    elif unknown:
        problem = f"unknown parameter {unknown[0]!r}"
    elif not Path(query["lake"]).is_absolute():
        problem = f"lake must be an absolute path (got {query['lake']!r})"
    elif not (cores == "*" or (cores.isdigit() and int(cores) >= 1)):
        problem = f"cores must be a whole number at least 1, or * (got {cores!r})"
    else:
        return f"spark://{parts.netloc}?{urlencode(query, safe='/')}"
    raise ConfigError(
        f"PATRONAGE_WAREHOUSE_URL: {problem} (spark://local?lake=/abs/dir&cores=N, or spark://HOST:PORT?lake=…)"
    )


def _location(env: dict[str, str], name: str, default: Path) -> Path | str:
    """A local directory, or an object-store URL (s3://bucket/prefix) kept as the string it is."""
    value = env.get(name, "").strip()
    if not value:
        return default
    if "://" not in value:
        return Path(value)
    parts = urlsplit(value)
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigError(f"{name} must be a directory or an s3://bucket/prefix URL (got {value!r})")
    return value


def _whole_number(env: dict[str, str], name: str, default: int, what: str) -> int:
    raw = env.get(name, "").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{name} must be a whole number of {what}, at least 1 (got {raw!r})")
    return value


def _dispute_settings(env: dict[str, str]) -> DisputeSettings:
    ack = _whole_number(env, "PATRONAGE_DISPUTE_ACK_HOURS", DisputeSettings.ack_hours, "hours")
    triage = _whole_number(env, "PATRONAGE_DISPUTE_TRIAGE_HOURS", DisputeSettings.triage_hours, "hours")
    if triage < ack:
        raise ConfigError(
            f"PATRONAGE_DISPUTE_TRIAGE_HOURS ({triage}) must be at least PATRONAGE_DISPUTE_ACK_HOURS ({ack})"
        )
    escalation = _whole_number(
        env, "PATRONAGE_DISPUTE_ESCALATION_MINOR", DisputeSettings.escalation_minor, "minor units"
    )
    return DisputeSettings(ack_hours=ack, triage_hours=triage, escalation_minor=escalation)


_APNS_ID = re.compile(r"[A-Z0-9]{10}")  # Apple's key ids and team ids
_BUNDLE_ID = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def _apns_settings(env: dict[str, str]) -> ApnsSettings | None:
    """APNs is on when PATRONAGE_APNS_KEY_PATH names the team's auth key; the other values are then required."""
    names = ("PATRONAGE_APNS_KEY_ID", "PATRONAGE_APNS_TEAM_ID", "PATRONAGE_APNS_TOPIC", "PATRONAGE_APNS_URL")
    path = env.get("PATRONAGE_APNS_KEY_PATH", "").strip()
    if not path:
        if stray := [name for name in names if env.get(name, "").strip()]:
            raise ConfigError(f"{stray[0]} is set but PATRONAGE_APNS_KEY_PATH is not (APNs needs the auth key)")
        return None
    values = {name: env.get(name, "").strip() for name in names}
    for name in names[:3]:
        if not values[name]:
            raise ConfigError(f"{name} is required when PATRONAGE_APNS_KEY_PATH is set")
    for name in names[:2]:
        if not _APNS_ID.fullmatch(values[name]):
            raise ConfigError(f"{name} must be the 10-character id Apple shows (got {values[name]!r})")
    if not _BUNDLE_ID.fullmatch(values["PATRONAGE_APNS_TOPIC"]):
        raise ConfigError(f"PATRONAGE_APNS_TOPIC must be the app's bundle id (got {values['PATRONAGE_APNS_TOPIC']!r})")
    url = _check_url("PATRONAGE_APNS_URL", values["PATRONAGE_APNS_URL"], ("https",))
    try:
        port = urlsplit(url).port if url else None
    except ValueError:
        port = 0
    if port == 0:
        raise ConfigError(f"PATRONAGE_APNS_URL must be https://host[:port] (got {url!r})")
    return ApnsSettings(
        key=_apns_key(Path(path).expanduser()),
        key_id=values["PATRONAGE_APNS_KEY_ID"],
        team_id=values["PATRONAGE_APNS_TEAM_ID"],
        topic=values["PATRONAGE_APNS_TOPIC"],
        url=url,
    )


def _apns_key(path: Path) -> str:
    try:
        text = path.read_text()
        key = load_pem_private_key(text.encode(), password=None)
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a PEM private key"
        raise ConfigError(f"PATRONAGE_APNS_KEY_PATH must name an APNs auth key file (.p8): {path}: {reason}") from None
    if not (isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"):
        raise ConfigError(f"PATRONAGE_APNS_KEY_PATH must name an EC P-256 APNs auth key (.p8); {path} is another key")
    return text


def _push_environment(env: dict[str, str]) -> str:
    value = env.get("PATRONAGE_APNS_ENVIRONMENT", "").strip() or "production"
    if value not in PUSH_ENVIRONMENTS:
        raise ConfigError(f"PATRONAGE_APNS_ENVIRONMENT must be one of {', '.join(PUSH_ENVIRONMENTS)} (got {value!r})")
    return value


def _dagster_settings(env: dict[str, str]) -> DagsterSettings:
    executor = env.get("PATRONAGE_DAGSTER_EXECUTOR", "").strip() or "in_process"
    if executor not in DAGSTER_EXECUTORS:
        raise ConfigError(
            f"PATRONAGE_DAGSTER_EXECUTOR must be one of {', '.join(DAGSTER_EXECUTORS)} (got {executor!r})"
        )
    # Dagster connects through SQLAlchemy, whose bare postgresql:// means psycopg 3; psycopg2 is the driver installed.
    storage = env.get("PATRONAGE_DAGSTER_STORAGE_URL", "").strip()
    return DagsterSettings(executor, _check_url("PATRONAGE_DAGSTER_STORAGE_URL", storage, ("postgresql+psycopg2",)))


def settings_from(env: dict[str, str]) -> Settings:
    """Build and validate settings from a mapping (the environment, or a test's own)."""
    environment = env.get("PATRONAGE_ENV", "dev")
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"PATRONAGE_ENV must be one of {', '.join(ENVIRONMENTS)} (got {environment!r})")

    data_dir = Path(env.get("PATRONAGE_DATA_DIR") or ".patronage").expanduser().absolute()
    database_url = _check_url("DATABASE_URL", env.get("DATABASE_URL"), ("postgresql", "postgres", "postgresql+asyncpg"))

    jwt_secret = env.get("PATRONAGE_JWT_SECRET", "")
    if not jwt_secret:
        if environment != "dev":  # dev (and the demo) generate one; anything else is told which secret to trust
            raise ConfigError(f"PATRONAGE_JWT_SECRET is required when PATRONAGE_ENV={environment}")
        jwt_secret = _dev_jwt_secret(data_dir)
    elif len(jwt_secret.encode()) < MIN_SECRET_BYTES and environment == "production":
        # RFC 7518 §3.2: an HS256 key shorter than the hash is guessable. Outside production a short
        # test secret is accepted (PyJWT warns), since no real user's token depends on it.
        raise ConfigError(f"PATRONAGE_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long in production")

    country = env.get("PATRONAGE_PAYOUT_COUNTRY", "US").upper()
    if len(country) != 2 or not country.isalpha():
        raise ConfigError(f"PATRONAGE_PAYOUT_COUNTRY must be an ISO 3166 alpha-2 code (got {country!r})")

    try:
        alert_rate = float(env.get("PATRONAGE_DEAD_LETTER_ALERT_RATE", "0.01"))
    except ValueError:
        alert_rate = -1.0
    if not 0.0 <= alert_rate <= 1.0:
        raise ConfigError("PATRONAGE_DEAD_LETTER_ALERT_RATE must be a number between 0 and 1")

    return Settings(
        environment=environment,
        database=DatabaseSettings(url=database_url, embedded_dir=data_dir / "pg"),
        auth=AuthSettings(jwt_secret=jwt_secret),
        stripe=StripeSettings(
            secret_key=env.get("STRIPE_SECRET_KEY", "sk_test_patronage_local"),
            publishable_key=env.get("STRIPE_PUBLISHABLE_KEY", "pk_test_patronage_local"),
            webhook_secret=env.get("STRIPE_WEBHOOK_SECRET", "whsec_patronage_local"),
            api_base=_check_url("STRIPE_API_BASE", env.get("STRIPE_API_BASE"), ("http", "https")),
        ),
        paths=PathSettings(
            data_dir=data_dir,
            # Absolute: dbt opens it from dbt_project/, the pipeline from wherever it runs.
            warehouse=Path(env.get("PATRONAGE_WAREHOUSE") or data_dir / "warehouse.duckdb").expanduser().absolute(),
            warehouse_url=_warehouse_url(env.get("PATRONAGE_WAREHOUSE_URL"), data_dir),
            landing_dir=_location(env, "PATRONAGE_LANDING_DIR", data_dir / "landing"),
            dead_letter_dir=_location(env, "PATRONAGE_DEAD_LETTER_DIR", data_dir / "dead_letter"),
            upload_storage=_location(env, "PATRONAGE_UPLOAD_STORAGE", data_dir / "uploads"),
            provider_reports_dir=Path(env.get("PATRONAGE_PROVIDER_REPORTS_DIR") or data_dir / "provider_reports"),
        ),
        notifications=NotificationSettings(
            smtp_url=_check_url("PATRONAGE_SMTP_URL", env.get("PATRONAGE_SMTP_URL"), ("smtp", "smtps")),
            ops_webhook_url=_check_url(
                "PATRONAGE_OPS_WEBHOOK_URL", env.get("PATRONAGE_OPS_WEBHOOK_URL"), ("http", "https")
            ),
            apns=_apns_settings(env),
            push_environment=_push_environment(env),
        ),
        payout_country=country,
        dead_letter_alert_rate=alert_rate,
        # Judging is CPU-bound Python: one process per core unless told otherwise.
        ingest_workers=_whole_number(env, "PATRONAGE_INGEST_WORKERS", os.cpu_count() or 1, "processes"),
        disputes=_dispute_settings(env),
        dagster=_dagster_settings(env),
    )


@cache
def load_settings() -> Settings:
    """The process's settings: `.env` (if present) overlaid by the real environment."""
    env = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    env.update(os.environ)
    return settings_from(env)
