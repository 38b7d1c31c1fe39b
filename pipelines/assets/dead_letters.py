"""The dead-letter replay, as a Dagster job (after a contract fix)."""

# No `from __future__ import annotations` here: Dagster inspects the context parameter's real type.

from dagster import OpExecutionContext, job, op

from pipelines.replay import replay
from pipelines.resources import PatronageConfig
from stores import warehouse


@op
def replay_dead_letters(context: OpExecutionContext, patronage: PatronageConfig) -> None:
    """Re-validate every dead letter not yet replayed; rescued events join raw.events."""
    where = patronage.run_stores()
    with warehouse.open_warehouse(where.warehouse) as opened:
        result = replay(opened, where.dead_letter_dir, context.run_id)
    context.log.info(
        f"replayed {result.considered}: rescued {result.rescued}, duplicates {result.duplicates}, "
        f"still dead {result.still_dead}"
    )


@job(description="Re-validate dead letters with the current event contract")
def dead_letter_replay_job() -> None:
    replay_dead_letters()
