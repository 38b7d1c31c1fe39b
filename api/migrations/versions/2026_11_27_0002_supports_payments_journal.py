"""Supports, status history, the webhook inbox, the journal, disputes, event landing, reconciliation.

Revision ID: 2026_11_27_0002
Revises: 2026_11_27_0001
Created: 2026-11-27 18:49:53.714971

Rollback note: `downgrade` drops these tables and every support, journal entry, stored webhook,
dispute, landed event and reconciliation result in them: money history is lost. Non-destructive
fallback: keep the schema and roll back the code only (the tables are additive); if a table must
go, export it first (`pg_dump -t journal_lines -t journal_entries ...`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "2026_11_27_0002"
down_revision = "2026_11_27_0001"
branch_labels = None
depends_on = None


# The database itself keeps the journal honest: every entry balances per currency at commit, has at
# least two lines, and neither entries nor lines can be changed or deleted afterwards.
JOURNAL_TRIGGERS = (
    """
create function journal_entry_balanced() returns trigger language plpgsql as $$
declare
  unbalanced record;
begin
  select currency, sum(amount_minor) as total into unbalanced
    from journal_lines where entry_id = new.entry_id
   group by currency having sum(amount_minor) <> 0 limit 1;
  if found then
    raise exception 'journal entry % does not balance in %: % minor units', new.entry_id,
      unbalanced.currency, unbalanced.total using errcode = 'check_violation';
  end if;
  return null;
end $$
""",
    """
create constraint trigger journal_lines_balanced after insert on journal_lines
  deferrable initially deferred for each row execute function journal_entry_balanced()
""",
    """
create function journal_entry_has_lines() returns trigger language plpgsql as $$
begin
  if (select count(*) from journal_lines where entry_id = new.entry_id) < 2 then
    raise exception 'journal entry % has fewer than two lines', new.entry_id using errcode = 'check_violation';
  end if;
  return null;
end $$
""",
    """
create constraint trigger journal_entries_have_lines after insert on journal_entries
  deferrable initially deferred for each row execute function journal_entry_has_lines()
""",
    """
create function journal_immutable() returns trigger language plpgsql as $$
begin
  raise exception 'journal % are immutable: post a correcting entry instead', tg_table_name
    using errcode = 'object_not_in_prerequisite_state';
end $$
""",
    """
create trigger journal_entries_immutable before update or delete on journal_entries
  for each row execute function journal_immutable()
""",
    """
create trigger journal_lines_immutable before update or delete on journal_lines
  for each row execute function journal_immutable()
""",
)

DROP_JOURNAL_TRIGGERS = (
    "drop trigger journal_lines_immutable on journal_lines",
    "drop trigger journal_entries_immutable on journal_entries",
    "drop trigger journal_entries_have_lines on journal_entries",
    "drop trigger journal_lines_balanced on journal_lines",
    "drop function journal_immutable()",
    "drop function journal_entry_has_lines()",
    "drop function journal_entry_balanced()",
)


def upgrade() -> None:
    op.create_table(
        "event_landing",
        sa.Column("landing_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.CheckConstraint("source in ('client', 'server')", name=op.f("ck_event_landing_source")),
        sa.PrimaryKeyConstraint("landing_id", name=op.f("pk_event_landing")),
    )
    op.create_table(
        "journal_entries",
        sa.Column("entry_id", sa.UUID(), nullable=False),
        sa.Column("entry_type", sa.String(length=32), nullable=False),
        sa.Column("cause_key", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=True),
        sa.Column("support_id", sa.UUID(), nullable=True),
        sa.Column("payout_id", sa.UUID(), nullable=True),
        sa.Column("dispute_id", sa.UUID(), nullable=True),
        sa.Column("provider_event_id", sa.String(length=255), nullable=True),
        sa.Column("provider_object_id", sa.String(length=255), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "entry_type in ('support_hold', 'payout_release', 'refund', 'dispute_open', 'dispute_close', 'loss_booking')",
            name=op.f("ck_journal_entries_entry_type"),
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint("cause_key", name=op.f("uq_journal_entries_cause_key")),
    )
    op.create_index(op.f("ix_journal_entries_entry_type"), "journal_entries", ["entry_type"], unique=False)
    op.create_index(op.f("ix_journal_entries_occurred_at"), "journal_entries", ["occurred_at"], unique=False)
    op.create_index(op.f("ix_journal_entries_project_id"), "journal_entries", ["project_id"], unique=False)
    op.create_index(
        op.f("ix_journal_entries_provider_object_id"), "journal_entries", ["provider_object_id"], unique=False
    )
    op.create_index(op.f("ix_journal_entries_support_id"), "journal_entries", ["support_id"], unique=False)
    op.create_table(
        "provider_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=255), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raw_payload", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "outcome is null or outcome in ('applied', 'not_applied', 'ignored', 'unmatched', 'flagged')",
            name=op.f("ck_provider_events_outcome"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_events")),
        sa.UniqueConstraint(
            "provider", "provider_event_id", name=op.f("uq_provider_events_provider_provider_event_id")
        ),
    )
    op.create_index(op.f("ix_provider_events_event_type"), "provider_events", ["event_type"], unique=False)
    op.create_table(
        "reconciliation_checks",
        sa.Column("check_id", sa.UUID(), nullable=False),
        sa.Column("requested_by", sa.UUID(), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=False),
        sa.Column("provider_source", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("check_id", name=op.f("pk_reconciliation_checks")),
    )
    op.create_table(
        "journal_lines",
        sa.Column("line_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("entry_id", sa.UUID(), nullable=False),
        sa.Column("account_code", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "account_code in ('provider_balance', 'creator_payable', 'disputed_funds', 'dispute_loss_expense')",
            name=op.f("ck_journal_lines_account_code"),
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_journal_lines_currency")),
        sa.CheckConstraint("amount_minor <> 0", name=op.f("ck_journal_lines_amount_nonzero")),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["journal_entries.entry_id"], name=op.f("fk_journal_lines_entry_id_journal_entries")
        ),
        sa.PrimaryKeyConstraint("line_id", name=op.f("pk_journal_lines")),
    )
    op.create_index(op.f("ix_journal_lines_entry_id"), "journal_lines", ["entry_id"], unique=False)
    op.create_table(
        "reconciliation_results",
        sa.Column("result_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("check_id", sa.UUID(), nullable=False),
        sa.Column("recon_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("journal_minor", sa.BigInteger(), nullable=False),
        sa.Column("provider_minor", sa.BigInteger(), nullable=False),
        sa.Column("difference_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column(
            "provider_transaction_ids", postgresql.ARRAY(sa.String(length=255)), server_default="{}", nullable=False
        ),
        sa.Column("journal_entry_ids", postgresql.ARRAY(sa.String(length=64)), server_default="{}", nullable=False),
        sa.CheckConstraint(
            "category in ('charge', 'refund', 'dispute', 'dispute_reversal', 'payout')",
            name=op.f("ck_reconciliation_results_category"),
        ),
        sa.CheckConstraint(
            "status in ('matched', 'mismatch', 'missing_in_journal', 'missing_in_provider')",
            name=op.f("ck_reconciliation_results_status"),
        ),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["reconciliation_checks.check_id"],
            name=op.f("fk_reconciliation_results_check_id_reconciliation_checks"),
        ),
        sa.PrimaryKeyConstraint("result_id", name=op.f("pk_reconciliation_results")),
    )
    op.create_index(op.f("ix_reconciliation_results_check_id"), "reconciliation_results", ["check_id"], unique=False)
    op.create_table(
        "supports",
        sa.Column("support_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("tier_id", sa.UUID(), nullable=False),
        sa.Column("supporter_id", sa.UUID(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("policy_snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("charge_id", sa.String(length=255), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("succeeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_code", sa.String(length=255), nullable=True),
        sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_supports_currency")),
        sa.CheckConstraint(
            "status in ('prepared', 'pending_payment', 'succeeded', 'failed', 'expired', 'refund_pending', 'refunded', 'disputed', 'charged_back')",
            name=op.f("ck_supports_status"),
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_supports_amount_positive")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.project_id"], name=op.f("fk_supports_project_id_projects")),
        sa.ForeignKeyConstraint(["tier_id"], ["reward_tiers.tier_id"], name=op.f("fk_supports_tier_id_reward_tiers")),
        sa.PrimaryKeyConstraint("support_id", name=op.f("pk_supports")),
        sa.UniqueConstraint("payment_intent_id", name=op.f("uq_supports_payment_intent_id")),
    )
    op.create_index(op.f("ix_supports_charge_id"), "supports", ["charge_id"], unique=False)
    op.create_index(op.f("ix_supports_project_id"), "supports", ["project_id"], unique=False)
    op.create_index(op.f("ix_supports_supporter_id"), "supports", ["supporter_id"], unique=False)
    op.create_table(
        "disputes",
        sa.Column("dispute_id", sa.UUID(), nullable=False),
        sa.Column("provider_dispute_id", sa.String(length=255), nullable=False),
        sa.Column("support_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("evidence_due_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status in ('open', 'won', 'lost')", name=op.f("ck_disputes_status")),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_disputes_amount_positive")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.project_id"], name=op.f("fk_disputes_project_id_projects")),
        sa.ForeignKeyConstraint(["support_id"], ["supports.support_id"], name=op.f("fk_disputes_support_id_supports")),
        sa.PrimaryKeyConstraint("dispute_id", name=op.f("pk_disputes")),
        sa.UniqueConstraint("provider_dispute_id", name=op.f("uq_disputes_provider_dispute_id")),
    )
    op.create_index(op.f("ix_disputes_project_id"), "disputes", ["project_id"], unique=False)
    op.create_index(op.f("ix_disputes_support_id"), "disputes", ["support_id"], unique=False)
    op.create_table(
        "support_status_history",
        sa.Column("history_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("support_id", sa.UUID(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("provider_event_id", sa.String(length=255), nullable=True),
        sa.Column("applied", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("source in ('api', 'webhook', 'system')", name=op.f("ck_support_status_history_source")),
        sa.ForeignKeyConstraint(
            ["support_id"], ["supports.support_id"], name=op.f("fk_support_status_history_support_id_supports")
        ),
        sa.PrimaryKeyConstraint("history_id", name=op.f("pk_support_status_history")),
    )
    op.create_index(
        op.f("ix_support_status_history_support_id"), "support_status_history", ["support_id"], unique=False
    )

    for statement in JOURNAL_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_JOURNAL_TRIGGERS:
        op.execute(statement)
    op.drop_index(op.f("ix_support_status_history_support_id"), table_name="support_status_history")
    op.drop_table("support_status_history")
    op.drop_index(op.f("ix_disputes_support_id"), table_name="disputes")
    op.drop_index(op.f("ix_disputes_project_id"), table_name="disputes")
    op.drop_table("disputes")
    op.drop_index(op.f("ix_supports_supporter_id"), table_name="supports")
    op.drop_index(op.f("ix_supports_project_id"), table_name="supports")
    op.drop_index(op.f("ix_supports_charge_id"), table_name="supports")
    op.drop_table("supports")
    op.drop_index(op.f("ix_reconciliation_results_check_id"), table_name="reconciliation_results")
    op.drop_table("reconciliation_results")
    op.drop_index(op.f("ix_journal_lines_entry_id"), table_name="journal_lines")
    op.drop_table("journal_lines")
    op.drop_table("reconciliation_checks")
    op.drop_index(op.f("ix_provider_events_event_type"), table_name="provider_events")
    op.drop_table("provider_events")
    op.drop_index(op.f("ix_journal_entries_support_id"), table_name="journal_entries")
    op.drop_index(op.f("ix_journal_entries_provider_object_id"), table_name="journal_entries")
    op.drop_index(op.f("ix_journal_entries_project_id"), table_name="journal_entries")
    op.drop_index(op.f("ix_journal_entries_occurred_at"), table_name="journal_entries")
    op.drop_index(op.f("ix_journal_entries_entry_type"), table_name="journal_entries")
    op.drop_table("journal_entries")
    op.drop_table("event_landing")
