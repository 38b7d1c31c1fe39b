"""The dashboards as data: each panel is a query against the marts, a chart kind and the columns it shows.

Panels read only `marts.*` (spec/analytics.md); the pipeline asset derives its upstream models from the SQL. A panel's
query returns rows at the grain the page's filters need (day, platform, currency, project); a panel with `group_by`
is re-aggregated in the browser from the rows the filters keep (`measures`, then `ratios`), so a chart, its table
and its CSV always show the same filtered figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ChartKind = Literal["line", "bar", "table"]
# `money`: integer minor units shown in major units of the row's `currency` (dashboards/money.py).
Format = Literal["text", "int", "num", "pct", "money"]
Aggregate = Literal["sum", "count", "min", "max"]
# The page's choice filters, each applied to every panel whose rows have the column (the date range uses `Panel.date`).
CHOICE_FILTERS = {"platform": "Platform", "currency": "Currency", "project_id": "Project"}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    format: Format = "text"


@dataclass(frozen=True)
class Measure:
    """A grouped row's column: `op` over its group's filtered rows of column `of` (`count` counts the rows)."""

    key: str
    op: Aggregate
    of: str = ""  # the source column when it is not `key`

    @property
    def source(self) -> str:
        return self.of or self.key


@dataclass(frozen=True)
class Ratio:
    """`numerator / denominator` of a grouped row, the denominator taken from the row itself, the previous row (the
    first row is its own previous) or the first row: the funnel's step-to-step and from-start conversions."""

    key: str
    numerator: str
    denominator: str
    against: Literal["row", "previous", "first"] = "row"


@dataclass(frozen=True)
class Drilldown:
    """Rows of another query shown under each panel row whose `keys` they share (a <details> element)."""

    sql: str
    keys: tuple[str, ...]
    columns: tuple[Column, ...]
    label: str


@dataclass(frozen=True)
class Panel:
    id: str
    title: str
    sql: str
    kind: ChartKind
    columns: tuple[Column, ...]
    x: str = ""  # the category (bar) or day (line) column of a chart
    y: tuple[str, ...] = ()  # one series per column
    note: str = ""
    drilldown: Drilldown | None = None
    collapse_table: bool = False  # long tables under a chart start folded
    date: str = ""  # the day (or timestamp, by its UTC day) the date range filters; none for current-state panels
    group_by: tuple[str, ...] = ()  # groups keep the order of their first row in the query's order
    measures: tuple[Measure, ...] = ()
    ratios: tuple[Ratio, ...] = ()


@dataclass(frozen=True)
class Dashboard:
    id: str
    title: str
    panels: tuple[Panel, ...]


def _c(key: str, label: str, fmt: Format = "text") -> Column:
    return Column(key, label, fmt)


def _money(key: str, label: str) -> tuple[Column, Column]:
    """An amount as two columns: exact minor units, then major units of the row's currency beside them."""
    return Column(key, f"{label} (minor units)", "int"), Column(key, label, "money")


def _sums(*keys: str) -> tuple[Measure, ...]:
    return tuple(Measure(key, "sum") for key in keys)


FUNNEL = Dashboard(
    "funnel",
    "Funnel",
    (
        Panel(
            "funnel_steps",
            "Funnel steps, all days and platforms",
            """
            select event_date, platform, step_index, step_name, users
            from marts.funnel_daily order by step_index, event_date, platform
            """,
            "bar",
            (
                _c("step_index", "#"),
                _c("step_name", "Step"),
                _c("users", "Users (entries)", "int"),
                _c("conversion_from_previous", "From previous", "pct"),
                _c("conversion_from_start", "From start", "pct"),
            ),
            x="step_name",
            y=("users",),
            note="Distinct actors per entry day and platform, summed over the days (marts.funnel_daily).",
            date="event_date",
            group_by=("step_index", "step_name"),
            measures=_sums("users"),
            ratios=(
                Ratio("conversion_from_previous", "users", "users", "previous"),
                Ratio("conversion_from_start", "users", "users", "first"),
            ),
        ),
        Panel(
            "funnel_dropoff",
            "Drop-off between steps",
            """
            select event_date, platform, from_step_index, from_step_name || ' → ' || to_step_name as transition,
                entered, converted, dropped
            from marts.funnel_dropoff_daily order by from_step_index, event_date, platform
            """,
            "bar",
            (
                _c("transition", "Transition"),
                _c("entered", "Entered", "int"),
                _c("converted", "Converted", "int"),
                _c("dropped", "Dropped", "int"),
                _c("dropoff_rate", "Drop-off rate", "pct"),
            ),
            x="transition",
            y=("converted", "dropped"),
            date="event_date",
            group_by=("from_step_index", "transition"),
            measures=_sums("entered", "converted", "dropped"),
            ratios=(Ratio("dropoff_rate", "dropped", "entered"),),
        ),
    ),
)

KPIS = Dashboard(
    "kpis",
    "KPIs",
    (
        Panel(
            "kpi_daily",
            "Daily viewers, supporters and supports",
            """
            select kpi_date, viewers, supporters, supports, support_conversion_rate,
                repeat_supporters, repeat_support_rate
            from marts.kpi_daily order by kpi_date
            """,
            "line",
            (
                _c("kpi_date", "Day"),
                _c("viewers", "Viewers", "int"),
                _c("supporters", "Supporters", "int"),
                _c("supports", "Supports", "int"),
                _c("support_conversion_rate", "Conversion", "pct"),
                _c("repeat_supporters", "Repeat supporters", "int"),
                _c("repeat_support_rate", "Repeat rate", "pct"),
            ),
            x="kpi_date",
            y=("viewers", "supporters", "supports"),
            note="Every calendar day from the first to the last event day, empty days included.",
            collapse_table=True,
            date="kpi_date",
        ),
        Panel(
            "support_amounts",
            "Support amounts by currency",
            """
            select kpi_date, currency, supports, gross_amount_minor
            from marts.kpi_support_amount_daily order by currency, kpi_date
            """,
            "bar",
            (
                _c("currency", "Currency"),
                _c("supports", "Supports", "int"),
                *_money("gross_amount_minor", "Gross"),
                _c("average_support_amount_minor", "Average", "money"),
                _c("first_day", "First day"),
                _c("last_day", "Last day"),
            ),
            x="currency",
            y=("gross_amount_minor",),
            note="Each currency in its own major units (averages rounded to the minor unit); currencies are not "
            "converted.",
            date="kpi_date",
            group_by=("currency",),
            measures=(
                *_sums("supports", "gross_amount_minor"),
                Measure("first_day", "min", "kpi_date"),
                Measure("last_day", "max", "kpi_date"),
            ),
            ratios=(Ratio("average_support_amount_minor", "gross_amount_minor", "supports"),),
        ),
    ),
)

RECONCILIATION = Dashboard(
    "reconciliation",
    "Reconciliation",
    (
        Panel(
            "reconciliation_status",
            "Reconciliation rows by status and currency",
            """
            select recon_date, status || ' · ' || currency as status_currency, status, currency,
                abs(difference_minor) as absolute_difference_minor,
                abs(fee_difference_minor) as absolute_fee_difference_minor
            from marts.reconciliation_daily order by status, currency, recon_date, category
            """,
            "bar",
            (
                _c("status", "Status"),
                _c("currency", "Currency"),
                _c("days_and_categories", "Rows (day, category)", "int"),
                *_money("absolute_difference_minor", "Σ |gross difference|"),
                *_money("absolute_fee_difference_minor", "Σ |fee difference|"),
            ),
            x="status_currency",
            y=("days_and_categories",),
            note="Amounts per currency, never added across currencies.",
            date="recon_date",
            group_by=("status_currency", "status", "currency"),
            measures=(
                Measure("days_and_categories", "count"),
                *_sums("absolute_difference_minor", "absolute_fee_difference_minor"),
            ),
        ),
        Panel(
            "reconciliation_daily",
            "Journal against provider, by day, currency and category: gross, fee, net",
            """
            select recon_date, currency, category, journal_minor, provider_minor, difference_minor,
                journal_fee_minor, provider_fee_minor, net_difference_minor, status
            from marts.reconciliation_daily
            order by status = 'matched', recon_date desc, currency, category limit 500
            """,
            "table",
            (
                _c("recon_date", "Day"),
                _c("currency", "Currency"),
                _c("category", "Category"),
                *_money("journal_minor", "Journal gross"),
                *_money("provider_minor", "Provider gross"),
                *_money("difference_minor", "Gross difference"),
                *_money("journal_fee_minor", "Journal fee"),
                *_money("provider_fee_minor", "Provider fee"),
                *_money("net_difference_minor", "Net difference"),
                _c("status", "Status"),
            ),
            note="Unmatched rows first; open a row's exceptions to see the objects behind the difference.",
            date="recon_date",
            drilldown=Drilldown(
                """
                select recon_date, currency, category, exception_type, provider_transaction_id,
                    journal_entry_id, provider_object_id, amount_minor, fee_minor, journal_fee_minor
                from marts.reconciliation_exceptions
                order by exception_type, provider_object_id, provider_transaction_id, journal_entry_id
                """,
                ("recon_date", "currency", "category"),
                (
                    _c("exception_type", "Exception"),
                    _c("provider_transaction_id", "Provider transaction"),
                    _c("journal_entry_id", "Journal entry"),
                    _c("provider_object_id", "Provider object"),
                    *_money("amount_minor", "Amount"),
                    *_money("fee_minor", "Fee"),
                    *_money("journal_fee_minor", "Fee booked"),
                ),
                "exceptions",
            ),
        ),
        Panel(
            "reconciliation_rollforward",
            "Provider balance roll-forward, journal against provider (latest first)",
            """
            select balance_date, currency, journal_opening_minor, journal_fee_minor, journal_closing_minor,
                provider_opening_minor, provider_fee_minor, provider_closing_minor, closing_difference_minor, status
            from marts.reconciliation_balance_rollforward
            order by status = 'matched', balance_date desc, currency limit 500
            """,
            "table",
            (
                _c("balance_date", "Day"),
                _c("currency", "Currency"),
                *_money("journal_opening_minor", "Journal opening"),
                *_money("journal_fee_minor", "Journal fees"),
                *_money("journal_closing_minor", "Journal closing"),
                *_money("provider_opening_minor", "Provider opening"),
                *_money("provider_fee_minor", "Provider fees"),
                *_money("provider_closing_minor", "Provider closing"),
                *_money("closing_difference_minor", "Closing difference"),
                _c("status", "Status"),
            ),
            note="Opening + charges + refunds + disputes + reversals + fees + payouts = closing, on each side "
            "(every movement: marts.reconciliation_balance_rollforward, `patronage reconcile`).",
            date="balance_date",
        ),
        Panel(
            "reconciliation_payouts",
            "Payouts: the supports each settles, what was sent, journal against provider",
            """
            select execution_date, currency, project_id, payout_id, provider_payout_id, payout_status, supports,
                settled_minor,
                withheld_minor, amount_minor, journal_payout_minor, provider_payout_minor, status
            from marts.reconciliation_payouts
            order by status in ('matched', 'not_released'), execution_date desc, currency, payout_id limit 500
            """,
            "table",
            (
                _c("execution_date", "Execution"),
                _c("currency", "Currency"),
                _c("project_id", "Project"),
                _c("payout_id", "Payout"),
                _c("provider_payout_id", "Provider payout"),
                _c("payout_status", "Payout status"),
                _c("supports", "Supports", "int"),
                *_money("settled_minor", "Settled"),
                *_money("withheld_minor", "Withheld"),
                *_money("amount_minor", "Sent"),
                *_money("journal_payout_minor", "Journal"),
                *_money("provider_payout_minor", "Provider"),
                _c("status", "Status"),
            ),
            note="Open a payout to see the supports it settles.",
            date="execution_date",
            drilldown=Drilldown(
                """
                select payout_id, support_id, charge_id, charged_minor, refunded_minor, disputed_minor, settled_minor,
                    provider_fee_minor, currency
                from marts.reconciliation_payout_items
                order by payout_id, support_id
                """,
                ("payout_id",),
                (
                    _c("support_id", "Support"),
                    _c("charge_id", "Charge"),
                    *_money("charged_minor", "Charged"),
                    *_money("refunded_minor", "Refunded"),
                    *_money("disputed_minor", "Disputed"),
                    *_money("settled_minor", "Settled"),
                    *_money("provider_fee_minor", "Provider fees"),
                ),
                "supports",
            ),
        ),
    ),
)

GUARDRAIL = Dashboard(
    "guardrail",
    "Bitrate guardrail",
    (
        Panel(
            "guardrail_levels",
            "Projects by current cap",
            """
            select project_id, level, max_rendition from marts.bitrate_guardrail_state
            order by case level when 'uncapped' then 0 when 'cap_540p' then 1 else 2 end, project_id
            """,
            "bar",
            (_c("level", "Level"), _c("max_rendition", "Max rendition"), _c("projects", "Projects", "int")),
            x="level",
            y=("projects",),
            note="Current state: the date range does not apply.",
            group_by=("level", "max_rendition"),
            measures=(Measure("projects", "count"),),
        ),
        Panel(
            "guardrail_caps",
            "Capped projects",
            """
            select project_id, level, max_rendition, since, recovery_window_ends
            from marts.bitrate_guardrail_state where level <> 'uncapped'
            order by level desc, since, project_id limit 500
            """,
            "table",
            (
                _c("project_id", "Project"),
                _c("level", "Level"),
                _c("max_rendition", "Max rendition"),
                _c("since", "Since"),
                _c("recovery_window_ends", "Recovery window ends"),
            ),
            note="Current state: the date range does not apply.",
        ),
        Panel(
            "guardrail_actions",
            "Guardrail actions (latest first)",
            """
            select decided_on, project_id, action, effective_from, recovery_window_ends, viewers, supporters,
                conversion_rate, delivered_gb, est_monthly_savings_gb, rule_version
            from marts.bitrate_guardrail_actions order by decided_on desc, project_id limit 500
            """,
            "table",
            (
                _c("decided_on", "Decided on"),
                _c("project_id", "Project"),
                _c("action", "Action"),
                _c("effective_from", "Effective from"),
                _c("recovery_window_ends", "Recovery window ends"),
                _c("viewers", "Viewers (7 d)", "int"),
                _c("supporters", "Supporters (7 d)", "int"),
                _c("conversion_rate", "Conversion", "pct"),
                _c("delivered_gb", "Delivered GB", "num"),
                _c("est_monthly_savings_gb", "Est. monthly savings GB", "num"),
                _c("rule_version", "Rule"),
            ),
            date="decided_on",
        ),
    ),
)

INGESTION = Dashboard(
    "ingestion",
    "Ingestion",
    (
        Panel(
            "ingestion_audit",
            "Events received per source",
            """
            select source, finished_at, received, accepted, duplicates, dead_lettered
            from marts.ingestion_audit order by source, finished_at
            """,
            "bar",
            (
                _c("source", "Source"),
                _c("runs", "Runs", "int"),
                _c("received", "Received", "int"),
                _c("accepted", "Accepted", "int"),
                _c("duplicates", "Duplicates", "int"),
                _c("dead_lettered", "Dead-lettered", "int"),
                _c("last_run_finished_at", "Last run finished"),
            ),
            x="source",
            y=("accepted", "duplicates", "dead_lettered"),
            date="finished_at",
            group_by=("source",),
            measures=(
                *_sums("received", "accepted", "duplicates", "dead_lettered"),
                Measure("runs", "count"),
                Measure("last_run_finished_at", "max", "finished_at"),
            ),
        ),
        Panel(
            "dead_letter_reasons",
            "Dead letters by reason",
            """
            select reason_code, received_on, dead_letters, not_replayed, last_received_at
            from (
                select *, sum(dead_letters) over (partition by reason_code) as reason_total
                from (
                    -- every warehouse session is in UTC (stores/warehouse): the cast is the UTC day
                    select reason_code, cast(received_at as date) as received_on, count(*) as dead_letters,
                        sum(case when replayed_at is null then 1 else 0 end) as not_replayed,
                        max(received_at) as last_received_at
                    from marts.dead_letter_events group by reason_code, cast(received_at as date)
                ) as daily
            ) as with_totals
            order by reason_total desc, reason_code, received_on
            """,
            "bar",
            (
                _c("reason_code", "Reason"),
                _c("dead_letters", "Dead letters", "int"),
                _c("not_replayed", "Not replayed", "int"),
                _c("last_received_at", "Last received"),
            ),
            x="reason_code",
            y=("dead_letters", "not_replayed"),
            note="Reasons by their number of dead letters over all days.",
            date="received_on",
            group_by=("reason_code",),
            measures=(*_sums("dead_letters", "not_replayed"), Measure("last_received_at", "max", "last_received_at")),
        ),
    ),
)

DASHBOARDS: tuple[Dashboard, ...] = (FUNNEL, KPIS, RECONCILIATION, GUARDRAIL, INGESTION)


def marts_read() -> frozenset[str]:
    """Every `marts.<table>` a panel or drill-down queries."""
    queries = [panel.sql for board in DASHBOARDS for panel in board.panels]
    queries += [panel.drilldown.sql for board in DASHBOARDS for panel in board.panels if panel.drilldown]
    return frozenset(name for sql in queries for name in re.findall(r"\bmarts\.(\w+)", sql))
