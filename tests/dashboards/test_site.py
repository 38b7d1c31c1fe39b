"""The built site in a real headless Chromium: every panel drawn from real marts, offline, without errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from dashboards.build import build_site
from dashboards.definitions import DASHBOARDS
from tests.analytics.corpus import HOSTILE_ID

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
# Per panel: what the page shows, measured in the browser (rows of its own table, shapes of its chart).
MEASURE = """sections => sections.map(s => ({
    id: s.dataset.panel,
    points: Number(s.dataset.points),
    rows: s.querySelectorAll(':scope > table > tbody > tr, :scope > details > table > tbody > tr').length,
    shapes: [...s.querySelectorAll('svg path, svg rect, svg circle')]
        .filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length,
    height: s.getBoundingClientRect().height,
}))"""

pytestmark = [
    pytest.mark.slow,
    # A developer's machine may lack the browser; CI (`.ci/run` installs it) never skips this test.
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)",
    ),
]


# What the browser draws depends on the page, not on the engine (test_build reads the marts from each).
@pytest.mark.parametrize("marts_warehouse", ["duckdb"], indirect=True)
def test_every_panel_renders_offline_without_errors(marts_warehouse: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    index = build_site(marts_warehouse, tmp_path / "site")
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(index.as_uri(), wait_until="load")

            measured: list[dict[str, Any]] = page.eval_on_selector_all("section[data-panel]", MEASURE)
            assert [m["id"] for m in measured] == list(PANELS)
            for m in measured:
                panel = PANELS[m["id"]]
                assert m["points"] > 0, m
                assert m["rows"] == m["points"], m
                assert m["height"] > 0, m
                if panel.kind == "line":  # a path per series and a dot per day
                    assert m["shapes"] == len(panel.y) * (1 + m["points"]), m
                elif panel.kind == "bar":
                    assert m["shapes"] >= m["points"], m

            assert page.evaluate("typeof window.__injected") == "undefined"
            assert page.get_by_text(HOSTILE_ID, exact=True).count() > 0  # shown as text, never run

            mismatch = page.locator("#reconciliation_daily tr.row", has_text="mismatch")
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
    assert requests == [index.as_uri()]  # the file itself, nothing else: the site works offline
