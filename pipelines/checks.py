"""The ingestion's checks: conservation (blocking) and the dead-letter alert."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pipelines.ingestion import Audit
from stores.warehouse import Warehouse

LOOKBACK_DAYS = 7


def conservation_in_warehouse(warehouse: Warehouse, audit: Audit) -> dict[str, int]:
    """Recount what the run committed, from the tables themselves."""
    accepted = warehouse.row(
        "select count(*) from raw.events where run_id = ? and source = ?", [audit.run_id, audit.source]
    )
    dead = warehouse.row(
        "select count(*) from marts.dead_letter_events where run_id = ? and source = ?", [audit.run_id, audit.source]
    )
    return {
        "received": audit.received,
        "accepted": int(accepted[0]) if accepted else 0,
        "duplicates": audit.duplicates,
        "dead_lettered": int(dead[0]) if dead else 0,
    }


def dead_letter_alert(warehouse: Warehouse, audit: Audit, threshold: float) -> dict[str, Any] | None:
    """An alert when the run's dead-letter rate exceeds `threshold` or a reason is new in the last 7 days."""
    reasons = warehouse.rows(
        "select reason_code, count(*) as n, min(dead_letter_id) from marts.dead_letter_events "
        "where run_id = ? and source = ? group by reason_code order by n desc, reason_code",
        [audit.run_id, audit.source],
    )
    if not reasons:
        return None
    seen = {
        reason
        for (reason,) in warehouse.rows(
            """
            select distinct d.reason_code from marts.dead_letter_events d
              join marts.ingestion_audit a on a.run_id = d.run_id and a.source = d.source
             where a.started_at >= ? and a.started_at < ?
            """,
            # The runs before this one: a backlog ingested as several runs (run-1, run-2, …) alerts a new
            # reason in the first run that has it, not never (each would see the others as "previous").
            [audit.started_at - timedelta(days=LOOKBACK_DAYS), audit.started_at],
        )
    }
    new_reasons = sorted(reason for reason, _, _ in reasons if reason not in seen)
    rate = audit.dead_letter_rate
    if rate <= threshold and not new_reasons:
        return None
    top = reasons[0]
    return {
        "kind": "dead_letter_alert",
        "summary": f"{audit.source}: {audit.dead_lettered} of {audit.received} events dead-lettered "
        f"({rate:.2%}, threshold {threshold:.2%}); top reason {top[0]}"
        + (f"; new reasons: {', '.join(new_reasons)}" if new_reasons else ""),
        "run_id": audit.run_id,
        "source": audit.source,
        "dead_letter_rate": rate,
        "threshold": threshold,
        "top_reasons": [{"reason_code": reason, "count": count} for reason, count, _ in reasons[:5]],
        "new_reasons": new_reasons,
        "example_dead_letter_id": top[2],
    }
