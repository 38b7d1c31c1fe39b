"""Ingestion assets: new events from the OLTP landing table and from landing files, validated against
event-contract-v1 into raw.events, with dead letters, the audit, and their checks."""

# No `from __future__ import annotations` here: Dagster inspects the context parameter's real type.

from collections.abc import Callable, Iterator
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    asset,
)

from pipelines.checks import conservation_in_warehouse, dead_letter_alert
from pipelines.ingestion import Audit
from pipelines.resources import OpsAlerts, PatronageConfig
from pipelines.runs import RunStores, ingest_landing_files, ingest_landing_table
from stores import warehouse

OWNERS = ["team:data"]  # the data engineers keep ingestion, its dead letters and its alert


def _checks(name: str) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            "conservation",
            asset=name,
            blocking=True,
            description="received = accepted + duplicates + dead_lettered, recounted from the tables",
        ),
        AssetCheckSpec(
            "dead_letter_rate",
            asset=name,
            description="dead-letter rate under PATRONAGE_DEAD_LETTER_ALERT_RATE and no new reason",
        ),
    ]


def _results(
    context: AssetExecutionContext, audits: list[Audit], where: RunStores, config: PatronageConfig, alerts: OpsAlerts
) -> Iterator[MaterializeResult[Any] | AssetCheckResult]:
    counts = {
        key: sum(getattr(a, key) for a in audits) for key in ("received", "accepted", "duplicates", "dead_lettered")
    }
    yield MaterializeResult(metadata={**counts, "runs": [a.run_id for a in audits]})
    with warehouse.open_warehouse(where.warehouse, read_only=True) as store:
        recounted = [conservation_in_warehouse(store, a) for a in audits]
        conserved = all(r["received"] == r["accepted"] + r["duplicates"] + r["dead_lettered"] for r in recounted)
        yield AssetCheckResult(
            check_name="conservation",
            passed=conserved,
            metadata={"runs": recounted},
            description=None if conserved else f"received != accepted + duplicates + dead_lettered: {recounted}",
        )
        fired = [alert for a in audits if (alert := dead_letter_alert(store, a, config.dead_letter_alert_rate))]
    outcomes = []
    for alert in fired:
        # One alert per ingestion run and source: re-running the check does not alert twice.
        key = f"{alert['run_id']}:{alert['source']}"
        outcomes.append(alerts.send(alert, dedupe_key=key, database_url=where.oltp_dsn))
        context.log.warning(f"{alert['summary']} (ops alert {outcomes[-1]})")
    yield AssetCheckResult(
        check_name="dead_letter_rate",
        passed=not fired,
        severity=AssetCheckSeverity.WARN,
        metadata={"alerts": [a["summary"] for a in fired], "ops_alerts": outcomes} if fired else {},
        description="; ".join(a["summary"] for a in fired) or None,  # why it failed, as the ops alert says
    )


def _ingest_until_caught_up(run: Callable[[str], Audit], run_id: str) -> list[Audit]:
    audits = [run(run_id)]
    while audits[-1].received and len(audits) < 1000:  # a run is capped; keep going until nothing is new
        audit = run(f"{run_id}-{len(audits)}")
        if not audit.received:
            break
        audits.append(audit)
    return audits


@asset(
    group_name="ingestion",
    check_specs=_checks("landing_table_events"),
    compute_kind="python",
    owners=OWNERS,
)
def landing_table_events(
    context: AssetExecutionContext, patronage: PatronageConfig, ops_alerts: OpsAlerts
) -> Iterator[Any]:
    """New rows of the OLTP `event_landing` table (client batches and server events), by watermark."""
    where = patronage.run_stores()
    audits = _ingest_until_caught_up(
        lambda run_id: ingest_landing_table(where, run_id, workers=patronage.ingest_workers), context.run.run_id
    )
    yield from _results(context, audits, where, patronage, ops_alerts)


@asset(
    group_name="ingestion",
    deps=[landing_table_events],
    check_specs=_checks("landing_file_events"),
    compute_kind="python",
    owners=OWNERS,
)
def landing_file_events(
    context: AssetExecutionContext, patronage: PatronageConfig, ops_alerts: OpsAlerts
) -> Iterator[Any]:
    """New NDJSON files (*.ndjson, *.ndjson.gz) in the landing directory, each content once.

    Runs after the table ingestion: DuckDB has one writer, and processing order is table then files.
    """
    where = patronage.run_stores()
    audits = [ingest_landing_files(where, context.run.run_id, workers=patronage.ingest_workers)]
    yield from _results(context, audits, where, patronage, ops_alerts)
