"""Render the dashboards into one self-contained `index.html`: Vega-Lite charts through vega-embed, filters, tooltips
and a CSV per panel, with the three library bundles from ./node_modules inlined, so the file opens offline.

`python -m dashboards.build --warehouse PATH_OR_URL --out DIR`. Where the warehouse is and where the site goes are
always given, by this command's arguments or by the caller of `build_site` (the pipeline's `dashboards_site` asset,
from the settings); nothing here reads the settings. The page's behaviour is dashboards/page.js, its look page.css.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

from dashboards import charts, money
from dashboards.definitions import CHOICE_FILTERS, DASHBOARDS, Dashboard, Panel
from stores import warehouse
from stores.warehouse import Warehouse, WarehouseAt

Row = dict[str, Any]
HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE.parent / "node_modules"
BUNDLES = ("vega/build/vega.min.js", "vega-lite/build/vega-lite.min.js", "vega-embed/build/vega-embed.min.js")
MAX_EXACT = 2**53 - 1  # a browser's numbers hold integers exactly up to here
DOCS = "dbt-docs.html"  # the dbt docs site, written beside the page by the pipeline


class SetupMissing(RuntimeError):
    """The charting library is not installed (`make setup` runs `npm ci`)."""


@dataclass(frozen=True)
class Result:
    rows: list[Row] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    missing: str = ""  # why there are no rows when the mart does not exist yet


def query(store: Warehouse, sql: str) -> Result:
    try:
        names, rows = store.columns_and_rows(sql)
    except store.missing_relation as error:  # a mart not built yet: shown as such, not as a crash
        return Result(missing=str(error).splitlines()[0])
    return Result([dict(zip(names, values, strict=True)) for values in rows], list(names))


def jsonable(value: object, where: str) -> object:
    """A warehouse value as the page holds it: days as YYYY-MM-DD, instants as "YYYY-MM-DD HH:MM UTC", integers
    exactly (or a clear error), other numbers as floats."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_EXACT:
            raise ValueError(f"{where}: {value} is beyond the integers a browser holds exactly (2^53 - 1)")
        return value
    if isinstance(value, float | Decimal):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def rows_data(rows: list[Row], where: str) -> list[Row]:
    return [{key: jsonable(value, f"{where}.{key}") for key, value in row.items()} for row in rows]


def script_json(data: object) -> str:
    """JSON for a <script type="application/json"> element: no `<`, `>` or `&` survives as such, so no warehouse
    value can close the element (`</script>`) or open a comment, and JSON.parse reads it back unchanged."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def panel_data(store: Warehouse, panel: Panel) -> tuple[dict[str, Any], Result]:
    """What the page needs of a panel: its definition, its rows and those of its drill-down, its chart spec."""
    result = query(store, panel.sql)
    filters = (["date"] if panel.date else []) + [key for key in CHOICE_FILTERS if key in result.names]
    data = asdict(panel) | {"filters": filters, "rows": rows_data(result.rows, panel.id)}
    data["measures"] = [{"key": m.key, "op": m.op, "of": m.source} for m in panel.measures]
    chart = panel.kind != "table" and bool(result.rows)
    data |= {"spec": charts.spec(panel) if chart else None, "series": charts.series(panel) if chart else []}
    if panel.drilldown:
        drill_rows = query(store, panel.drilldown.sql).rows if result.rows else []
        data["drilldown"] |= {"rows": rows_data(drill_rows, f"{panel.id} drill-down")}
        del data["drilldown"]["sql"]
    del data["sql"]
    return data, result


def render_panel(panel: Panel, result: Result) -> str:
    """The panel's frame; page.js draws its chart and table from the embedded rows."""
    note = f'<p class="note">{escape(panel.note)}</p>' if panel.note else ""
    opening = f'<section class="panel" id="{panel.id}" data-panel="{panel.id}" data-kind="{panel.kind}"'
    if not result.rows:
        why = f" ({escape(result.missing)})" if result.missing else ""
        return f'{opening}><h3>{escape(panel.title)}</h3>{note}<p class="no-data">No data{why}</p></section>'
    chart = '<div class="chart"></div>' if panel.kind != "table" else ""
    head = f'<div class="head"><h3>{escape(panel.title)}</h3><button type="button" class="csv">CSV</button></div>'
    body = f'<p class="applied"></p>{chart}<p class="no-match" hidden>No rows match the filters.</p><div class="rows">'
    return f"{opening}>{head}{note}{body}</div></section>"


def filter_form(panels: list[dict[str, Any]]) -> str:
    """The page's filters: a date range over every dated panel's days, and each choice filter's values."""
    days = [str(row[p["date"]])[:10] for p in panels if p["date"] for row in p["rows"] if row[p["date"]] is not None]
    low, high = (min(days), max(days)) if days else ("", "")
    parts = [
        f'<label>From <input type="date" name="from" min="{low}" max="{high}" value="{low}"></label>',
        f'<label>To <input type="date" name="to" min="{low}" max="{high}" value="{high}"></label>',
    ]
    for key, label in CHOICE_FILTERS.items():
        values = sorted({str(row[key]) for p in panels if key in p["filters"] for row in p["rows"] if row[key]})
        options = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
        parts.append(f'<label>{label} <select name="{key}"><option value="">All</option>{options}</select></label>')
    return f'<form id="filters" class="filters">{"".join(parts)}<button type="reset">Reset</button></form>'


def bundles(node_modules: Path) -> list[str]:
    """The three minified library bundles, to inline; a missing one means `make setup` has not run."""
    scripts = []
    for name in BUNDLES:
        path = node_modules / name
        if not path.is_file():
            raise SetupMissing(f"no {path}: run `make setup` (npm ci installs vega, vega-lite and vega-embed)")
        script = path.read_text(encoding="utf-8")
        if "</script" in script.lower() or "<!--" in script:
            raise ValueError(f"{path} cannot be inlined in a <script> element")
        scripts.append(script)
    return scripts


def csp(scripts: Sequence[str]) -> str:
    """No network at all; only these exact inline scripts run (by hash), inline styles are allowed (the charts')."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts)
    return f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'"


def render_page(
    dashboards: Sequence[Dashboard], sections: Sequence[str], data: dict[str, Any], scripts: list[str]
) -> str:
    nav = "".join(f'<a href="#{board.id}">{escape(board.title)}</a>' for board in dashboards)
    docs = (
        f'<a href="{DOCS}" title="The data dictionary: every mart and column described (dbt docs)">Data dictionary</a>'
    )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    style = (HERE / "page.css").read_text(encoding="utf-8")
    code = [*scripts, (HERE / "page.js").read_text(encoding="utf-8")]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp(code)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Patronage dashboards</title><style>{style}</style></head><body>"
        f"<header><h1>Patronage dashboards</h1><nav>{nav}{docs}</nav>{filter_form(list(data['panels'].values()))}"
        f'<p class="meta">Built {generated} from {escape(data["warehouse"])} (marts schema).</p></header>'
        f"<main>{''.join(sections)}</main>"
        f'<script type="application/json" id="dashboards-data">{script_json(data)}</script>'
        f"{''.join(f'<script>{script}</script>' for script in code)}</body></html>\n"
    )


def build_site(where: WarehouseAt, out_dir: Path, node_modules: Path = NODE_MODULES) -> Path:
    """Query the marts read-only and write `out_dir/index.html`; returns its path."""
    scripts = bundles(node_modules)
    sections, panels = [], {}
    with warehouse.open_warehouse(where, read_only=True) as store:
        for board in DASHBOARDS:
            frames = []
            for panel in board.panels:
                panels[panel.id], result = panel_data(store, panel)
                frames.append(render_panel(panel, result))
            sections.append(f'<h2 id="{board.id}">{escape(board.title)}</h2>{"".join(frames)}')
    exponents = {"zero": sorted(money.ZERO_DECIMAL), "three": sorted(money.THREE_DECIMAL)}
    data = {"warehouse": warehouse.name(where), "exponents": exponents, "panels": panels}
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / "index.html"
    partial = out_dir / "index.html.partial"
    partial.write_text(render_page(DASHBOARDS, sections, data, scripts), encoding="utf-8")
    partial.replace(index)  # a reader never sees a half-written page
    return index


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.build", description=__doc__)
    parser.add_argument("--warehouse", required=True, help="a DuckDB file or a postgresql:// URL")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    if not warehouse.exists(args.warehouse):
        parser.error(f"no warehouse at {args.warehouse}: run `patronage pipeline run` first")
    try:
        index = build_site(args.warehouse, args.out)
    except SetupMissing as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    print(f"dashboards written to {index}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
