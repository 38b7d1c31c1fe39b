"""Render the dashboards into one self-contained `index.html`: inline CSS and SVG, no script, no network.

`python -m dashboards.build --warehouse PATH_OR_URL --out DIR`. Where the warehouse is and where the site goes are
always given, by this command's arguments or by the caller of `build_site` (the pipeline's `dashboards_site` asset,
from the settings); nothing here reads the settings.
"""

from __future__ import annotations

import argparse
import math
import textwrap
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

from dashboards.definitions import DASHBOARDS, Column, Dashboard, Drilldown, Panel
from dashboards.money import major_units
from stores import warehouse
from stores.warehouse import Warehouse, WarehouseAt

Row = dict[str, Any]
Groups = dict[tuple[Any, ...], list[Row]] | None
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 760, 260, 64, 16, 16, 46
COLORS = ("#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626")
# Nothing may load or run: the page is a file that must open offline, and warehouse values are never code.
CSP = "default-src 'none'; style-src 'unsafe-inline'"
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1f2937;background:#f8fafc}
header,main{max-width:1100px;margin:auto;padding:12px 20px}header nav a{margin-right:14px}
section.panel{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 16px;margin:14px 0;overflow:auto}
h1{margin:4px 0}h2{margin:26px 0 4px}h3{margin:0 0 6px;font-size:16px}.note,.meta{color:#6b7280;font-size:12px}
svg{width:100%;height:auto}svg text{font-size:11px;fill:#4b5563}.grid{stroke:#e5e7eb}
table{border-collapse:collapse;margin-top:8px;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #f1f5f9}
th{text-align:left;background:#f8fafc}td{white-space:nowrap;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;border-radius:2px}
.no-data{color:#9ca3af;font-style:italic;padding:24px;text-align:center;border:1px dashed #e5e7eb}
.status-matched{color:#16a34a}.status-mismatch,.status-missing_in_journal,.status-missing_in_provider{color:#dc2626}
details table{margin:4px 0 8px}summary{cursor:pointer;color:#2563eb}
"""


@dataclass(frozen=True)
class Result:
    rows: list[Row]
    missing: str = ""  # why there are no rows when the mart does not exist yet


def query(store: Warehouse, sql: str) -> Result:
    try:
        names, rows = store.columns_and_rows(sql)
    except store.missing_relation as error:  # a mart not built yet: shown as such, not as a crash
        return Result([], str(error).splitlines()[0])
    return Result([dict(zip(names, values, strict=True)) for values in rows])


def display(value: object, fmt: str = "text") -> str:
    """A warehouse value as display text (not yet escaped)."""
    if value is None:
        return "—"
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool) and fmt != "text":
        return {"pct": "{:.1%}", "int": "{:,.0f}"}.get(fmt, "{:,.2f}").format(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def text(value: object, fmt: str = "text") -> str:
    return escape(display(value, fmt), quote=True)


def number(value: object) -> float | None:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def scale(rows: list[Row], series: Sequence[str]) -> tuple[float, float, float]:
    """The y range (from 0, or below 0 for negative values) rounded to a 1-2-5 tick step."""
    values = [v for row in rows for key in series if (v := number(row[key])) is not None]
    low, high = min([0.0, *values]), max([0.0, *values])
    span = (high - low) or 1.0
    step = 10 ** math.floor(math.log10(span / 4))
    step *= next(m for m in (1, 2, 5, 10) if span / (step * m) <= 4)
    if all(float(v).is_integer() for v in values):
        step = max(step, 1.0)  # counts get whole ticks
    return math.floor(low / step) * step, math.ceil(high / step) * step or step, step


def short(value: float) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    return f"{value / 1e3:g}k" if abs(value) >= 1e4 else f"{value:g}"


def chart(panel: Panel, rows: list[Row]) -> str:
    """The panel's rows as an inline SVG line or grouped bar chart, with native tooltips (<title>)."""
    low, high, step = scale(rows, panel.y)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count, slot = len(rows), plot_w / len(rows)

    def y_of(value: float) -> float:
        return TOP + (high - value) / (high - low) * plot_h

    parts = []
    for i in range(round((high - low) / step) + 1):
        y = y_of(low + i * step)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{short(low + i * step)}</text>')
    every = max(1, math.ceil(count / 8)) if panel.kind == "line" else 1  # dates: about eight labels
    for index, row in enumerate(rows):
        if index % every == 0:
            lines = textwrap.wrap(display(row[panel.x]), max(6, int(slot * every / 6.5)))[:2]
            spans = "".join(
                f'<tspan x="{LEFT + slot * (index + 0.5):.1f}" dy="{13 if n else 0}">{escape(line)}</tspan>'
                for n, line in enumerate(lines)
            )
            parts.append(f'<text y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{spans}</text>')
    formats, labels = {c.key: c.format for c in panel.columns}, {c.key: c.label for c in panel.columns}
    group = min(slot * 0.8, 60 * len(panel.y))  # a few wide categories do not make wall-sized bars
    for series, key in enumerate(panel.y):
        color, name = COLORS[series % len(COLORS)], escape(labels.get(key, key))
        points = [(LEFT + slot * (i + 0.5), number(row[key]), row) for i, row in enumerate(rows)]
        if panel.kind == "line":
            path, pen = [], "M"
            for x, value, _ in points:
                if value is None:
                    pen = "M"  # an undefined value breaks the line instead of drawing it as zero
                    continue
                path.append(f"{pen}{x:.1f},{y_of(value):.1f}")
                pen = "L"
            parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, value, row in points:
            if value is None:
                continue
            tip = f"<title>{text(row[panel.x])} · {name}: {text(row[key], formats.get(key, 'num'))}</title>"
            if panel.kind == "line":
                parts.append(f'<circle cx="{x:.1f}" cy="{y_of(value):.1f}" r="2.5" fill="{color}">{tip}</circle>')
            else:
                width, (top, bottom) = group / len(panel.y), sorted((y_of(value), y_of(0)))
                parts.append(
                    f'<rect x="{x - group / 2 + width * series:.1f}" y="{top:.1f}" width="{width:.1f}"'
                    f' height="{max(bottom - top, 0.5):.1f}" fill="{color}">{tip}</rect>'
                )
    legend = "".join(
        f'<span style="background:{COLORS[i % len(COLORS)]}"></span>{escape(labels.get(k, k))}'
        for i, k in enumerate(panel.y)
    )
    svg = f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(panel.title)}">{"".join(parts)}</svg>'
    return f'{svg}<div class="legend">{legend}</div>'


def table(columns: Sequence[Column], rows: list[Row], drilldown: Drilldown | None = None, groups: Groups = None) -> str:
    """Rows as a table; with a drill-down, a last cell holds each row's matching rows in a <details> element."""
    labels = [c.label for c in columns] + ([drilldown.label.capitalize()] if drilldown else [])
    body = []
    for row in rows:
        cells = [f'<td class="{cell_class(c, row)}">{cell_text(c, row)}</td>' for c in columns]
        if drilldown:
            found = (groups or {}).get(tuple(row[k] for k in drilldown.keys), [])
            summary = f"<summary>{escape(drilldown.label)} ({len(found)})</summary>"
            inner = f'<details data-drilldown="{len(found)}">{summary}{table(drilldown.columns, found)}</details>'
            cells.append(f"<td>{inner if found else '—'}</td>")
        body.append(f'<tr class="row">{"".join(cells)}</tr>')
    head = "".join(f"<th>{escape(label)}</th>" for label in labels)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def cell_text(column: Column, row: Row) -> str:
    """A cell's escaped text; money in major units of the row's currency."""
    if column.format == "money":
        return escape(major_units(row[column.key], row.get("currency")) or "—", quote=True)
    return text(row[column.key], column.format)


def cell_class(column: Column, row: Row) -> str:
    if column.format != "text":
        return "n"
    return f"status-{text(row[column.key])}" if column.key == "status" else ""


def render_panel(store: Warehouse, panel: Panel) -> str:
    result = query(store, panel.sql)
    rows = result.rows
    note = f'<p class="note">{escape(panel.note)}</p>' if panel.note else ""
    opening = f'<section class="panel" id="{panel.id}" data-panel="{panel.id}" data-kind="{panel.kind}"'
    if not rows:
        why = f" ({escape(result.missing)})" if result.missing else ""
        body = f'<p class="no-data">No data{why}</p>'
    else:
        groups: Groups = None
        if panel.drilldown:
            groups = defaultdict(list)
            for item in query(store, panel.drilldown.sql).rows:
                groups[tuple(item[k] for k in panel.drilldown.keys)].append(item)
        body = table(panel.columns, rows, panel.drilldown, groups)
        if panel.collapse_table:
            body = f"<details><summary>Table ({len(rows)} rows)</summary>{body}</details>"
        if panel.kind != "table":
            body = chart(panel, rows) + body
    return f'{opening} data-points="{len(rows)}"><h3>{escape(panel.title)}</h3>{note}{body}</section>'


def render_page(dashboards: Sequence[Dashboard], sections: Sequence[str], warehouse_name: str) -> str:
    nav = "".join(f'<a href="#{board.id}">{escape(board.title)}</a>' for board in dashboards)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Patronage dashboards</title><style>{STYLE}</style></head><body>"
        f"<header><h1>Patronage dashboards</h1><nav>{nav}</nav>"
        f'<p class="meta">Built {generated} from {escape(warehouse_name)} (marts schema).</p></header>'
        f"<main>{''.join(sections)}</main></body></html>\n"
    )


def build_site(where: WarehouseAt, out_dir: Path) -> Path:
    """Query the marts read-only and write `out_dir/index.html`; returns its path."""
    sections = []
    with warehouse.open_warehouse(where, read_only=True) as store:
        for board in DASHBOARDS:
            panels = "".join(render_panel(store, panel) for panel in board.panels)
            sections.append(f'<h2 id="{board.id}">{escape(board.title)}</h2>{panels}')
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / "index.html"
    partial = out_dir / "index.html.partial"
    partial.write_text(render_page(DASHBOARDS, sections, warehouse.name(where)), encoding="utf-8")
    partial.replace(index)  # a reader never sees a half-written page
    return index


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.build", description=__doc__)
    parser.add_argument("--warehouse", required=True, help="a DuckDB file or a postgresql:// URL")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    if not warehouse.exists(args.warehouse):
        parser.error(f"no warehouse at {args.warehouse}: run `patronage pipeline run` first")
    index = build_site(args.warehouse, args.out)
    print(f"dashboards written to {index}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
