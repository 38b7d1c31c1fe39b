"""The site builder on real marts, from each engine: every panel embeds its mart's rows and the filters they allow,
empty marts show "no data", warehouse values never become code. What the browser draws of them: test_site.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, DagsterInstance, materialize
from dagster_dbt import get_asset_key_for_model

from dashboards.build import SetupMissing, build_site, jsonable, rows_data, script_json
from dashboards.definitions import DASHBOARDS, marts_read
from dashboards.money import THREE_DECIMAL, ZERO_DECIMAL
from pipelines.assets.analytics import analytics_models
from pipelines.assets.dashboards import WRITTEN_BY_INGESTION, dashboards_site
from pipelines.definitions import defs
from pipelines.resources import PatronageConfig
from stores.warehouse import Warehouse, WarehouseAt, open_warehouse
from tests.analytics.corpus import HOSTILE_ID, SPARK, corpus_on

PANELS = [panel for board in DASHBOARDS for panel in board.panels]


@dataclass
class Rendered:
    attributes: dict[str, str]
    text: list[str] = field(default_factory=list)


class PageParser(HTMLParser):
    """Each `section[data-panel]` with its text, and the page's data and script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.panels: dict[str, Rendered] = {}
        self.current: Rendered | None = None
        self.scripts: list[dict[str, str]] = []
        self.data = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "section" and "data-panel" in values:
            self.current = self.panels[values["data-panel"]] = Rendered(values)
        elif tag == "script":
            self.scripts.append(values)

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.current.text.append(data)
        elif self.scripts and self.scripts[-1].get("id") == "dashboards-data" and not self.data:
            self.data = data


@dataclass
class Page:
    panels: dict[str, Rendered]
    data: dict[str, Any]  # the embedded JSON the browser reads: each panel's definition and rows
    scripts: list[dict[str, str]]


def parse(index: Path) -> Page:
    parser = PageParser()
    parser.feed(index.read_text(encoding="utf-8"))
    return Page(parser.panels, json.loads(parser.data), parser.scripts)


def rows_of(store: Warehouse, sql: str, where: str) -> list[dict[str, Any]]:
    """The rows of `sql` as the page embeds them."""
    names, rows = store.columns_and_rows(sql)
    return rows_data([dict(zip(names, row, strict=True)) for row in rows], where)


def test_a_warehouse_before_dbt_shows_every_panel_without_data(empty_warehouse: WarehouseAt, tmp_path: Path) -> None:
    with open_warehouse(empty_warehouse):
        pass  # the ingestion's tables exist (empty), no dbt mart does
    page = parse(build_site(empty_warehouse, tmp_path / "site"))
    assert list(page.panels) == [p.id for p in PANELS]
    for panel in PANELS:
        assert "No data" in "".join(page.panels[panel.id].text), panel.id
        assert page.data["panels"][panel.id]["rows"] == [], panel.id
        assert page.data["panels"][panel.id]["spec"] is None, panel.id
    assert "does not exist" in "".join(page.panels["kpi_daily"].text)  # says why: the mart is not built yet


def test_zero_row_marts_show_every_panel_as_no_data(
    marts_warehouse: WarehouseAt, empty_warehouse: WarehouseAt, tmp_path: Path
) -> None:
    with open_warehouse(marts_warehouse, read_only=True) as built:
        columns = built.rows(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' order by table_name, ordinal_position"
        )
    with open_warehouse(empty_warehouse) as empty:  # the ingestion's own marts exist, empty
        for name in sorted(marts_read() - WRITTEN_BY_INGESTION):
            ddl = ", ".join(f"{column} {kind}" for table, column, kind in columns if table == name)
            empty.run(f"create table marts.{name} ({ddl})")
    page = parse(build_site(empty_warehouse, tmp_path / "site"))
    for panel in PANELS:
        assert "".join(page.panels[panel.id].text).strip().endswith("No data"), panel.id
        assert page.data["panels"][panel.id]["rows"] == [], panel.id


def test_every_panel_embeds_its_mart_rows_with_the_filters_they_allow(
    marts_warehouse: WarehouseAt, tmp_path: Path
) -> None:
    page = parse(build_site(marts_warehouse, tmp_path / "site"))
    with open_warehouse(marts_warehouse, read_only=True) as store:
        expected = {panel.id: rows_of(store, panel.sql, panel.id) for panel in PANELS}
        platforms = [p for (p,) in store.rows("select distinct platform from marts.funnel_daily order by platform")]
        currencies = {c for (c,) in store.rows("select currency from marts.kpi_support_amount_daily")}
        days, first, last = store.row("select count(*), min(kpi_date), max(kpi_date) from marts.kpi_daily")  # type: ignore[misc]
    for panel in PANELS:
        embedded = page.data["panels"][panel.id]
        assert embedded["rows"] == expected[panel.id], panel.id
        assert len(embedded["rows"]) > 0, panel.id
        assert (embedded["spec"] is None) == (panel.kind == "table"), panel.id
    assert days == (last - first).days + 1  # every calendar day, so the line has no gaps
    assert len(page.data["panels"]["kpi_daily"]["rows"]) == days
    filters = {panel.id: page.data["panels"][panel.id]["filters"] for panel in PANELS}
    assert filters["funnel_steps"] == ["date", "platform"]
    assert filters["support_amounts"] == filters["reconciliation_daily"] == ["date", "currency"]
    assert filters["reconciliation_payouts"] == ["date", "currency", "project_id"]
    assert filters["guardrail_levels"] == filters["guardrail_caps"] == ["project_id"]  # current state: no dates
    assert filters["kpi_daily"] == ["date"]
    # The filter form (outside the panels) offers every value the marts hold, and their whole date range.
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert all(f'<option value="{p}">' in html for p in platforms)
    assert all(f'<option value="{c}">' in html for c in currencies)
    assert f'name="from" min="{first.isoformat()}"' in html


def test_reconciliation_rows_carry_their_exceptions(marts_warehouse: WarehouseAt, tmp_path: Path) -> None:
    recon = parse(build_site(marts_warehouse, tmp_path / "site")).data["panels"]["reconciliation_daily"]
    drill = recon["drilldown"]
    found = {
        tuple(row[k] for k in drill["keys"]): [
            item for item in drill["rows"] if all(item[k] == row[k] for k in drill["keys"])
        ]
        for row in recon["rows"]
    }
    # the EUR charge mismatch on 2026-11-02, the refund only in the journal, the payout only at the provider
    assert sum(bool(items) for items in found.values()) == 3
    assert sum(len(items) for items in found.values()) == 4
    identifiers = {str(value) for items in found.values() for item in items for value in item.values()}
    assert {"txn_provider_only", "ch_provider_only", "e2", "ch_journal_only", "e4", "txn_payout"} <= identifiers
    assert not {"txn_both", "txn_usd"} & identifiers
    assert [row["status"] for row in recon["rows"] if row["status"] in ("matched", "mismatch")] == [
        "mismatch",
        "matched",
    ]


def test_money_keeps_minor_units_and_the_currency_s_exponent(marts_warehouse: WarehouseAt, tmp_path: Path) -> None:
    page = parse(build_site(marts_warehouse, tmp_path / "site"))
    # The page formats major units by money.py's exponents (test_site checks the digits against major_units).
    assert page.data["exponents"] == {"zero": sorted(ZERO_DECIMAL), "three": sorted(THREE_DECIMAL)}
    payouts = page.data["panels"]["reconciliation_payouts"]
    assert {(r["payout_id"], r["currency"], r["settled_minor"], r["withheld_minor"]) for r in payouts["rows"]} == {
        ("po1", "EUR", 2_500, 500),
        ("po2", "USD", 1_000, 0),
    }
    formats = {(c["key"], c["format"]) for c in payouts["columns"]}
    assert {("settled_minor", "int"), ("settled_minor", "money")} <= formats  # minor units, then major beside them
    amounts = page.data["panels"]["support_amounts"]
    assert [s["format"] for s in amounts["series"]] == ["money"]  # the chart draws major units
    assert len(page.data["panels"]["reconciliation_rollforward"]["rows"]) == 5  # EUR from 11-02, USD from 11-03


def test_warehouse_values_never_become_code(marts_warehouse: WarehouseAt, tmp_path: Path) -> None:
    index = build_site(marts_warehouse, tmp_path / "site")
    html = index.read_text(encoding="utf-8")
    page = parse(index)
    # Only the page's own scripts: the data element, the three library bundles and page.js.
    assert html.lower().count("<script") == html.lower().count("</script") == len(page.scripts) == 5
    assert page.scripts[0] == {"type": "application/json", "id": "dashboards-data"}
    assert HOSTILE_ID not in html
    ids = [row["provider_payout_id"] for row in page.data["panels"]["reconciliation_payouts"]["rows"]]
    assert HOSTILE_ID in ids  # read back character for character
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert policy is not None
    assert policy.group(1).startswith("default-src 'none'; script-src 'sha256-")  # nothing loads, only these scripts
    assert policy.group(1).count("'sha256-") == 4
    assert "unsafe-eval" not in policy.group(1)
    assert 'href="dbt-docs.html"' in html


def test_embedded_json_cannot_close_its_element() -> None:
    hostile = {"title": "</script><script>alert(1)</script><!-- & \u2028\u2029"}
    text = script_json(hostile)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == hostile


def test_an_integer_beyond_what_a_browser_holds_is_refused() -> None:
    assert jsonable(2**53 - 1, "p.c") == 2**53 - 1
    with pytest.raises(ValueError, match=r"p\.c: 9007199254740992 is beyond"):
        jsonable(2**53, "p.c")


def test_without_node_modules_the_build_says_to_run_make_setup(marts_warehouse: WarehouseAt, tmp_path: Path) -> None:
    with pytest.raises(SetupMissing) as refused:
        build_site(marts_warehouse, tmp_path / "site", node_modules=tmp_path / "node_modules")
    assert "run `make setup`" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "site").exists()


def test_the_command_line_writes_the_site(marts_warehouse: WarehouseAt, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dashboards.build", "--warehouse", str(marts_warehouse), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"dashboards written to {tmp_path / 'index.html'}"
    assert len(parse(tmp_path / "index.html").panels) == len(PANELS)


def test_the_asset_follows_every_mart_it_reads_in_the_analytics_job() -> None:
    dbt_marts = marts_read() - WRITTEN_BY_INGESTION
    assert len(dbt_marts) == 11
    assert marts_read() > WRITTEN_BY_INGESTION
    for name in dbt_marts:
        assert get_asset_key_for_model([analytics_models], name) in dashboards_site.dependency_keys
    assert {AssetKey("landing_file_events"), AssetKey("landing_table_events")} <= set(dashboards_site.dependency_keys)
    job = defs().resolve_job_def("analytics_job")
    assert dashboards_site.key in job.asset_layer.executable_asset_keys


def test_the_asset_writes_the_site_into_its_directory(marts_warehouse: WarehouseAt, tmp_path: Path) -> None:
    patronage = PatronageConfig(
        warehouse=str(marts_warehouse),
        landing_dir=str(tmp_path / "landing"),
        dead_letter_dir=str(tmp_path / "dead_letter"),
        oltp_database="postgresql://nobody@127.0.0.1:1/none",  # the site reads the warehouse only
        dashboards_dir=str(tmp_path / "dashboards"),
        provider_reports_dir=str(tmp_path / "provider_reports"),
    )
    result = materialize([dashboards_site], resources={"patronage": patronage}, instance=DagsterInstance.ephemeral())
    assert result.success
    page = parse(tmp_path / "dashboards" / "index.html")
    assert all(panel["rows"] for panel in page.data["panels"].values())


@pytest.mark.parametrize("other", ["postgres", SPARK])
def test_the_site_is_the_same_from_every_engine(request: pytest.FixtureRequest, other: str, tmp_path: Path) -> None:
    """Same marts, same page: values, their formats and the rows' order do not depend on the engine."""
    pages = [parse(build_site(corpus_on(request, engine), tmp_path / engine)) for engine in ("duckdb", other)]
    for page in pages:
        del page.data["warehouse"]
        for row in page.data["panels"]["ingestion_audit"]["rows"]:
            row["finished_at"] = "…"  # when each engine's ingestion run ended
    assert pages[0].data == pages[1].data
    assert pages[0].panels == pages[1].panels
