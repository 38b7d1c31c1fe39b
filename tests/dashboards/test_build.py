"""The site builder on real marts: every panel shows its mart, empty marts show "no data", values are escaped."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, materialize
from dagster_dbt import get_asset_key_for_model

from api.settings import load_settings
from dashboards.build import build_site
from dashboards.definitions import DASHBOARDS, marts_read
from pipelines import warehouse
from pipelines.assets.analytics import analytics_models
from pipelines.assets.dashboards import WRITTEN_BY_INGESTION, dashboards_site
from pipelines.definitions import defs
from pipelines.resources import PatronageConfig
from tests.conftest import JWT_SECRET
from tests.dashboards.conftest import HOSTILE_PROJECT

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


def test_a_warehouse_before_dbt_shows_every_panel_without_data(tmp_path: Path) -> None:
    with warehouse.connect(tmp_path / "warehouse.duckdb"):
        pass  # the ingestion's tables exist (empty), no dbt mart does
    panels = parse(build_site(tmp_path / "warehouse.duckdb", tmp_path / "site"))
    assert list(panels) == [p.id for p in PANELS]
    for panel in PANELS:
        rendered = panels[panel.id]
        assert rendered.attributes["data-points"] == "0", panel.id
        assert "No data" in "".join(rendered.text), panel.id
        assert rendered.tags["svg"] + rendered.tags["row"] == 0, panel.id
    assert "does not exist" in "".join(panels["kpi_daily"].text)  # says why: the mart is not built yet


def test_zero_row_marts_show_every_panel_as_no_data(marts_warehouse: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    with duckdb.connect(str(empty)) as connection:
        connection.execute(f"attach '{marts_warehouse}' as built (read_only)")
        connection.execute("create schema marts")
        for name in marts_read():
            connection.execute(f"create table marts.{name} as select * from built.marts.{name} limit 0")  # noqa: S608
    panels = parse(build_site(empty, tmp_path / "site"))
    for panel in PANELS:
        rendered = panels[panel.id]
        assert rendered.attributes["data-points"] == "0", panel.id
        assert "".join(rendered.text).strip().endswith("No data"), panel.id
        assert rendered.tags["svg"] + rendered.tags["row"] == 0, panel.id


def test_every_panel_draws_its_mart(marts_warehouse: Path, tmp_path: Path) -> None:
    panels = parse(build_site(marts_warehouse, tmp_path / "site"))
    for panel in PANELS:
        rendered, points = panels[panel.id], int(panels[panel.id].attributes["data-points"])
        assert points > 0, panel.id
        assert rendered.tags["row"] == points, panel.id
        if panel.kind == "bar":
            assert points <= rendered.tags["rect"] <= points * len(panel.y), panel.id
        if panel.kind == "line":
            assert rendered.tags["path"] == len(panel.y), panel.id
    with duckdb.connect(str(marts_warehouse), read_only=True) as connection:
        days, first, last = connection.execute(
            "select count(*), min(kpi_date), max(kpi_date) from marts.kpi_daily"
        ).fetchone()  # type: ignore[misc]
    assert days == (last - first).days + 1  # every calendar day, so the line has no gaps
    kpi = panels["kpi_daily"]
    assert int(kpi.attributes["data-points"]) == days
    assert kpi.tags["circle"] == 3 * days
    assert panels["funnel_steps"].tags["rect"] == 5


def test_reconciliation_rows_drill_down_to_their_exceptions(marts_warehouse: Path, tmp_path: Path) -> None:
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


def test_warehouse_values_are_escaped(marts_warehouse: Path, tmp_path: Path) -> None:
    index = build_site(marts_warehouse, tmp_path / "site")
    html = index.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;window.__injected = 1&lt;/script&gt;&amp;&quot;&#x27;" in html
    panels = parse(index)
    assert HOSTILE_PROJECT in "".join(panels["guardrail_actions"].text)  # shown as text, character for character


def test_the_command_line_writes_the_site(marts_warehouse: Path, tmp_path: Path) -> None:
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
    assert len(dbt_marts) == 8
    assert marts_read() > WRITTEN_BY_INGESTION
    for name in dbt_marts:
        assert get_asset_key_for_model([analytics_models], name) in dashboards_site.dependency_keys
    assert {AssetKey("landing_file_events"), AssetKey("landing_table_events")} <= set(dashboards_site.dependency_keys)
    job = defs.resolve_job_def("analytics_job")
    assert dashboards_site.key in job.asset_layer.executable_asset_keys


def test_the_asset_writes_the_site_into_the_data_dir(
    marts_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATRONAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PATRONAGE_WAREHOUSE", str(marts_warehouse))
    monkeypatch.setenv("PATRONAGE_JWT_SECRET", JWT_SECRET)
    load_settings.cache_clear()
    try:
        result = materialize(
            [dashboards_site], resources={"patronage": PatronageConfig()}, instance=DagsterInstance.ephemeral()
        )
    finally:
        load_settings.cache_clear()
    assert result.success
    panels = parse(tmp_path / "dashboards" / "index.html")
    assert all(int(p.attributes["data-points"]) > 0 for p in panels.values())
