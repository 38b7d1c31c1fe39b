"""A request in flight holds its Idempotency-Key with an advisory lock, not a row: `idempotency_keys` keeps only
stored answers (issue 18: a claim row cut off by a database restart blocked its retries for its 60 s lease).

Revision ID: 2026_12_07_0012
Revises: 2026_12_06_0011
Created: 2026-12-07 12:00:00

Rollback note: `downgrade` restores `state` and `locked_until` with every stored answer `done`. Claims of
requests running during the upgrade are dropped: such a request still commits its answer (its row is written
at the end), and a retry meanwhile may run the work a second time, as after a lease ran out before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_12_07_0012"
down_revision = "2026_12_06_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("delete from idempotency_keys where state = 'in_flight'")
    op.drop_constraint(op.f("ck_idempotency_keys_state"), "idempotency_keys", type_="check")
    op.drop_column("idempotency_keys", "state")
    op.drop_column("idempotency_keys", "locked_until")
    op.alter_column("idempotency_keys", "response_status", nullable=False)
    op.alter_column("idempotency_keys", "response_body", nullable=False)


def downgrade() -> None:
    op.alter_column("idempotency_keys", "response_body", nullable=True)
    op.alter_column("idempotency_keys", "response_status", nullable=True)
    op.add_column(
        "idempotency_keys",
        sa.Column("locked_until", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.add_column(
        "idempotency_keys", sa.Column("state", sa.String(16), server_default=sa.text("'done'"), nullable=False)
    )
    op.create_check_constraint(op.f("ck_idempotency_keys_state"), "idempotency_keys", "state in ('in_flight', 'done')")
