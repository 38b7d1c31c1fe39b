"""Shared fixtures: a real PostgreSQL (embedded by default, `DATABASE_URL` if set), the app, tokens.

Isolation: one database per test session (per xdist worker), migrated once; every test that touches
it gets empty tables (TRUNCATE after the test), which costs milliseconds instead of a new database.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import stripe
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from api.app import create_app
from api.auth import Role, issue_token
from api.db import migrate
from api.db.embedded import start_embedded
from api.db.engine import Database
from api.db.models import Base
from api.settings import Settings, settings_from
from devtools import local_stripe as local_stripe_server
from devtools.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
logging.getLogger("httpx").setLevel(logging.WARNING)
JWT_SECRET = "test-secret-" + "x" * 60
WEBHOOK_SECRET = "whsec_test_patronage"


def pytest_configure(config: pytest.Config) -> None:
    # Spark's settings for tiny data (tests/spark/spark-defaults.conf), read by every JVM the suite starts, the dbt
    # subprocesses' too; a developer's own SPARK_CONF_DIR wins.
    os.environ.setdefault("SPARK_CONF_DIR", str(ROOT / "tests" / "spark"))


def _server_url() -> str:
    """An admin URL (database `postgres`) for the server the suite runs against."""
    if os.environ.get("DATABASE_URL"):
        return str(make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+asyncpg", database="postgres"))
    return start_embedded(ROOT / ".patronage" / "test-pg", database="postgres")


def _dsn(url: str) -> str:
    """asyncpg wants a plain libpq-style URL."""
    return str(make_url(url).set(drivername="postgresql")).replace("***", make_url(url).password or "")


async def recreate_database(admin_url: str, name: str) -> str:
    conn = await asyncpg.connect(_dsn(admin_url))
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
    return str(make_url(admin_url).set(database=name).render_as_string(hide_password=False))


@pytest.fixture(scope="session")
def admin_url() -> str:
    return _server_url()


@pytest.fixture(scope="session")
async def database_url(admin_url: str, worker_id: str) -> str:
    # PATRONAGE_TEST_DB_PREFIX lets several pytest sessions share one server without colliding.
    prefix = os.environ.get("PATRONAGE_TEST_DB_PREFIX", "patronage_test")
    url = await recreate_database(admin_url, f"{prefix}_{worker_id}")
    await asyncio.to_thread(migrate.upgrade, url)
    return url


@pytest.fixture(scope="session")
def local_stripe() -> Iterator[str]:
    """The localstripe emulator on loopback: the Stripe server of the whole suite."""
    with local_stripe_server.serve_in_thread(free_port()) as url:
        yield url


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, local_stripe: str) -> Settings:
    data_dir = tmp_path_factory.mktemp("data")
    return settings_from(
        {
            "PATRONAGE_ENV": "test",
            "PATRONAGE_DATA_DIR": str(data_dir),
            "PATRONAGE_JWT_SECRET": JWT_SECRET,
            "STRIPE_API_BASE": local_stripe,
            "STRIPE_SECRET_KEY": "sk_test_patronage",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_patronage",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
    )


@pytest.fixture(scope="session")
def app(settings: Settings, database_url: str) -> Litestar:
    return create_app(settings, database_url=database_url)


@contextmanager
def serve_in_thread(app: Litestar) -> Iterator[str]:
    """Serve `app` with uvicorn on a loopback port in a thread; yields the base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "server thread died"
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def live_url(settings: Settings, database_url: str) -> Iterator[str]:
    """A real HTTP server (its own event loop and pool) over the test database, for concurrency tests."""
    with serve_in_thread(create_app(settings, database_url=database_url)) as url:
        yield url


@pytest.fixture(scope="session")
async def session_client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app) as client:
        yield client


UNBALANCED_ENTRIES = (
    "select entry_id, currency, sum(amount_minor) as total from journal_lines "
    "group by entry_id, currency having sum(amount_minor) <> 0"
)
TABLES = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)


@pytest.fixture
async def client(
    session_client: AsyncTestClient[Litestar], database_url: str
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The app over real PostgreSQL; tables are emptied after each test.

    Before emptying them, every test's journal is checked: each entry sums to zero per currency (the
    database enforces it per entry; this shows it held across every tested scenario).
    """
    yield session_client
    conn = await asyncpg.connect(_dsn(database_url))
    try:
        unbalanced = await conn.fetch(UNBALANCED_ENTRIES)
        await conn.execute(f"truncate {TABLES} cascade")
        assert not unbalanced, f"journal entries that do not sum to zero: {unbalanced}"
    finally:
        await conn.close()


@pytest.fixture
async def db(database_url: str, client: AsyncTestClient[Litestar]) -> AsyncIterator[Database]:
    """A pool of our own over the test database, for worker steps (tables emptied after the test by `client`)."""
    database = Database.connect(database_url, pool_size=4)
    yield database
    await database.dispose()


@pytest.fixture
async def sql(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A raw connection for asserting what the database holds."""
    conn = await asyncpg.connect(_dsn(database_url))
    yield conn
    await conn.close()


@dataclass
class User:
    user_id: uuid.UUID
    role: Role
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def posting(self, key: str | None = None) -> dict[str, str]:
        """Headers for a creating POST: auth plus a fresh (or the given) Idempotency-Key."""
        return {**self.headers, "Idempotency-Key": key or str(uuid.uuid4())}


@pytest.fixture(scope="session")
def stripe_client(local_stripe: str) -> stripe.StripeClient:
    """What the iOS SDK does against Stripe, done against localstripe."""
    return stripe.StripeClient("sk_test_patronage", base_addresses={"api": local_stripe}, max_network_retries=0)


@pytest.fixture(scope="session")
def stripe_webhooks_to_live_server(local_stripe: str, live_url: str) -> str:
    """localstripe delivers its real signed webhooks to the live API server."""
    response = httpx.post(
        f"{local_stripe}/_config/webhooks/patronage",
        json={"url": f"{live_url}/v1/payments/webhooks/stripe", "secret": WEBHOOK_SECRET},
    )
    response.raise_for_status()
    return live_url


MakeUser = Callable[..., User]


@pytest.fixture
def make_user(settings: Settings) -> MakeUser:
    """`make_user("creator")`: a new user of that role with a valid token."""

    def make(role: str = "supporter") -> User:
        user_id = uuid.uuid4()
        return User(user_id, Role(role), issue_token(settings.auth, user_id, Role(role)))

    return make


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3 server on loopback (moto's) standing in for the object store we cannot reach."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket; credentials and endpoint through the standard AWS variables, as in production."""
    import fsspec

    for name, value in {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "patronage-test",
        "AWS_SECRET_ACCESS_KEY": "patronage-test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    name = f"patronage-{uuid.uuid4().hex[:12]}"
    fsspec.filesystem("s3", skip_instance_cache=True).mkdir(name)
    return name


@pytest.fixture(scope="session")
def spark_session() -> None:
    """Starts the process's Spark session once (about 10 s): every lake of the tests opens on it."""
    import shutil

    from stores.warehouse import spark_adapter

    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        # A developer's machine may lack Java; CI (`.ci/run` installs it) never skips the Spark tests.
        if os.environ.get("CI"):
            pytest.fail("Spark needs Java 17: `.ci/run` installs Debian's openjdk-17-jre-headless")
        pytest.skip("Spark needs Java 17 (apt-get install openjdk-17-jre-headless)")
    spark_adapter.session("1")
