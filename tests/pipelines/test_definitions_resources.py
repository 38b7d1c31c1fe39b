"""Pipeline settings reach the assets as resource fields filled in definitions.py: no asset, sensor or resource
reads the environment, nothing in the pipeline changes it, and a run uses the values it is given."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from dagster import AssetsDefinition, DagsterInstance, materialize

from api.settings import load_settings, settings_from
from pipelines.assets.analytics import analytics_models
from pipelines.assets.ingestion import landing_file_events, landing_table_events
from pipelines.definitions import definitions_with, resources_for
from pipelines.resources import OpsAlerts
from tests.conftest import JWT_SECRET
from tests.pipelines.conftest import LocalRunStores, NotificationQueue, query
from tests.pipelines.events import client_event, line

PIPELINES = Path(__file__).resolve().parents[2] / "pipelines"
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"


ENVIRONMENT_READERS = {"environ", "getenv", "load_settings"}
ENVIRONMENT_CHANGERS = {"putenv", "unsetenv"}
MAPPING_CHANGERS = {"update", "setdefault", "pop", "popitem", "clear"}


def _name(node: ast.AST) -> str | None:
    """The name an attribute, a variable or an import uses."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return node.name if isinstance(node, ast.alias) else None


def _is_environ(node: ast.expr) -> bool:
    return _name(node) == "environ"


def _changes(node: ast.AST) -> bool:
    """`environ[...] = …`, `del environ[...]`, `environ.update(…)` and the like, `os.putenv(…)`."""
    if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
        targets = [node.target] if isinstance(node, ast.AugAssign) else node.targets
        return any(isinstance(t, ast.Subscript) and _is_environ(t.value) for t in targets)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        attribute = node.func
        return attribute.attr in ENVIRONMENT_CHANGERS or (
            attribute.attr in MAPPING_CHANGERS and _is_environ(attribute.value)
        )
    return False


def test_no_asset_sensor_or_resource_reads_the_environment() -> None:
    modules = [*sorted((PIPELINES / "assets").glob("*.py")), PIPELINES / "sensors.py", PIPELINES / "resources.py"]
    uses = [
        f"{module.name}: {_name(node)}"
        for module in modules
        for node in ast.walk(ast.parse(module.read_text()))
        if _name(node) in ENVIRONMENT_READERS
    ]
    assert uses == []


def test_nothing_in_the_pipeline_changes_the_environment() -> None:
    changes = [
        f"{module.relative_to(PIPELINES)}: {ast.unparse(node)}"
        for module in sorted(PIPELINES.rglob("*.py"))
        for node in ast.walk(ast.parse(module.read_text()))
        if _changes(node)
    ]
    assert changes == []


def test_resources_are_filled_from_the_settings(tmp_path: Path) -> None:
    base = {"PATRONAGE_DATA_DIR": str(tmp_path), "PATRONAGE_JWT_SECRET": JWT_SECRET}
    duck = resources_for(settings_from({**base, "PATRONAGE_DEAD_LETTER_ALERT_RATE": "0.2"}))["patronage"]
    assert (duck.warehouse, duck.dbt_target) == (str(tmp_path / "warehouse.duckdb"), "duckdb")
    assert (duck.landing_dir, duck.dead_letter_dir) == (str(tmp_path / "landing"), str(tmp_path / "dead_letter"))
    assert duck.oltp_database == str(tmp_path / "pg")  # the embedded server, started by the run that needs it
    assert (duck.dashboards_dir, duck.dead_letter_alert_rate) == (str(tmp_path / "dashboards"), 0.2)
    assert duck.ingest_workers >= 1

    url = "postgresql://etl@wh.internal/marts"
    pg = resources_for(settings_from({**base, "PATRONAGE_WAREHOUSE_URL": url, "DATABASE_URL": UNREACHABLE}))
    assert (pg["patronage"].warehouse, pg["patronage"].dbt_target) == (url, "postgres")
    assert pg["patronage"].oltp_database == UNREACHABLE
    assert pg["ops_alerts"].dev_sink == str(tmp_path / "outbox" / "ops.jsonl")


def test_a_credential_from_the_environment_is_shown_by_name_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dagster's UI shows a resource's plain values; an EnvVar it shows as the variable's name."""
    url = "postgresql://etl:s3cret@wh.internal/marts"
    monkeypatch.setenv("PATRONAGE_WAREHOUSE_URL", url)
    settings = settings_from(
        {"PATRONAGE_DATA_DIR": str(tmp_path), "PATRONAGE_JWT_SECRET": JWT_SECRET, "PATRONAGE_WAREHOUSE_URL": url}
    )
    resource = resources_for(settings)["patronage"]
    config = json.loads(resource.get_resource_definition().config_schema.default_value_as_json_str)
    assert config["warehouse"] == {"env": "PATRONAGE_WAREHOUSE_URL"}
    assert "s3cret" not in json.dumps(config)


def test_the_ingestion_runs_on_the_stores_it_is_given_whatever_the_environment_says(
    where: LocalRunStores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, notification_queue: NotificationQueue
) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "landing").mkdir(parents=True)
    (elsewhere / "landing" / "other.ndjson").write_bytes(b"".join(line(client_event()) + b"\n" for _ in range(7)))
    for name, value in {
        "PATRONAGE_DATA_DIR": str(elsewhere),
        "PATRONAGE_WAREHOUSE": str(elsewhere / "warehouse.duckdb"),
        "PATRONAGE_WAREHOUSE_URL": UNREACHABLE,
        "PATRONAGE_LANDING_DIR": str(elsewhere / "landing"),
        "PATRONAGE_DEAD_LETTER_DIR": str(elsewhere / "dead_letter"),
        "DATABASE_URL": UNREACHABLE,
        "PATRONAGE_DEAD_LETTER_ALERT_RATE": "0.9",
        "PATRONAGE_INGEST_WORKERS": "not a number",  # reading it would fail the run
    }.items():
        monkeypatch.setenv(name, value)
    load_settings.cache_clear()  # anything that read the settings now would see the environment above
    (where.landing_dir / "day.ndjson").write_bytes(line(client_event()) + b"\n" + line(client_event()) + b"\n{no\n")
    patronage = where.config(tmp_path, dead_letter_alert_rate=0.25, ingest_workers=2)
    try:
        result = materialize(
            [landing_table_events, landing_file_events],
            resources={"patronage": patronage, "ops_alerts": OpsAlerts(dev_sink=str(tmp_path / "ops.jsonl"))},
            instance=DagsterInstance.ephemeral(),
        )
    finally:
        load_settings.cache_clear()

    assert result.success
    (files,) = [
        m.metadata for m in result.asset_materializations_for_node("landing_file_events")
    ]  # 2 accepted, 1 dead-lettered: the given landing directory, not the environment's
    assert (files["received"].value, files["accepted"].value, files["dead_lettered"].value) == (3, 2, 1)
    assert query(where, "select count(*) from raw.events where source = 'landing_files'") == [(2,)]
    assert len(list(where.dead_letter_dir.rglob("*.ndjson"))) == 1
    (alert,) = notification_queue.queued()  # queued in the given OLTP database (the new reason alerts)
    assert alert["payload"]["threshold"] == 0.25
    assert not (tmp_path / "ops.jsonl").exists()
    assert sorted(p.name for p in elsewhere.iterdir()) == ["landing"]  # nothing read or written there


def test_every_asset_but_the_dbt_models_has_a_description_and_owners(tmp_path: Path) -> None:
    """What Dagster's UI shows for each asset the pipeline's own code defines (dbt models take theirs from dbt)."""
    settings = settings_from({"PATRONAGE_DATA_DIR": str(tmp_path), "PATRONAGE_JWT_SECRET": JWT_SECRET})
    loaded = definitions_with(resources_for(settings))
    specs = [
        spec
        for assets in loaded.assets or []
        if isinstance(assets, AssetsDefinition) and assets is not analytics_models
        for spec in assets.specs
    ]
    assert {spec.key.to_user_string() for spec in specs} >= {
        "landing_table_events",
        "landing_file_events",
        "raw/journal_lines",
        "raw/provider_balance_transactions",
        "playback_caps",
        "dashboards_site",
    }
    undescribed = [spec.key.to_user_string() for spec in specs if not (spec.description or "").strip()]
    unowned = [spec.key.to_user_string() for spec in specs if not spec.owners]
    assert (undescribed, unowned) == ([], [])
    assert all(owner.startswith("team:") for spec in specs for owner in spec.owners)
