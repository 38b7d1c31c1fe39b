"""Moderation reports, reporter trust and review cases.

Revision ID: 2026_11_27_0007
Revises: 2026_11_27_0006
Created: 2026-11-27 22:20:00

Rollback note: (to be written with the tables)
"""

from __future__ import annotations

revision = "2026_11_27_0007"
down_revision = "2026_11_27_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
