"""The provider's fees: Stripe's balance transactions as Patronage saw them, and the journal's `provider_fee`
account and entry type that book each transaction's fee against `provider_balance`.

Revision ID: 2026_12_06_0011
Revises: 2026_12_06_0010
Created: 2026-12-06 12:00:00

Rollback note: `downgrade` drops `provider_balance_transactions` (the worker lists them from Stripe again after
an upgrade) and `journal_entries.provider_transaction_id`, and narrows the journal's entry types and accounts
back. It refuses to run once any `provider_fee` entry is booked: journal entries are immutable, so a journal
with fees cannot go back to a chart without them (restore a backup taken before the upgrade instead).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "2026_12_06_0011"
down_revision = "2026_12_06_0010"
branch_labels = None
depends_on = None

ENTRY_TYPES = ("support_hold", "payout_release", "refund", "dispute_open", "dispute_close", "loss_booking")
ACCOUNTS = ("provider_balance", "creator_payable", "disputed_funds", "dispute_loss_expense")


def _within(column: str, values: tuple[str, ...]) -> str:
    return "{} in ({})".format(column, ", ".join(f"'{v}'" for v in values))


def _replace_checks(entry_types: tuple[str, ...], accounts: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_journal_entries_entry_type"), "journal_entries", type_="check")
    op.create_check_constraint(
        op.f("ck_journal_entries_entry_type"), "journal_entries", _within("entry_type", entry_types)
    )
    op.drop_constraint(op.f("ck_journal_lines_account_code"), "journal_lines", type_="check")
    op.create_check_constraint(
        op.f("ck_journal_lines_account_code"), "journal_lines", _within("account_code", accounts)
    )


def upgrade() -> None:
    op.create_table(
        "provider_balance_transactions",
        sa.Column("transaction_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("reporting_category", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.String(length=255), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_details", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_provider_balance_transactions_currency")),
        sa.CheckConstraint(
            "net_minor = amount_minor - fee_minor",
            name=op.f("ck_provider_balance_transactions_net_is_amount_less_fee"),
        ),
        sa.PrimaryKeyConstraint("transaction_id", name=op.f("pk_provider_balance_transactions")),
    )
    op.create_index(
        op.f("ix_provider_balance_transactions_created"), "provider_balance_transactions", ["created"], unique=False
    )
    op.create_index(
        op.f("ix_provider_balance_transactions_source_id"),
        "provider_balance_transactions",
        ["source_id"],
        unique=False,
    )
    # Nullable, no default: adding it rewrites no row, so the immutability triggers are not involved.
    op.add_column("journal_entries", sa.Column("provider_transaction_id", sa.String(length=255), nullable=True))
    _replace_checks((*ENTRY_TYPES, "provider_fee"), (*ACCOUNTS, "provider_fee"))


def downgrade() -> None:
    booked = op.get_bind().scalar(sa.text("select count(*) from journal_entries where entry_type = 'provider_fee'"))
    if booked:
        raise RuntimeError(
            f"{booked} provider_fee journal entries are booked and journal entries are immutable: "
            "this database cannot go back before 2026_12_06_0011 (restore a backup taken before the upgrade)"
        )
    _replace_checks(ENTRY_TYPES, ACCOUNTS)
    op.drop_column("journal_entries", "provider_transaction_id")
    op.drop_index(op.f("ix_provider_balance_transactions_source_id"), table_name="provider_balance_transactions")
    op.drop_index(op.f("ix_provider_balance_transactions_created"), table_name="provider_balance_transactions")
    op.drop_table("provider_balance_transactions")
