"""The dashboards as data: each panel is a query against the marts, a chart kind and the columns it shows.

Panels read only `marts.*` (spec/analytics.md); the pipeline asset derives its upstream models from the SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ChartKind = Literal["line", "bar", "table"]
# `money`: integer minor units shown in major units of the row's `currency` (dashboards/money.py).
Format = Literal["text", "int", "num", "pct", "money"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    format: Format = "text"


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


FUNNEL = Dashboard(
    "funnel",
    "Funnel",
    (
        Panel(
            "funnel_steps",
            "Funnel steps, all days and platforms",
            """
            with steps as (
                select step_index, step_name, sum(users) as users
                from marts.funnel_daily group by step_index, step_name
            )
            select step_index, step_name, users,
                case when step_index = 1 then 1.0
                     else users / nullif(lag(users) over (order by step_index), 0) end as conversion_from_previous,
                users / nullif(first_value(users) over (order by step_index), 0) as conversion_from_start
            from steps order by step_index
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
        ),
        Panel(
            "funnel_dropoff",
            "Drop-off between steps",
            """
            select from_step_index, from_step_name || ' → ' || to_step_name as transition,
                sum(entered) as entered, sum(converted) as converted, sum(dropped) as dropped,
                sum(dropped) / nullif(sum(entered), 0) as dropoff_rate
            from marts.funnel_dropoff_daily
            group by from_step_index, from_step_name, to_step_name order by from_step_index
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
        ),
        Panel(
            "support_amounts",
            "Support amounts by currency",
            """
            select currency, sum(supports) as supports, sum(gross_amount_minor) as gross_amount_minor,
                sum(gross_amount_minor) / sum(supports) as average_support_amount_minor,
                min(kpi_date) as first_day, max(kpi_date) as last_day
            from marts.kpi_support_amount_daily group by currency order by currency
            """,
            "bar",
            (
                _c("currency", "Currency"),
                _c("supports", "Supports", "int"),
                _c("gross_amount_minor", "Gross (minor units)", "int"),
                _c("average_support_amount_minor", "Average (minor units)", "num"),
                _c("first_day", "First day"),
                _c("last_day", "Last day"),
            ),
            x="currency",
            y=("gross_amount_minor",),
            note="Amounts in each currency's minor units; currencies are not converted.",
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
            select status || ' · ' || currency as status_currency, status, currency,
                count(*) as days_and_categories,
                sum(abs(difference_minor)) as absolute_difference_minor,
                sum(abs(fee_difference_minor)) as absolute_fee_difference_minor
            from marts.reconciliation_daily group by status, currency order by status, currency
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
        ),
        Panel(
            "reconciliation_payouts",
            "Payouts: the supports each settles, what was sent, journal against provider",
            """
            select execution_date, currency, payout_id, provider_payout_id, payout_status, supports, settled_minor,
                withheld_minor, amount_minor, journal_payout_minor, provider_payout_minor, status
            from marts.reconciliation_payouts
            order by status in ('matched', 'not_released'), execution_date desc, currency, payout_id limit 500
            """,
            "table",
            (
                _c("execution_date", "Execution"),
                _c("currency", "Currency"),
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
            select level, max_rendition, count(*) as projects
            from marts.bitrate_guardrail_state group by level, max_rendition
            order by case level when 'uncapped' then 0 when 'cap_540p' then 1 else 2 end
            """,
            "bar",
            (_c("level", "Level"), _c("max_rendition", "Max rendition"), _c("projects", "Projects", "int")),
            x="level",
            y=("projects",),
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
            select source, sum(received) as received, sum(accepted) as accepted, sum(duplicates) as duplicates,
                sum(dead_lettered) as dead_lettered, count(*) as runs, max(finished_at) as last_run_finished_at
            from marts.ingestion_audit group by source order by source
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
        ),
        Panel(
            "dead_letter_reasons",
            "Dead letters by reason",
            """
            select reason_code, count(*) as dead_letters, count(*) filter (where replayed_at is null) as not_replayed,
                max(received_at) as last_received_at
            from marts.dead_letter_events group by reason_code order by dead_letters desc, reason_code
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
        ),
    ),
)

DASHBOARDS: tuple[Dashboard, ...] = (FUNNEL, KPIS, RECONCILIATION, GUARDRAIL, INGESTION)


def marts_read() -> frozenset[str]:
    """Every `marts.<table>` a panel or drill-down queries."""
    queries = [panel.sql for board in DASHBOARDS for panel in board.panels]
    queries += [panel.drilldown.sql for board in DASHBOARDS for panel in board.panels if panel.drilldown]
    return frozenset(name for sql in queries for name in re.findall(r"\bmarts\.(\w+)", sql))
