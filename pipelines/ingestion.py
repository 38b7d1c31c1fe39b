"""One validation path for every landed input: contract, row rules, dedupe, then accept or dead-letter.

An ingestion run reads new inputs from one source, judges each one in processing order (received_at,
then landing id or file path and line), and commits accepted events, dead letters, the audit row and
the source's position in one warehouse transaction. Conservation — received = accepted + duplicates +
dead_lettered — is checked before the commit; a run that breaks it writes nothing and fails.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import msgspec

from dead_letter.store import DeadLetter, insert_rows, undo_files, write_files
from event_contracts import (
    Reason,
    Violation,
    contract_registry,
    parse_line,
    primary_reason,
    timestamp_violations,
    validate_event,
)
from pipelines.storage import Where


@dataclass(frozen=True)
class Input:
    """One landed input line: its original bytes and where and when it arrived."""

    source: str
    source_ref: str
    received_at: datetime
    raw: bytes
    from_client: bool = False  # landed by POST /v1/events: may not carry server-emitted events


@dataclass
class Judged:
    accepted: list[tuple[Input, dict[str, Any], str]] = field(default_factory=list)  # input, document, sha256
    duplicates: int = 0
    dead: list[DeadLetter] = field(default_factory=list)


class ConservationError(RuntimeError):
    """received ≠ accepted + duplicates + dead_lettered: the run must not commit."""


@dataclass(frozen=True)
class Audit:
    run_id: str
    source: str
    received: int
    accepted: int
    duplicates: int
    dead_lettered: int
    started_at: datetime
    finished_at: datetime

    @property
    def conserved(self) -> bool:
        return self.received == self.accepted + self.duplicates + self.dead_lettered

    @property
    def dead_letter_rate(self) -> float:
        return self.dead_lettered / self.received if self.received else 0.0


def _errors(violations: list[Violation]) -> list[dict[str, str]]:
    return [{"path": v.path, "message": v.message, "reason": v.reason} for v in violations]


def _server_event_from_client(document: dict[str, Any]) -> list[Violation]:
    """A client cannot report a payment or a refund: those come from the server's own transactions."""
    entry = contract_registry().catalog.get(str(document.get("event_name")))
    if entry is None or entry.emitted_by != "server":
        return []
    return [Violation(Reason.SCHEMA_VIOLATION, "$.event_name", f"{entry.event_name} is emitted by the server only")]


def judge(inputs: Iterable[Input], run_id: str, known: Callable[[list[str]], dict[str, str]]) -> tuple[Judged, int]:
    """Judge inputs in the order given. `known` maps event ids to the sha256 of their accepted raw bytes."""
    judged = Judged()
    candidates: list[tuple[Input, dict[str, Any]]] = []
    received = 0
    for item in inputs:
        received += 1
        document, violations = parse_line(item.raw)
        if document is not None:  # an oversized object too: `errors` lists every violation
            violations = violations + validate_event(document) + timestamp_violations(document, item.received_at)
            if item.from_client:
                violations += _server_event_from_client(document)
        if violations or document is None:
            reason = primary_reason(violations)
            assert reason is not None  # no document means parse_line said why
            event_id = document.get("event_id") if isinstance(document, dict) else None
            event_name = document.get("event_name") if isinstance(document, dict) else None
            judged.dead.append(
                DeadLetter(
                    run_id=run_id,
                    source=item.source,
                    source_ref=item.source_ref,
                    received_at=item.received_at,
                    reason_code=reason,
                    errors=_errors(violations),
                    raw=item.raw,
                    event_id=event_id if isinstance(event_id, str) else None,
                    event_name=event_name if isinstance(event_name, str) else None,
                )
            )
            continue
        candidates.append((item, document))

    seen = known([document["event_id"] for _, document in candidates])
    for item, document in candidates:
        digest = hashlib.sha256(item.raw).hexdigest()
        event_id = document["event_id"]
        if event_id in seen:
            if seen[event_id] == digest:
                judged.duplicates += 1
            else:
                judged.dead.append(
                    DeadLetter(
                        run_id=run_id,
                        source=item.source,
                        source_ref=item.source_ref,
                        received_at=item.received_at,
                        reason_code="event_id_conflict",
                        errors=[
                            {
                                "path": "$.event_id",
                                "message": "an accepted event has this id with other bytes",
                                "reason": "event_id_conflict",
                            }
                        ],
                        raw=item.raw,
                        event_id=event_id,
                        event_name=document.get("event_name"),
                    )
                )
            continue
        seen[event_id] = digest
        judged.accepted.append((item, document, digest))
    return judged, received


def known_events(connection: duckdb.DuckDBPyConnection) -> Callable[[list[str]], dict[str, str]]:
    """Look up already accepted event ids (and their raw hashes) in the warehouse."""

    def lookup(event_ids: list[str]) -> dict[str, str]:
        if not event_ids:
            return {}
        connection.execute("create or replace temp table batch_ids (event_id varchar)")
        _bulk_ids(connection, event_ids)
        rows = connection.execute(
            "select e.event_id, e.raw_sha256 from raw.events e join batch_ids b using (event_id)"
        ).fetchall()
        return {event_id: digest for event_id, digest in rows}

    return lookup


def _bulk_ids(connection: duckdb.DuckDBPyConnection, event_ids: list[str]) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as handle:
        handle.write("event_id\n")
        handle.writelines(f"{event_id}\n" for event_id in set(event_ids))
    try:
        connection.execute(
            "insert into batch_ids select event_id from read_csv(?, header = true, columns = {'event_id': 'varchar'})",
            [handle.name],
        )
    finally:
        Path(handle.name).unlink()


_NO_INTEGERS: frozenset[str] = frozenset()


def _stored_properties(document: dict[str, Any], integers: frozenset[str]) -> str:
    """The properties as JSON, an integer property sent as an integral float (`2500.0`) stored as the integer it is.

    JSON Schema's `integer` accepts `2500.0`; stored as sent, PostgreSQL refuses `'2500.0'::bigint` in the staging
    model. The raw line keeps the bytes as they were sent.
    """
    properties: dict[str, Any] = document.get("properties", {})
    for name in integers:  # nearly every event has no float there: nothing is copied
        if type(properties.get(name)) is float:
            floats = {key: int(value) for key in integers if type(value := properties.get(key)) is float}
            properties = properties | floats
            break
    return msgspec.json.encode(properties).decode()


def _insert_accepted(
    connection: duckdb.DuckDBPyConnection, run_id: str, accepted: list[tuple[Input, dict[str, Any], str]]
) -> None:
    """Bulk insert through a temporary NDJSON file (DuckDB reads it far faster than row inserts)."""
    if not accepted:
        return
    integers = contract_registry().integer_properties
    with tempfile.NamedTemporaryFile("wb", suffix=".ndjson", delete=False) as handle:
        for item, document, digest in accepted:
            handle.write(
                msgspec.json.encode(
                    {
                        "event_id": document["event_id"],
                        "event_name": document["event_name"],
                        "schema_version": document["schema_version"],
                        "occurred_at": document["occurred_at"],
                        "sent_at": document.get("sent_at"),
                        "received_at": item.received_at.isoformat(),
                        "platform": document["platform"],
                        "app_version": document.get("app_version"),
                        "user_id": document.get("user_id"),
                        "anonymous_id": document.get("anonymous_id"),
                        "session_id": document.get("session_id"),
                        "project_id": document.get("project_id"),
                        "properties": _stored_properties(document, integers.get(document["event_name"], _NO_INTEGERS)),
                        "context": msgspec.json.encode(document["context"]).decode()
                        if document.get("context") is not None
                        else None,
                        "raw": item.raw.decode("utf-8"),
                        "raw_sha256": digest,
                        "source": item.source,
                        "source_ref": item.source_ref,
                        "run_id": run_id,
                    }
                )
                + b"\n"
            )
    try:
        connection.execute(
            """
            insert into raw.events
            select event_id, event_name, schema_version, occurred_at::timestamptz, sent_at::timestamptz,
                   received_at::timestamptz, platform, app_version, user_id, anonymous_id, session_id, project_id,
                   properties::json, context::json, raw, raw_sha256, source, source_ref, run_id
              from read_json(?, format = 'newline_delimited', columns = {
                event_id: 'varchar', event_name: 'varchar', schema_version: 'varchar', occurred_at: 'varchar',
                sent_at: 'varchar', received_at: 'varchar', platform: 'varchar', app_version: 'varchar',
                user_id: 'varchar', anonymous_id: 'varchar', session_id: 'varchar', project_id: 'varchar',
                properties: 'varchar', context: 'varchar', raw: 'varchar', raw_sha256: 'varchar',
                source: 'varchar', source_ref: 'varchar', run_id: 'varchar'})
            """,
            [handle.name],
        )
    finally:
        Path(handle.name).unlink()


def commit_run(
    connection: duckdb.DuckDBPyConnection,
    dead_letter_dir: Where,
    *,
    run_id: str,
    source: str,
    judged: Judged,
    received: int,
    started_at: datetime,
    position: int | None = None,
    files: list[tuple[str, str, int]] | None = None,
) -> Audit:
    """Write the run's outcome atomically; raises ConservationError (writing nothing) if inputs went missing."""
    audit = Audit(
        run_id=run_id,
        source=source,
        received=received,
        accepted=len(judged.accepted),
        duplicates=judged.duplicates,
        dead_lettered=len(judged.dead),
        started_at=started_at,
        finished_at=datetime.now(UTC),
    )
    if not audit.conserved:
        raise ConservationError(
            f"run {run_id} ({source}): received {audit.received} != accepted {audit.accepted} + duplicates "
            f"{audit.duplicates} + dead-lettered {audit.dead_lettered}"
        )
    written = write_files(dead_letter_dir, run_id, judged.dead) if judged.dead else []
    try:
        connection.execute("begin transaction")
        _insert_accepted(connection, run_id, judged.accepted)
        insert_rows(connection, judged.dead)
        connection.execute(
            "insert into marts.ingestion_audit values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                audit.run_id,
                audit.source,
                audit.received,
                audit.accepted,
                audit.duplicates,
                audit.dead_lettered,
                audit.started_at,
                audit.finished_at,
            ],
        )
        if position is not None:
            connection.execute(
                "insert into raw.watermarks values (?, ?) "
                "on conflict (source) do update set position = excluded.position",
                [source, position],
            )
        for digest, path, size in files or []:
            connection.execute("insert into raw.ingested_files values (?, ?, ?, ?)", [digest, path, size, run_id])
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        undo_files(dead_letter_dir, written)  # this source's records are in neither place; earlier ones stay
        raise
    return audit
