"""The built site in a real headless Chromium: every panel drawn from real marts, offline, without errors; its
filters, tooltips, money and CSV checked against figures computed here from the same marts."""

from __future__ import annotations

import csv
import os
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from dashboards.build import build_site
from dashboards.definitions import DASHBOARDS
from dashboards.money import major_units
from stores.warehouse import Warehouse, open_warehouse
from tests.analytics.corpus import HOSTILE_ID

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(
    "/usr/bin/chromium"
)  # Debian's package (CI installs it); Playwright's own browsers are never downloaded
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PANELS = {panel.id: panel for board in DASHBOARDS for panel in board.panels}
# Per panel: what the page shows, measured in the browser (rows of its own table, visible marks of its chart).
MEASURE = """sections => sections.map(s => ({
    id: s.dataset.panel,
    points: Number(s.dataset.points),
    rows: s.querySelectorAll('.rows > table > tbody > tr, .rows > details > table > tbody > tr').length,
    shapes: [...s.querySelectorAll('.chart svg :is(.mark-rect, .mark-line, .mark-symbol).role-mark > path')]
        .filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length,
    height: s.getBoundingClientRect().height,
}))"""
COLUMN = "([selector, index]) => [...document.querySelectorAll(selector)].map(row => row.cells[index].textContent)"

pytestmark = [
    pytest.mark.slow,
    # A developer's machine may lack the browser; CI (`.ci/run` installs it) never skips this test.
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)",
    ),
]


def funnel(store: Warehouse, platform: str, first: date, last: date) -> list[tuple[int, str, int, float, float]]:
    """The funnel steps of one platform and date range, from the mart: what the filtered panel must show."""
    steps = store.rows(
        "select step_index, step_name, sum(users) from marts.funnel_daily"
        " where platform = ? and event_date between ? and ? group by step_index, step_name order by step_index",
        [platform, first, last],
    )
    users = [int(count) for _, _, count in steps]
    return [
        (int(index), name, users[i], users[i] / users[max(i - 1, 0)], users[i] / users[0])
        for i, (index, name, _) in enumerate(steps)
    ]


def shown_money(store: Warehouse, first: date, last: date) -> dict[str, str]:
    """Gross support amounts per currency over the date range, as the page must show them (money.py's digits)."""
    sums = store.rows(
        "select currency, sum(gross_amount_minor) from marts.kpi_support_amount_daily"
        " where kpi_date between ? and ? group by currency order by currency",
        [first, last],
    )
    return {currency: f"{major_units(int(total), currency)} {currency}" for currency, total in sums}


def apply(page: Page) -> None:
    """Wait until every chart has redrawn the rows the filters now keep."""
    assert page.evaluate("window.dashboards.updated") is True


# What the browser draws depends on the page, not on the engine (test_build reads the marts from each).
@pytest.mark.parametrize("marts_warehouse", ["duckdb"], indirect=True)
def test_every_panel_renders_offline_and_filters_drive_its_numbers(marts_warehouse: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    index = build_site(marts_warehouse, tmp_path / "site")
    with open_warehouse(marts_warehouse, read_only=True) as store:
        first, last = store.row("select min(event_date), max(event_date) from marts.funnel_daily")  # type: ignore[misc]
        start, end = first + timedelta(days=3), last - timedelta(days=3)
        platform = store.scalar("select platform from marts.funnel_daily group by platform order by sum(users) limit 1")
        everyone = store.rows(
            "select step_name, sum(users) from marts.funnel_daily group by 1, step_index order by step_index"
        )
        narrowed = funnel(store, platform, start, end)
        money_all, money_narrowed = shown_money(store, date.min, date.max), shown_money(store, start, end)
        kpi_days = store.scalar("select count(*) from marts.kpi_daily where kpi_date between ? and ?", [start, end])
        usd_rows = store.scalar("select count(*) from marts.reconciliation_daily where currency = 'USD'")
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900}, accept_downloads=True)
            page = context.new_page()
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(index.as_uri(), wait_until="load")
            assert page.evaluate("window.dashboards.ready") is True  # every chart embedded

            measured: list[dict[str, Any]] = page.eval_on_selector_all("section[data-panel]", MEASURE)
            assert [m["id"] for m in measured] == list(PANELS)
            for m in measured:
                panel = PANELS[m["id"]]
                assert m["points"] > 0, m
                assert m["rows"] == m["points"], m
                assert m["height"] > 0, m
                if panel.kind == "line":  # a line per series and a point per day and series
                    assert m["shapes"] == len(panel.y) * (1 + m["points"]), m
                elif panel.kind == "bar":
                    assert m["shapes"] >= m["points"], m

            assert page.evaluate("typeof window.__injected") == "undefined"
            assert page.get_by_text(HOSTILE_ID, exact=True).count() > 0  # shown as text, never run

            # Values on hover: a bar's tooltip names its category and shows its value.
            page.hover("#funnel_steps .chart g.role-mark > path >> nth=0")
            tooltip = page.locator("#vg-tooltip-element")
            tooltip.wait_for(state="visible")
            assert everyone[0][0] in tooltip.inner_text()
            assert f"{int(everyone[0][1]):,}" in tooltip.inner_text()

            # Money in major units with the currency code, digits as money.py writes them.
            cases = [(2_500, "EUR"), (-7, "usd"), (5, "EUR"), (0, "GBP"), (1_200, "JPY"), (-1_234, "KWD")]
            in_browser = page.evaluate("cases => cases.map(([m, c]) => window.dashboards.majorUnits(m, c))", cases)
            assert in_browser == [major_units(minor, currency) for minor, currency in cases]
            assert page.evaluate(COLUMN, ["#support_amounts .rows tbody tr", 3]) == list(money_all.values())
            payouts = page.evaluate(COLUMN, ["#reconciliation_payouts .rows > table > tbody > tr.row", 8])
            assert payouts == ["25.00 EUR", "10.00 USD"]  # settled: 2500 EUR and 1000 USD minor units

            # One platform over a narrower date range: the funnel's numbers, its chart and its CSV follow the marts.
            page.select_option("select[name=platform]", platform)
            page.fill("input[name=from]", start.isoformat())
            page.fill("input[name=to]", end.isoformat())
            apply(page)
            users = page.evaluate(COLUMN, ["#funnel_steps .rows tbody tr", 2])
            assert users == [f"{step[2]:,}" for step in narrowed]
            drawn = page.evaluate("window.dashboards.views.funnel_steps.data('rows').map(r => [r.x, r.value])")
            assert drawn == [[name, count] for _, name, count, _, _ in narrowed]
            assert page.locator("#kpi_daily").get_attribute("data-points") == str(kpi_days)
            assert page.evaluate(COLUMN, ["#support_amounts .rows tbody tr", 3]) == list(money_narrowed.values())
            with page.expect_download() as downloading:
                page.click("#funnel_steps button.csv")
            download = downloading.value
            assert download.suggested_filename == "funnel_steps.csv"
            lines = list(csv.reader(Path(download.path()).read_text(encoding="utf-8").splitlines()))
            assert lines[0] == ["step_index", "step_name", "users", "conversion_from_previous", "conversion_from_start"]
            assert [(int(a), b, int(c)) for a, b, c, _, _ in lines[1:]] == [step[:3] for step in narrowed]
            ratios = [float(ratio) for line in lines[1:] for ratio in line[3:]]
            assert ratios == pytest.approx([ratio for step in narrowed for ratio in step[3:]])

            # A currency narrows every panel that has one; panels without it keep their rows.
            page.click("button[type=reset]")
            page.select_option("select[name=currency]", "USD")
            apply(page)
            assert page.locator("#reconciliation_daily").get_attribute("data-points") == str(usd_rows)
            assert page.evaluate(COLUMN, ["#support_amounts .rows tbody tr", 0]) == ["USD"]
            assert page.evaluate(COLUMN, ["#funnel_steps .rows tbody tr", 2]) == [f"{int(n):,}" for _, n in everyone]

            mismatch = page.locator("#reconciliation_daily tr.row", has_text="mismatch")
            assert mismatch.count() == 0  # the mismatch is in EUR
            page.click("button[type=reset]")
            apply(page)
            drill = mismatch.locator("details")
            assert not drill.locator("table").is_visible()
            drill.locator("summary").click()
            assert drill.locator("table").is_visible()
            assert drill.locator("tbody tr").count() == 2
            assert "txn_provider_only" in drill.inner_text()
            assert "ch_journal_only" in drill.inner_text()

            screenshot = ROOT / "test-artifacts" / "dashboards.png"
            screenshot.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert errors == []
    # The file itself and the CSV it made: nothing else, the site works offline.
    assert [url for url in requests if not url.startswith("blob:")] == [index.as_uri()]
