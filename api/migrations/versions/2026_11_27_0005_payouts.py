"""Payouts: one per project, execution date and currency, with the supports they pay out.

Revision ID: 2026_11_27_0005
Revises: 2026_11_27_0004
Created: 2026-11-27 22:00:00

Rollback note: (to be written with the tables)
"""

from __future__ import annotations

revision = "2026_11_27_0005"
down_revision = "2026_11_27_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
