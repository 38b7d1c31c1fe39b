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
import json
import os
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from api.payments.gateway import BalanceTransaction
from api.timestamps import rfc3339
from pipelines.extracts import OLTP_EXTRACTS, load_provider_transactions
from pipelines.runs import ingest_landing_files
from stores.warehouse import Warehouse, WarehouseAt, open_warehouse
from tests.analytics.event_stream import envelope, generate_events
from tests.conftest import _dsn, recreate_database
from tests.guardrail.event_stream import properties, synthetic_events
from tests.guardrail.reference_rule import Event as GuardrailEvent
from tests.pipelines.conftest import LocalRunStores
from tests.pipelines.dbt_runner import dbt_build

ENGINES = ("duckdb", "postgres")
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


def load_finance(store: Warehouse) -> None:
    """2026-11-02 EUR charges: ch_both on both sides, ch_journal_only and ch_provider_only on one (mismatch);
    2026-11-03 USD: matched; 2026-11-04 EUR: a refund only in the journal, a payout only at the provider (whose
    object id is hostile)."""
    entries = [
        ("e1", "support_hold", "2026-11-02T10:00:00+00:00", "EUR", 2_500, "ch_both"),
        ("e2", "support_hold", "2026-11-02T11:00:00+00:00", "EUR", 3_000, "ch_journal_only"),
        ("e3", "support_hold", "2026-11-03T09:00:00+00:00", "USD", 1_000, "ch_usd"),
        ("e4", "refund", "2026-11-04T08:00:00+00:00", "EUR", -500, "re_journal_only"),
    ]
    lines = []
    for number, (entry, kind, at, currency, amount, provider_object) in enumerate(entries):
        for offset, (account, signed) in enumerate((("provider_balance", amount), ("creator_payable", -amount))):
            row = (2 * number + offset, entry, kind, at, account, None, currency, signed)
            lines.append((*row, None, None, None, provider_object))
    on = datetime.fromisoformat
    transactions = [
        BalanceTransaction("txn_both", 2_500, "EUR", "charge", "ch_both", on("2026-11-02T10:00:05+00:00")),
        BalanceTransaction("txn_provider_only", 900, "EUR", "charge", "ch_provider_only", on("2026-11-02T12:00+00:00")),
        BalanceTransaction("txn_usd", 1_000, "USD", "charge", "ch_usd", on("2026-11-03T09:00:05+00:00")),
        BalanceTransaction("txn_payout", -2_000, "EUR", "payout", HOSTILE_ID, on("2026-11-04T09:00+00:00")),
    ]
    with store.transaction():  # as extract_oltp writes raw.journal_lines
        store.load_rows("raw.journal_lines", OLTP_EXTRACTS["journal_lines"][1], lines)
    load_provider_transactions(store, transactions, "stripe_api")


def build(where: LocalRunStores, scratch: Path) -> None:
    """Ingest the landing files, load the finance rows, build and test every dbt model."""
    ingest_landing_files(where, RUN_ID)
    with open_warehouse(where.warehouse) as store:
        load_finance(store)
    dbt_build(where.warehouse, scratch)


_built: dict[str, WarehouseAt] = {}  # per engine, for the whole session: the dashboards and the parity test share it


def marts_warehouse(
    engine: str, tmp_path_factory: pytest.TempPathFactory, admin_url: str, worker_id: str
) -> WarehouseAt:
    """The corpus built on `engine` (a DuckDB file, or a PostgreSQL database of its own on the test server)."""
    if engine not in _built:
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
