"""The marts as an analyst's client sees them: every column described in dbt and, through `persist_docs`, in each
engine's own catalog; every mart column the SQL makes listed in its yml; integers as BIGINT on both engines; the
exposures naming exactly what their consumers read; the README's example queries running; the docs site offline."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, materialize

from dashboards.definitions import DASHBOARDS, Dashboard, marts_read
from pipelines.assets.analytics import DOCS_PAGE, dbt_docs_site
from pipelines.assets.playback import playback_caps
from pipelines.project import DBT_PROJECT_DIR, prepare_manifest, write_docs_site
from pipelines.reconcile import REPORTS
from pipelines.resources import PatronageConfig
from stores.warehouse import WarehouseAt, is_postgres, open_warehouse
from tests.analytics.corpus import ENGINES, marts_warehouse
from tests.analytics.marts import catalog_columns

ROOT = DBT_PROJECT_DIR.parent
EXAMPLES = DBT_PROJECT_DIR / "analyses" / "example_queries.sql"
# Integer and exact-decimal types, by their name in each engine's information_schema (lower case, no precision).
INTEGRAL = {"tinyint", "smallint", "integer", "bigint", "hugeint", "int128"}
INTEGRAL |= {"utinyint", "usmallint", "uinteger", "ubigint", "uhugeint", "numeric", "decimal"}
# Remote loads a page can make: an attribute or a script's `.src =`, a stylesheet link, a CSS url() or @import.
REMOTE = re.compile(
    r"""src\s*=\s*["'](?:https?:)?//|<link[^>]+href\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(prepare_manifest().read_text())
    return manifest


def mart_models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The dbt models of the marts layer (models/marts/), by name."""
    nodes = manifest["nodes"].values()
    return {
        n["name"]: n
        for n in nodes
        if n["resource_type"] == "model" and n["original_file_path"].startswith("models/marts/")
    }


@pytest.fixture(scope="module", params=ENGINES)
def warehouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, admin_url: str, worker_id: str
) -> WarehouseAt:
    """The marts corpus built on each engine (one build per engine for the session, shared with the parity test)."""
    return marts_warehouse(request.param, tmp_path_factory, admin_url, worker_id)


def catalog_comments(where: WarehouseAt) -> dict[tuple[str, str | None], str | None]:
    """(table, None) → the table's comment and (table, column) → the column's, read from the engine's own catalog."""
    if is_postgres(where):
        tables = (
            "select c.relname, obj_description(c.oid, 'pg_class') from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'marts' and c.relkind in ('r', 'v')"
        )
        columns = (
            "select c.relname, a.attname, col_description(c.oid, a.attnum) from pg_attribute a "
            "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'marts' and c.relkind in ('r', 'v') and a.attnum > 0 and not a.attisdropped"
        )
    else:
        tables = "select table_name, comment from duckdb_tables() where schema_name = 'marts'"
        columns = "select table_name, column_name, comment from duckdb_columns() where schema_name = 'marts'"
    with open_warehouse(where, read_only=True) as store:
        found: dict[tuple[str, str | None], str | None] = {(t, None): c for t, c in store.rows(tables)}
        found |= {(t, column): c for t, column, c in store.rows(columns)}
    return found


def test_every_mart_and_each_of_its_columns_is_described(manifest: dict[str, Any]) -> None:
    models = mart_models(manifest)
    assert len(models) == 13  # spec/analytics.md's marts, all built by dbt
    undescribed = [name for name, node in models.items() if not node["description"].strip()]
    assert not undescribed, f"marts without a description: {undescribed}"
    missing = []
    for name, node in models.items():
        for column, properties in node["columns"].items():
            text = properties["description"].strip()
            if not text or text.lower().startswith("see "):  # a pointer elsewhere is not a description
                missing.append(f"{name}.{column}")
            elif column.endswith("_minor") and "minor units" not in text:  # money says its unit
                missing.append(f"{name}.{column} (no unit)")
    assert not missing, f"mart columns without a real description: {missing}"


@pytest.mark.slow
def test_each_mart_lists_exactly_the_columns_its_sql_makes(manifest: dict[str, Any], warehouse: WarehouseAt) -> None:
    built = catalog_columns(warehouse)
    for name, node in mart_models(manifest).items():
        made, listed = {column for column, _ in built[name]}, set(node["columns"])
        assert not made - listed, f"{name}: columns the yml does not list: {made - listed}"
        assert not listed - made, f"{name}: listed columns the SQL does not make: {listed - made}"


@pytest.mark.slow
def test_the_engine_catalog_carries_every_description(manifest: dict[str, Any], warehouse: WarehouseAt) -> None:
    comments = catalog_comments(warehouse)
    for name, node in mart_models(manifest).items():
        assert comments[(name, None)] == node["description"], name
        for column, properties in node["columns"].items():
            assert comments[(name, column)] == properties["description"], f"{name}.{column}"


@pytest.mark.slow
def test_integers_are_bigint_on_every_engine(warehouse: WarehouseAt) -> None:
    """Counts and money: int8 everywhere (DuckDB's sum() of bigint is HUGEINT, PostgreSQL's numeric)."""
    tables = catalog_columns(warehouse)
    assert {"kpi_daily", "reconciliation_daily", "ingestion_audit"} <= set(tables)
    wrong = [
        f"{table}.{column} {data_type}"
        for table, columns in tables.items()
        for column, data_type in columns
        if (data_type in INTEGRAL and data_type != "bigint")
        or (column.endswith("_minor") and not column.startswith("average_") and data_type != "bigint")
    ]
    assert not wrong, f"integer columns that are not BIGINT: {wrong}"


def exposure_reads(manifest: dict[str, Any]) -> dict[str, set[str]]:
    """Each exposure's name → the tables (models or sources) it depends on."""
    tables = {**manifest["nodes"], **manifest["sources"]}
    return {
        exposure["name"]: {tables[unique_id]["name"] for unique_id in exposure["depends_on"]["nodes"]}
        for exposure in manifest["exposures"].values()
    }


def board_reads(board: Dashboard) -> set[str]:
    """The marts a dashboard's panels and drill-downs query (as marts_read() finds them for every dashboard)."""
    queries = [panel.sql for panel in board.panels] + [p.drilldown.sql for p in board.panels if p.drilldown]
    return {name for sql in queries for name in re.findall(r"\bmarts\.(\w+)", sql)}


def test_each_exposure_depends_on_exactly_what_its_consumer_reads(manifest: dict[str, Any]) -> None:
    expected = {f"dashboard_{board.id}": board_reads(board) for board in DASHBOARDS}
    assert set().union(*expected.values()) == marts_read()
    expected["playback_caps"] = {key.path[-1] for key in playback_caps.dependency_keys}
    expected["finance_reconciliation_csv"] = set(REPORTS)
    assert exposure_reads(manifest) == expected


def example_queries() -> list[str]:
    """The example blocks (a comment line, then one statement) of analyses/example_queries.sql."""
    return [block for block in EXAMPLES.read_text().strip().split("\n\n") if "select" in block]


@pytest.mark.slow
def test_the_readme_example_queries_run_and_agree_on_both_engines(
    tmp_path_factory: pytest.TempPathFactory, admin_url: str, worker_id: str
) -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = example_queries()
    assert len(blocks) == 3
    for block in blocks:
        assert block in readme, f"the README does not show this example verbatim:\n{block}"
    duck, pg = (marts_warehouse(engine, tmp_path_factory, admin_url, worker_id) for engine in ENGINES)
    for block in blocks:
        results = []
        for where in (duck, pg):
            with open_warehouse(where, read_only=True) as store:
                results.append(store.rows(block.rstrip(";")))  # Decimal(5) == 5: PostgreSQL's sums compare
        assert results[0], f"the corpus gives this example no rows:\n{block}"
        assert results[0] == results[1], block


@pytest.fixture(scope="module")
def docs_page(warehouse: WarehouseAt, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pipeline's dbt_docs_site asset materialized on the corpus warehouse (once per engine)."""
    tmp_path = tmp_path_factory.mktemp("docs-site")
    config = PatronageConfig(
        warehouse=str(warehouse),
        landing_dir=str(tmp_path / "landing"),
        dead_letter_dir=str(tmp_path / "dead_letter"),
        oltp_database=str(tmp_path / "oltp"),
        dashboards_dir=str(tmp_path / "dashboards"),
        provider_reports_dir=str(tmp_path / "reports"),
    )
    result = materialize([dbt_docs_site], resources={"patronage": config})
    assert result.success
    (materialization,) = result.asset_materializations_for_node("dbt_docs_site")
    assert materialization.asset_key == AssetKey("dbt_docs_site")
    return tmp_path / "dashboards" / DOCS_PAGE


@pytest.mark.slow
def test_the_docs_site_is_one_offline_page_of_the_warehouse(docs_page: Path, manifest: dict[str, Any]) -> None:
    html = docs_page.read_text(encoding="utf-8")
    assert '"MANIFEST.JSON INLINE DATA"' not in html
    assert '"CATALOG.JSON INLINE DATA"' not in html
    assert not [m.group(0) for m in REMOTE.finditer(html)], "the docs page loads something from the network"
    assert re.search(r'"send_anonymous_usage_stats":\s*false', html)  # dbt's page tracks nothing
    for name, node in mart_models(manifest).items():
        assert f'"model.patronage.{name}"' in html
        assert json.dumps(node["description"]) in html
    assert '"exposure.patronage.playback_caps"' in html
    assert '"BIGINT"' in html or '"bigint"' in html  # the catalog: the warehouse's own column types


@pytest.mark.slow
@pytest.mark.parametrize("warehouse", ["duckdb"], indirect=True)
def test_the_docs_site_reuses_the_manifest_it_is_given(warehouse: WarehouseAt, tmp_path: Path) -> None:
    """What the docs asset does after a build in the same run: dbt inlines that manifest instead of compiling."""
    given = prepare_manifest()
    page = write_docs_site(warehouse, tmp_path / DOCS_PAGE, manifest=given)
    invocation = json.loads(given.read_text())["metadata"]["invocation_id"]
    assert f'"invocation_id": "{invocation}"' in page.read_text(encoding="utf-8")


CHROMIUM = Path("/usr/bin/chromium")  # Debian's package, as tests/dashboards/test_site.py uses it
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking"]


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason=f"no Chromium at {CHROMIUM}")
@pytest.mark.parametrize("warehouse", ["duckdb"], indirect=True)  # the page's behaviour is not the engine's
def test_the_docs_site_shows_a_mart_in_a_browser_offline(docs_page: Path, manifest: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    kpi_daily = mart_models(manifest)["kpi_daily"]
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{docs_page.as_uri()}#!/model/{kpi_daily['unique_id']}", wait_until="load")
            page.get_by_text(kpi_daily["columns"]["supports"]["description"]).first.wait_for(timeout=30_000)
            shown = page.locator("body").inner_text()
        finally:
            browser.close()
    assert kpi_daily["description"].split("(")[0].strip() in shown
    assert "HUGEINT" not in shown
    assert "BIGINT" in shown
    assert errors == []
    assert [url for url in requests if not url.startswith("file:")] == []  # nothing from the network
