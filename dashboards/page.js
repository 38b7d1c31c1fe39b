// The dashboards page: keeps the embedded rows the filters allow, re-aggregates grouped panels, then draws each
// panel's Vega-Lite chart (vega-embed), table and CSV from those same rows. Values reach the page only as text.
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("dashboards-data").textContent);
  const panels = Object.entries(data.panels).filter(([, panel]) => panel.rows.length);
  const form = document.getElementById("filters");
  const views = {}; // panel id -> Vega view
  const shown = {}; // panel id -> the rows the panel shows now
  const FILTER_NAMES = { date: "date range", platform: "platform", currency: "currency", project_id: "project" };

  // dashboards/money.py's rules: the currency's exponent, then exact digits (the page's integers are exact).
  const zero = new Set(data.exponents.zero);
  const three = new Set(data.exponents.three);
  const exponent = (currency) => (zero.has(currency.toUpperCase()) ? 0 : three.has(currency.toUpperCase()) ? 3 : 2);
  function majorUnits(minor, currency) {
    if (minor == null || !currency) return null;
    const places = exponent(currency);
    const amount = Math.round(minor); // averages: to the minor unit
    const digits = String(Math.abs(amount)).padStart(places + 1, "0");
    const fraction = places ? "." + digits.slice(digits.length - places) : "";
    return (amount < 0 ? "-" : "") + digits.slice(0, digits.length - places) + fraction;
  }

  const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const decimal = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  function display(value, format, row) {
    if (format === "money") {
      const major = majorUnits(value, row.currency);
      return major == null ? "—" : `${major} ${row.currency}`;
    }
    if (value == null) return "—";
    if (typeof value === "number" && format === "int") return integer.format(value);
    if (typeof value === "number" && format === "num") return decimal.format(value);
    if (typeof value === "number" && format === "pct") return (value * 100).toFixed(1) + "%";
    return String(value);
  }

  // A row is kept when its day is in the range (rows without a day always are) and it has each chosen value.
  function keeps(panel, chosen) {
    return (row) => {
      const day = panel.date && row[panel.date] != null ? String(row[panel.date]).slice(0, 10) : null;
      if (day && ((chosen.from && day < chosen.from) || (chosen.to && day > chosen.to))) return false;
      return panel.filters.every((key) => key === "date" || !chosen[key] || String(row[key]) === chosen[key]);
    };
  }

  // Groups keep the order of their first row; measures, then ratios (see dashboards/definitions.py).
  function aggregate(panel, rows) {
    if (!panel.group_by.length) return rows;
    const groups = new Map();
    for (const row of rows) {
      const id = JSON.stringify(panel.group_by.map((key) => row[key]));
      if (!groups.has(id)) {
        const group = Object.fromEntries(panel.group_by.map((key) => [key, row[key]]));
        for (const m of panel.measures) group[m.key] = m.op === "sum" || m.op === "count" ? 0 : null;
        groups.set(id, group);
      }
      const group = groups.get(id);
      for (const m of panel.measures) {
        const value = m.op === "count" ? 1 : row[m.of];
        if (value == null) continue;
        const now = group[m.key];
        if (m.op === "sum" || m.op === "count") group[m.key] = now + value;
        else if (now == null || (m.op === "min" ? value < now : value > now)) group[m.key] = value;
      }
    }
    const result = [...groups.values()];
    result.forEach((row, i) => {
      for (const r of panel.ratios) {
        const base = r.against === "first" ? result[0] : r.against === "previous" ? result[Math.max(i - 1, 0)] : row;
        row[r.key] = base[r.denominator] ? row[r.numerator] / base[r.denominator] : null;
      }
    });
    return result;
  }

  // The long-format rows of dashboards/charts.py: one per x and series, money in major units.
  function chartRows(panel, rows) {
    const out = [];
    for (const row of rows) {
      for (const s of panel.series) {
        const value = row[s.key];
        if (value == null || (s.format === "money" && !row.currency)) continue;
        const number = s.format === "money" ? value / 10 ** exponent(row.currency) : value;
        const text = display(value, s.format, row);
        out.push({ x: row[panel.x], label: display(row[panel.x], "text", row), key: s.key, series: s.label, value: number, text });
      }
    }
    return out;
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function table(columns, rows, drilldown) {
    const node = element("table");
    const head = node.createTHead().insertRow();
    for (const column of columns) head.append(element("th", column.label));
    if (drilldown) head.append(element("th", drilldown.label[0].toUpperCase() + drilldown.label.slice(1)));
    const body = node.createTBody();
    for (const row of rows) {
      const line = body.insertRow();
      line.className = "row";
      for (const c of columns) {
        const kind = c.format !== "text" ? "n" : c.key === "status" ? `status-${row.status}` : "";
        line.append(element("td", display(row[c.key], c.format, row), kind));
      }
      if (drilldown) line.append(drill(drilldown, row));
    }
    return node;
  }

  function drill(drilldown, row) {
    const found = drilldown.index.get(JSON.stringify(drilldown.keys.map((key) => row[key]))) || [];
    const cell = element("td", found.length ? "" : "—");
    if (found.length) {
      const details = element("details");
      details.dataset.drilldown = found.length;
      details.append(element("summary", `${drilldown.label} (${found.length})`), table(drilldown.columns, found));
      cell.append(details);
    }
    return cell;
  }

  // Each column once, raw values (money in minor units beside its currency); text that a spreadsheet would run as a
  // formula gets a leading apostrophe.
  function csv(panel, rows) {
    const keys = [...new Set(panel.columns.map((column) => column.key))];
    const field = (value) => {
      let text = value == null ? "" : String(value);
      if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = "'" + text;
      return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
    };
    const lines = [keys, ...rows.map((row) => keys.map((key) => row[key]))];
    return lines.map((line) => line.map(field).join(",")).join("\r\n") + "\r\n";
  }

  function download(id) {
    const url = URL.createObjectURL(new Blob([csv(data.panels[id], shown[id])], { type: "text/csv" }));
    const link = Object.assign(document.createElement("a"), { href: url, download: `${id}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  function render() {
    const chosen = Object.fromEntries(new FormData(form));
    const updates = [];
    for (const [id, panel] of panels) {
      const section = document.getElementById(id);
      const rows = aggregate(panel, panel.rows.filter(keeps(panel, chosen)));
      shown[id] = rows;
      section.dataset.points = rows.length;
      section.querySelector(".no-match").hidden = rows.length > 0;
      let body = table(panel.columns, rows, panel.drilldown);
      if (panel.collapse_table) {
        const folded = element("details");
        folded.append(element("summary", `Table (${rows.length} rows)`), body);
        body = folded;
      }
      section.querySelector(".rows").replaceChildren(body);
      if (views[id]) updates.push(views[id].data("rows", chartRows(panel, rows)).runAsync());
    }
    window.dashboards.updated = Promise.all(updates).then(() => true);
  }

  for (const [id, panel] of panels) {
    const section = document.getElementById(id);
    const applied = panel.filters.map((key) => FILTER_NAMES[key]);
    section.querySelector(".applied").textContent = applied.length
      ? `Filtered by ${applied.join(", ")}.`
      : "No page filter applies to this panel.";
    section.querySelector("button.csv").addEventListener("click", () => download(id));
    if (panel.drilldown) {
      panel.drilldown.index = new Map();
      for (const row of panel.drilldown.rows) {
        const key = JSON.stringify(panel.drilldown.keys.map((k) => row[k]));
        panel.drilldown.index.set(key, [...(panel.drilldown.index.get(key) || []), row]);
      }
    }
  }
  window.dashboards = { views, shown, majorUnits, updated: Promise.resolve(true) };
  render();
  form.addEventListener("change", render);
  form.addEventListener("reset", () => {
    // The form restores its values after this event: render then; `updated` waits for that render's charts.
    window.dashboards.updated = new Promise((done) =>
      setTimeout(() => {
        render();
        done(window.dashboards.updated);
      }),
    );
  });

  const withRows = (spec, values) => ({ ...spec, data: { name: "rows", values } });
  // `ast`: vega-embed's expression interpreter, so no code is generated at run time (no 'unsafe-eval').
  const options = { actions: false, renderer: "svg", ast: true };
  const charts = panels.filter(([, panel]) => panel.spec);
  window.dashboards.ready = Promise.all(
    charts.map(([id, panel]) =>
      vegaEmbed(document.querySelector(`#${id} .chart`), withRows(panel.spec, chartRows(panel, shown[id])), options).then(
        (result) => (views[id] = result.view),
      ),
    ),
  ).then(() => true);
})();
