"""`patronage pipeline run` and `patronage dead-letter list|show|replay`."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from api.settings import ConfigError, Settings

if TYPE_CHECKING:
    from dagster import DagsterEvent, Definitions


GENERATED = "# Written by patronage from its settings (PATRONAGE_DAGSTER_STORAGE_URL); rewritten when they change.\n"
NO_TELEMETRY = "telemetry:\n  enabled: false\n"  # no usage statistics sent (nor banner shown)


def dagster_instance_yaml(settings: Settings) -> str:
    """dagster.yaml for the settings: runs, event logs and schedules in PostgreSQL when PATRONAGE_DAGSTER_STORAGE_URL
    is set (the file names the variable, never its value: Dagster reads it from each process's environment), else
    Dagster's default, SQLite files beside the file."""
    if settings.dagster.storage_url is None:
        return GENERATED + NO_TELEMETRY
    postgres = "storage:\n  postgres:\n    postgres_url:\n      env: PATRONAGE_DAGSTER_STORAGE_URL\n"
    return GENERATED + postgres + NO_TELEMETRY


def prepare_dagster_home(settings: Settings) -> Path:
    """Dagster's home: $DAGSTER_HOME when set, else one under the data dir whose dagster.yaml the settings write
    (one written by hand, without the first line above, is left as it is); the embedded DB migrated."""
    storage = settings.dagster.storage_url
    if storage is not None and os.environ.get("PATRONAGE_DAGSTER_STORAGE_URL") != storage:
        raise ConfigError(
            "PATRONAGE_DAGSTER_STORAGE_URL must be in the environment, not only in .env: dagster.yaml names the "
            "variable, and every Dagster process (webserver, daemon, code server, run) reads it from its environment"
        )
    home = settings.paths.data_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    instance = home / "dagster.yaml"
    written = instance.read_text() if instance.exists() else ""
    ours = written.strip() in ("", NO_TELEMETRY.strip()) or written.startswith(GENERATED)  # or empty
    if ours and written != (wanted := dagster_instance_yaml(settings)):
        instance.write_text(wanted)
    if settings.auto_migrate:
        from api.db.engine import resolve_database_url
        from api.db.migrate import upgrade

        upgrade(resolve_database_url(settings.database))
    return Path(os.environ.get("DAGSTER_HOME") or home)


def run_pipeline(args: argparse.Namespace, settings: Settings) -> int:
    from dagster import DagsterInstance

    from pipelines.definitions import definitions_with, resources_for

    home = prepare_dagster_home(settings)
    defs = definitions_with(resources_for(settings))
    job = defs.resolve_implicit_global_asset_job_def()
    log = settings.paths.data_dir / "logs" / f"pipeline-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.log"
    print(
        f"==> materializing {len(list(defs.assets or []))} assets (Dagster home {home})\n"
        f"    Dagster's and dbt's full output: {log}",
        flush=True,
    )
    with _output_to(log):
        result = job.execute_in_process(instance=DagsterInstance.from_config(str(home)), raise_on_error=False)
    checks = {True: 0, False: 0}
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            checks[bool(event.asset_check_evaluation_data.passed)] += 1
        if event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            print(f"    {event.event_type_value.lower():<24} {event.step_key or ''} {event.message or ''}"[:160])
        if event.event_type_value == "STEP_FAILURE" and (error := event.step_failure_data.error) is not None:
            while error.cause is not None:  # Dagster's wrapper says which op failed; the cause says why
                error = error.cause
            for reason in error.message.strip().splitlines()[:5]:  # the traceback is in the log
                print(f"        {reason}"[:200])
    print(f"    asset checks: {checks[True]} passed, {checks[False]} failed")
    for line in failed_check_lines(result.all_events, defs):
        print(f"      {line}")
    print_ingestion_summary(settings, result.run_id)
    if not result.success:
        print("==> pipeline run FAILED", flush=True)
        return 1
    print("==> pipeline run succeeded", flush=True)
    return 0


def failed_check_lines(events: Iterable[DagsterEvent], defs: Definitions) -> list[str]:
    """One line per failed asset check: its asset, its name, its severity and why it failed (what the check
    said, or for a dbt test how many rows failed), then what the check checks."""
    from dagster import AssetsDefinition

    checks_what = {
        (spec.asset_key, spec.name): spec.description
        for assets in defs.assets or []
        if isinstance(assets, AssetsDefinition)
        for spec in assets.check_specs
    }
    lines = []
    for event in events:
        if event.event_type_value != "ASSET_CHECK_EVALUATION" or event.asset_check_evaluation_data.passed:
            continue
        check = event.asset_check_evaluation_data
        metadata = {name: getattr(value, "value", value) for name, value in check.metadata.items()}
        said = check.description
        if said is None and "dagster_dbt/failed_row_count" in metadata:
            said = f"{metadata['dagster_dbt/failed_row_count']} failing rows"
        reasons = [said or f"no reason given (metadata: {metadata})"]
        if what := checks_what.get((check.asset_key, check.check_name)):
            reasons.append(f"checks: {what}")
        lines.append(
            f"failed check {check.asset_key.to_user_string()} {check.check_name} "
            f"({check.severity.value.lower()}): {'; '.join(reasons)}"
        )
    return lines


@contextlib.contextmanager
def _output_to(log: Path) -> Iterator[None]:
    """The run's own output goes to its log file: dbt echoes every node and test (hundreds of lines)
    and Dagster every step's log; the console gets the summary printed from the run's events."""
    log.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    with log.open("a", encoding="utf-8") as file:
        handler = logging.StreamHandler(file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        saved, root.handlers = root.handlers, [handler]
        try:
            with contextlib.redirect_stdout(file), contextlib.redirect_stderr(file):
                yield
        finally:
            root.handlers = saved


def print_ingestion_summary(settings: Settings, run_id: str) -> None:
    from stores import warehouse

    if not warehouse.exists(settings.paths.warehouse_at):
        return
    try:
        with warehouse.open_warehouse(settings.paths.warehouse_at, read_only=True) as store:
            rows = store.rows(
                "select source, sum(received), sum(accepted), sum(duplicates), sum(dead_lettered) "
                "from marts.ingestion_audit where run_id like ? group by source order by source",
                [f"{run_id}%"],
            )
    except warehouse.ERRORS as error:  # the run's failure, if it has one, was printed above
        print(f"    no ingestion summary: {str(error).strip().splitlines()[0]}")
        return
    for source, received, accepted, duplicates, dead in rows:
        print(
            f"    {source:<15} received {received:>8}  accepted {accepted:>8}  duplicates {duplicates:>6}  "
            f"dead-lettered {dead:>6}"
        )


def dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.replay import replay
    from stores import warehouse

    if not warehouse.exists(settings.paths.warehouse_at):
        print("no warehouse yet: run `patronage pipeline run` first")
        return 1
    if args.action == "replay":
        with warehouse.open_warehouse(settings.paths.warehouse_at) as opened:
            result = replay(
                opened,
                settings.paths.dead_letter_dir,
                f"replay-{uuid.uuid4().hex[:12]}",
                reason=args.reason,
                ids=args.ids or None,
            )
        print(json.dumps(result.__dict__))
        return 0
    with warehouse.open_warehouse(settings.paths.warehouse_at, read_only=True) as store:
        if args.action == "show":
            names, found = store.columns_and_rows(
                "select * from marts.dead_letter_events where dead_letter_id = ?", [args.ids[0] if args.ids else ""]
            )
            if not found:
                print("no such dead letter")
                return 1
            print(json.dumps(dict(zip(names, found[0], strict=True)), default=str, indent=2))
            return 0
        query = (
            "select dead_letter_id, received_at, source, reason_code, event_name, replayed_at "
            "from marts.dead_letter_events"
        )
        params: list[object] = []
        if args.reason:
            query += " where reason_code = ?"
            params.append(args.reason)
        for row in store.rows(query + " order by received_at desc limit ?", [*params, args.limit]):
            print("  ".join("" if value is None else str(value) for value in row))
    return 0


def reconcile(args: argparse.Namespace, settings: Settings) -> int:
    """Finance's view of the reconciliation marts for a date range, as tables or CSV files."""
    from datetime import date

    from pipelines.reconcile import missing_marts, read_reports, report_lines, write_csv
    from stores import warehouse

    try:
        first, last = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)
    except ValueError:
        print("patronage reconcile: --from and --to are dates, YYYY-MM-DD")
        return 2
    if not warehouse.exists(settings.paths.warehouse_at):
        print("no warehouse yet: run `patronage pipeline run` first")
        return 1
    with warehouse.open_warehouse(settings.paths.warehouse_at, read_only=True) as store:
        if missing := missing_marts(store):
            print(f"the reconciliation marts are not built yet ({', '.join(missing)}): run `patronage pipeline run`")
            return 1
        reports = read_reports(store, first, last)
    if args.csv:
        for path, name in zip(write_csv(Path(args.csv), reports), reports, strict=True):
            print(f"wrote {path} ({len(reports[name].rows)} rows)")
        return 0
    for line in report_lines(reports):
        print(line)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    pipeline = sub.add_parser("pipeline", help="run the data pipeline (Dagster assets) in-process")
    pipeline.add_argument("action", choices=["run"])
    pipeline.set_defaults(run=run_pipeline)

    dead = sub.add_parser("dead-letter", help="inspect and replay dead-lettered events")
    dead.add_argument("action", choices=["list", "show", "replay"])
    dead.add_argument("ids", nargs="*", help="dead_letter_id(s) (show: one; replay: restrict to these)")
    dead.add_argument("--reason", help="only this reason_code")
    dead.add_argument("--limit", type=int, default=50)
    dead.set_defaults(run=dead_letters)

    recon = sub.add_parser("reconcile", help="reconciliation marts for a date range (finance)")
    recon.add_argument("--from", dest="date_from", required=True, help="first day, YYYY-MM-DD (UTC)")
    recon.add_argument("--to", dest="date_to", required=True, help="last day, YYYY-MM-DD (UTC)")
    recon.add_argument(
        "--csv",
        help="write reconciliation_daily.csv, reconciliation_exceptions.csv, reconciliation_balance_rollforward.csv, "
        "reconciliation_payouts.csv and reconciliation_payout_items.csv here (minor and major units)",
    )
    recon.set_defaults(run=reconcile)
