"""The marts corpus: one set of landing files and finance rows that gives every mart rows, fed to a warehouse the
way production feeds it (the files through the real ingestion, the finance rows through the extracts' loader),
then the whole dbt project built on it.

The funnel/KPI stream and the guardrail stream (its ids made contract-valid) as one file per UTC day, plus lines
the ingestion refuses or drops as duplicates; finance with a match, a mismatch and both kinds of exception, one of
them carrying a hostile provider id. The parity test builds it on both engines and the dashboards read each; one
build per engine serves the whole test session.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from api.payments.gateway import BalanceTransaction
from api.timestamps import rfc3339
from pipelines.extracts import load_oltp_rows, load_provider_transactions
from pipelines.runs import ingest_landing_files
from stores.warehouse import Warehouse, WarehouseAt, open_warehouse
from tests.analytics.event_stream import envelope, generate_events
from tests.conftest import _dsn, recreate_database
from tests.guardrail.event_stream import properties, synthetic_events
from tests.guardrail.reference_rule import Event as GuardrailEvent
from tests.pipelines.conftest import LocalRunStores
from tests.pipelines.dbt_runner import dbt_build

ENGINES = ("duckdb", "postgres")
# Spark as one more engine of a reader's parity test: slow (the whole dbt project built on a lake, once per session).
SPARK = pytest.param("spark", marks=pytest.mark.slow)
SEED = 20261127
RUN_ID = "marts-corpus"
# A provider's id is data, never markup: the dashboards must show it character for character.
HOSTILE_ID = "<script>window.__injected = 1</script>&\"'"
_GUARDRAIL_IDS = uuid.UUID("6f1c0c52-5d0e-4f43-9a57-1f3f7c1e0b14")  # the guardrail stream's names as UUIDs


def _uuid(name: str | None) -> str | None:
    return None if name is None else str(uuid.uuid5(_GUARDRAIL_IDS, name))


def guardrail_envelope(event: GuardrailEvent) -> dict[str, object]:
    """A guardrail test event as the app (views, plays) or the server (payments) sends it."""
    server = event.event_name == "payment_succeeded"
    sent = properties(event)
    if server:
        sent |= {"payment_intent_id": "pi_" + event.event_id.replace("-", "")[:24]}
    return {
        "event_id": event.event_id,
        "event_name": event.event_name,
        "schema_version": "1.0",
        "occurred_at": rfc3339(event.occurred_at),
        "platform": "server" if server else "ios",
        "app_version": None if server else "2.3.0",
        "user_id": _uuid(event.user_id),
        "anonymous_id": event.anonymous_id,
        "session_id": None if server else f"session-{event.user_id or event.anonymous_id}",
        "project_id": _uuid(event.project_id),
        "properties": sent,
    }


def _line(document: dict[str, object]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def landing_days() -> dict[date, list[bytes]]:
    """Each UTC day's lines, by time: both streams, a resent event, and lines the ingestion dead-letters."""
    documents = [envelope(e) for e in generate_events(SEED)]
    documents += [guardrail_envelope(e) for e in synthetic_events(SEED + 1, projects=2)]  # another seed: other ids
    days: dict[date, list[bytes]] = defaultdict(list)
    for document in sorted(documents, key=lambda d: (str(d["occurred_at"]), str(d["event_id"]))):
        days[date.fromisoformat(str(document["occurred_at"])[:10])].append(_line(document))
    last = max(days)
    days[last] += [
        days[last][0],  # sent twice: one duplicate
        b"{broken",
        b"\xff\xfe not utf-8",
        _line(json.loads(days[last][1]) | {"event_name": "no_such_event", "event_id": str(uuid.UUID(int=SEED))}),
    ]
    return days


def land(landing_dir: Path) -> None:
    """One file per day, received a minute after the day ends (its mtime): every event is on time."""
    landing_dir.mkdir(parents=True, exist_ok=True)
    for day, lines in landing_days().items():
        landing_file = landing_dir / f"{day.isoformat()}.ndjson"
        landing_file.write_bytes(b"\n".join(lines) + b"\n")
        received = datetime.combine(day + timedelta(days=1), time(0, 1), UTC).timestamp()
        os.utime(landing_file, (received, received))


CREATED = ("2026-11-01T09:00:00+00:00",)  # the supports' creation
RELEASED = "2026-11-04T08:30:00+00:00"


def load_finance(store: Warehouse) -> None:
    """2026-11-02 EUR charges: ch_both on both sides (its fee booked as charged), ch_journal_only and
    ch_provider_only on one (mismatch); 2026-11-03 USD: matched, fee included; 2026-11-04 EUR: a refund only in the
    journal, a payout only at the provider (whose object id is hostile). Payouts: that hostile one, released for
    ch_both's support with 500 withheld, and a scheduled USD one for ch_usd's."""
    entries = [
        ("e1", "support_hold", "2026-11-02T10:00:00+00:00", "EUR", 2_500, "ch_both", None, None, "s1"),
        ("f1", "provider_fee", "2026-11-02T10:00:05+00:00", "EUR", -103, "ch_both", "txn_both", "charge", "s1"),
        ("e2", "support_hold", "2026-11-02T11:00:00+00:00", "EUR", 3_000, "ch_journal_only", None, None, None),
        ("e3", "support_hold", "2026-11-03T09:00:00+00:00", "USD", 1_000, "ch_usd", None, None, "s3"),
        ("f3", "provider_fee", "2026-11-03T09:00:05+00:00", "USD", -59, "ch_usd", "txn_usd", "charge", "s3"),
        ("e4", "refund", "2026-11-04T08:00:00+00:00", "EUR", -500, "re_journal_only", None, None, None),
    ]
    lines = []
    for number, (entry, kind, at, currency, amount, provider_object, txn, fee_category, support) in enumerate(entries):
        other = "provider_fee" if kind == "provider_fee" else "creator_payable"
        for offset, (account, signed) in enumerate((("provider_balance", amount), (other, -amount))):
            row = (2 * number + offset, entry, kind, at, account, None, currency, signed)
            lines.append((*row, support, None, None, provider_object, txn, fee_category))
    on = datetime.fromisoformat
    transactions = [
        BalanceTransaction(
            "txn_both", 2_500, "EUR", "charge", "ch_both", on("2026-11-02T10:00:05+00:00"), fee_minor=103
        ),
        BalanceTransaction(
            "txn_provider_only", 900, "EUR", "charge", "ch_provider_only", on("2026-11-02T12:00+00:00"), fee_minor=56
        ),
        BalanceTransaction("txn_usd", 1_000, "USD", "charge", "ch_usd", on("2026-11-03T09:00:05+00:00"), fee_minor=59),
        BalanceTransaction("txn_payout", -2_000, "EUR", "payout", HOSTILE_ID, on("2026-11-04T09:00+00:00")),
    ]
    supports = [  # as raw.supports: ..., succeeded_at, created_at, payment_intent_id, charge_id, refunded_minor
        ("s1", "p1", "u1", "succeeded", 2_500, "EUR", "2026-11-02T10:00:00+00:00", *CREATED, "pi_s1", "ch_both", 0),
        ("s3", "p2", "u3", "succeeded", 1_000, "USD", "2026-11-03T09:00:00+00:00", *CREATED, "pi_s3", "ch_usd", 0),
    ]
    payouts = [
        ("po1", "p1", "EUR", "2026-11-04", "2026-11-06", "released", 2_000, 500, 1, HOSTILE_ID, RELEASED, None, None),
        ("po2", "p2", "USD", "2026-11-05", "2026-11-09", "scheduled", 0, 0, 0, None, None, None, None),
    ]
    load_oltp_rows(store, "journal_lines", lines)
    load_oltp_rows(store, "supports", supports)
    load_oltp_rows(store, "payouts", payouts)
    load_oltp_rows(store, "payout_items", [("po1", "s1", 2_500), ("po2", "s3", 1_000)])
    load_provider_transactions(store, transactions, "stripe_api")


def build(where: LocalRunStores, scratch: Path) -> None:
    """Ingest the landing files, load the finance rows, build and test every dbt model."""
    ingest_landing_files(where, RUN_ID)
    with open_warehouse(where.warehouse) as store:
        load_finance(store)
    dbt_build(where.warehouse, scratch)


_built: dict[str, WarehouseAt] = {}  # per engine, for the whole session: the dashboards and the parity test share it


def _spark_lake_shared(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> WarehouseAt:
    """The corpus on a Spark lake, built once for the whole test session, whichever test process asks first (a build
    takes minutes): beside the processes' own temporary directories, under a lock the others wait on, then read."""
    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # pytest-xdist: each process has its own directory under the session's
        root = root.parent
    scratch = root / "marts-corpus-spark"
    lake = f"spark://local?lake={scratch / 'lake'}&cores=2"
    with (root / "marts-corpus-spark.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (scratch / "built").exists():
            shutil.rmtree(scratch, ignore_errors=True)  # a build that failed: again
            where = LocalRunStores(lake, scratch / "dead_letter", scratch / "landing", oltp_dsn="")
            land(where.landing_dir)
            build(where, scratch)
            (scratch / "built").touch()
    return lake


def marts_warehouse(
    engine: str, tmp_path_factory: pytest.TempPathFactory, admin_url: str, worker_id: str
) -> WarehouseAt:
    """The corpus built on `engine` (a DuckDB file, a PostgreSQL database of its own on the test server, or a Spark
    lake: the caller has started the Spark session)."""
    if engine not in _built:
        if engine == "spark":  # not one of ENGINES: its tests ask for it (SPARK, corpus_on)
            _built[engine] = _spark_lake_shared(tmp_path_factory, worker_id)
            return _built[engine]
        scratch = tmp_path_factory.mktemp(f"marts-corpus-{engine}")
        warehouse: WarehouseAt = scratch / "warehouse.duckdb"
        if engine == "postgres":
            prefix = os.environ.get("PATRONAGE_TEST_DB_PREFIX", "patronage_test")
            warehouse = _dsn(asyncio.run(recreate_database(admin_url, f"{prefix}_marts_{worker_id}")))
        where = LocalRunStores(warehouse, scratch / "dead_letter", scratch / "landing", oltp_dsn="")
        land(where.landing_dir)
        build(where, scratch)
        _built[engine] = warehouse
    return _built[engine]


def corpus_on(request: pytest.FixtureRequest, engine: str) -> WarehouseAt:
    """`marts_warehouse` for a test or fixture of any scope, the Spark session started first for a lake."""
    if engine == "spark":
        request.getfixturevalue("spark_session")
    return marts_warehouse(
        engine,
        request.getfixturevalue("tmp_path_factory"),
        request.getfixturevalue("admin_url"),
        request.getfixturevalue("worker_id"),
    )
