"""The site builder on real marts, from each engine: every panel shows its mart, empty marts show "no data", values
are escaped."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, materialize
from dagster_dbt import get_asset_key_for_model

from dashboards.build import build_site
from dashboards.definitions import DASHBOARDS, marts_read
from pipelines.assets.analytics import analytics_models
from pipelines.assets.dashboards import WRITTEN_BY_INGESTION, dashboards_site
from pipelines.definitions import defs
from pipelines.resources import PatronageConfig
from stores.warehouse import WarehouseAt, open_warehouse
from tests.analytics.corpus import ENGINES, HOSTILE_ID
from tests.analytics.corpus import marts_warehouse as corpus_warehouse

PANELS = [panel for board in DASHBOARDS for panel in board.panels]


@dataclass
class Rendered:
    attributes: dict[str, str]
    tags: Counter[str] = field(default_factory=Counter)  # svg shapes, rows, drill-downs inside the panel
    text: list[str] = field(default_factory=list)


class PanelParser(HTMLParser):
    """Each `section[data-panel]` with the shapes and rows drawn inside it (drill-down rows apart)."""

    def __init__(self) -> None:
        super().__init__()
        self.panels: dict[str, Rendered] = {}
        self.current: Rendered | None = None
        self.drill_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "section" and "data-panel" in values:
            self.current = self.panels[values["data-panel"]] = Rendered(values)
        elif self.current is not None:
            self.drill_depth += tag == "details" and "data-drilldown" in values
            row = "drill_row" if self.drill_depth else "row"
            self.current.tags[row if tag == "tr" and values.get("class") == "row" else tag] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.current = None
        elif tag == "details" and self.drill_depth:
            self.drill_depth -= 1

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.current.text.append(data)


def parse(index: Path) -> dict[str, Rendered]:
    parser = PanelParser()
    parser.feed(index.read_text(encoding="utf-8"))
    return parser.panels


def test_a_warehouse_before_dbt_shows_every_panel_without_data(empty_warehouse: WarehouseAt, tmp_path: Path) -> None:
    with open_warehouse(empty_warehouse):
        pass  # the ingestion's tables exist (empty), no dbt mart does
    panels = parse(build_site(empty_warehouse, tmp_path / "site"))
    assert list(panels) == [p.id for p in PANELS]
    for panel in PANELS:
        rendered = panels[panel.id]
        assert rendered.attributes["data-points"] == "0", panel.id
        assert "No data" in "".join(rendered.text), panel.id
        assert rendered.tags["svg"] + rendered.tags["row"] == 0, panel.id
    assert "does not exist" in "".join(panels["kpi_daily"].text)  # says why: the mart is not built yet


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
    panels = parse(build_site(empty_warehouse, tmp_path / "site"))
    for panel in PANELS:
        rendered = panels[panel.id]
        assert rendered.attributes["data-points"] == "0", panel.id
        assert "".join(rendered.text).strip().endswith("No data"), panel.id
        assert rendered.tags["svg"] + rendered.tags["row"] == 0, panel.id


def test_every_panel_draws_its_mart(marts_warehouse: WarehouseAt, tmp_path: Path) -> None:
    panels = parse(build_site(marts_warehouse, tmp_path / "site"))
    for panel in PANELS:
        rendered, points = panels[panel.id], int(panels[panel.id].attributes["data-points"])
        assert points > 0, panel.id
        assert rendered.tags["row"] == points, panel.id
        if panel.kind == "bar":
            assert points <= rendered.tags["rect"] <= points * len(panel.y), panel.id
        if panel.kind == "line":
            assert rendered.tags["path"] == len(panel.y), panel.id
    with open_warehouse(marts_warehouse, read_only=True) as store:
        days, first, last = store.row("select count(*), min(kpi_date), max(kpi_date) from marts.kpi_daily")  # type: ignore[misc]
    assert days == (last - first).days + 1  # every calendar day, so the line has no gaps
    kpi = panels["kpi_daily"]
    assert int(kpi.attributes["data-points"]) == days
    assert kpi.tags["circle"] == 3 * days
    assert panels["funnel_steps"].tags["rect"] == 5


def test_reconciliation_rows_drill_down_to_their_exceptions(marts_warehouse: WarehouseAt, tmp_path: Path) -> None:
    recon = parse(build_site(marts_warehouse, tmp_path / "site"))["reconciliation_daily"]
    text, cells = " ".join(recon.text), {chunk.strip() for chunk in recon.text}
    # the EUR charge mismatch on 2026-11-02, the refund only in the journal, the payout only at the provider
    assert recon.tags["details"] == 3
    assert recon.tags["drill_row"] == 4
    for identifier in ("txn_provider_only", "ch_provider_only", "e2", "ch_journal_only", "e4", "txn_payout"):
        assert identifier in cells
    assert "txn_both" not in text
    assert "txn_usd" not in text
    assert [chunk for chunk in recon.text if chunk in ("matched", "mismatch")] == ["mismatch", "matched"]


def test_finance_amounts_show_major_units_beside_minor_units(marts_warehouse: WarehouseAt, tmp_path: Path) -> None:
    panels = parse(build_site(marts_warehouse, tmp_path / "site"))
    payouts = panels["reconciliation_payouts"]
    cells = [chunk.strip() for chunk in payouts.text]
    assert cells.index("Settled") == cells.index("Settled (minor units)") + 1
    # po1 settles 2500 EUR (500 withheld), po2 1000 USD: minor units, then major units of the row's currency
    for minor, major in (("2,500", "25.00"), ("500", "5.00"), ("1,000", "10.00")):
        assert major in cells[cells.index(minor) :], (minor, major)
    assert payouts.tags["details"] == 2  # each payout opens onto the supports it settles
    assert payouts.tags["drill_row"] == 2
    assert {"ch_both", "ch_usd"} <= set(cells)
    daily = [chunk.strip() for chunk in panels["reconciliation_daily"].text]
    assert {"1.03", "0.59"} <= set(daily)  # the provider's fees on ch_both (EUR) and ch_usd (USD), in major units
    rollforward = panels["reconciliation_rollforward"]
    assert int(rollforward.attributes["data-points"]) == 5  # EUR from 11-02, USD from 11-03, to 11-04
    # One bar per status and currency: differences of EUR and USD are never summed together.
    assert int(panels["reconciliation_status"].attributes["data-points"]) == 4


def test_warehouse_values_are_escaped(marts_warehouse: WarehouseAt, tmp_path: Path) -> None:
    index = build_site(marts_warehouse, tmp_path / "site")
    html = index.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;window.__injected = 1&lt;/script&gt;&amp;&quot;&#x27;" in html
    panels = parse(index)
    assert HOSTILE_ID in panels["reconciliation_daily"].text  # shown as text, character for character


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
    assert len(parse(tmp_path / "index.html")) == len(PANELS)


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
    panels = parse(tmp_path / "dashboards" / "index.html")
    assert all(int(p.attributes["data-points"]) > 0 for p in panels.values())


def test_the_site_is_the_same_from_either_engine(
    tmp_path_factory: pytest.TempPathFactory, admin_url: str, worker_id: str, tmp_path: Path
) -> None:
    """Same marts, same page: values, their formats and the rows' order do not depend on the engine."""
    sites = [
        parse(build_site(corpus_warehouse(engine, tmp_path_factory, admin_url, worker_id), tmp_path / engine))
        for engine in ENGINES
    ]
    finished = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")  # when each engine's ingestion run ended
    for site in sites:
        site["ingestion_audit"].text[:] = [finished.sub("…", chunk) for chunk in site["ingestion_audit"].text]
    assert sites[0] == sites[1]
