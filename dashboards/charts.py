"""A chart panel as a Vega-Lite spec over the page's long-format rows (one per category or day and series).

The page (dashboards/page.js) feeds each chart the named dataset `rows`: `x` (the category, or the day as
YYYY-MM-DD), `label` (x as shown), `key` and `series` (a y column and its label), `value` (a number; money in major
units) and `text` (the value as shown, e.g. "25.00 EUR"). Series differ by colour and, on lines, by dash and point
shape too, so a series drawn under another of the same values still shows in the legend and the tooltip.
"""

from __future__ import annotations

from typing import Any

from dashboards.definitions import Panel

COLORS = ("#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626")
DASHES = ([1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [1, 3])
SHAPES = ("circle", "square", "triangle-up", "diamond", "cross")
Spec = dict[str, Any]


def series(panel: Panel) -> list[Spec]:
    """Each y column's key, label and format; of an amount's two columns, the money one (major units)."""
    columns = {column.key: column for column in panel.columns}  # the later column of a key wins
    return [{"key": key, "label": columns[key].label, "format": columns[key].format} for key in panel.y]


def spec(panel: Panel) -> Spec:
    labels = {column.key: column.label for column in panel.columns}
    series_labels = [each["label"] for each in series(panel)]
    legend: Spec = {"orient": "top", "title": None}

    def by_series(channel_range: tuple[Any, ...]) -> Spec:
        scale = {"domain": series_labels, "range": list(channel_range[: len(series_labels)])}
        return {"field": "series", "type": "nominal", "sort": series_labels, "scale": scale, "legend": legend}

    x_title = labels.get(panel.x, panel.x)
    value_title = "Value" if len(series_labels) > 1 else series_labels[0]
    tooltip = [
        {"field": "label", "title": x_title},
        {"field": "series", "title": "Series"},
        {"field": "text", "title": "Value"},
    ]
    base: Spec = {
        "width": "container",
        "height": 220,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "data": {"name": "rows"},
        "config": {"view": {"stroke": None}, "axis": {"labelFontSize": 11}},
    }
    y = {"field": "value", "type": "quantitative", "title": value_title}
    if panel.kind == "bar":
        x = {"field": "x", "type": "nominal", "sort": None, "title": x_title, "axis": {"labelAngle": 0}}
        encoding = {"x": x, "xOffset": {"field": "series", "sort": series_labels}, "y": y, "color": by_series(COLORS)}
        return base | {"mark": {"type": "bar"}, "encoding": encoding | {"tooltip": tooltip}}
    day = {"field": "x", "type": "temporal", "timeUnit": "utcyearmonthdate", "title": x_title}
    color = by_series(COLORS)
    lines = {
        "mark": {"type": "line", "strokeWidth": 2},
        "encoding": {"y": y, "color": color, "strokeDash": by_series(DASHES)},
    }
    points = {
        "mark": {"type": "point", "filled": True, "size": 36},
        "encoding": {"y": y, "color": color, "shape": by_series(SHAPES), "tooltip": tooltip},
    }
    # One rule per day on hover, its tooltip listing every series' value on that day.
    hover = {"name": "hover", "select": {"type": "point", "fields": ["x"], "nearest": True, "on": "pointerover"}}
    rule = {
        "transform": [{"pivot": "key", "value": "text", "groupby": ["x", "label"]}],
        "mark": {"type": "rule", "color": "#9ca3af"},
        "params": [hover],
        "encoding": {
            "opacity": {"condition": {"param": "hover", "empty": False, "value": 1}, "value": 0},
            "tooltip": [{"field": "label", "title": x_title}]
            + [{"field": key, "title": labels.get(key, key)} for key in panel.y],
        },
    }
    return base | {"encoding": {"x": day}, "layer": [lines, points, rule]}
