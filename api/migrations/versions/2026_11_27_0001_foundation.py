"""Foundation: projects, reward tiers, campaign updates, playback caps, idempotency keys.

Revision ID: 2026_11_27_0001
Revises: (none)
Created: 2026-11-27

Rollback note: `downgrade` drops every table above and the data in them (all projects and stored
idempotent responses). Non-destructive fallback: leave the schema in place and roll the code back
only; these tables are additive and older code ignores them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_11_27_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state in ('in_flight', 'done')", name=op.f("ck_idempotency_keys_state")),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "projects",
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("creator_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("goal_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="live", nullable=False),
        sa.Column("video_upload_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_projects_currency")),
        sa.CheckConstraint("status in ('live', 'paused', 'ended')", name=op.f("ck_projects_status")),
        sa.CheckConstraint("goal_minor > 0", name=op.f("ck_projects_goal_positive")),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_projects")),
    )
    op.create_index(op.f("ix_projects_creator_id"), "projects", ["creator_id"], unique=False)
    op.create_index("ix_projects_feed", "projects", ["status", "created_at", "project_id"], unique=False)
    op.create_table(
        "playback_caps",
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("max_rendition", sa.String(length=8), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "max_rendition in ('1080p', '720p', '540p', '360p')", name=op.f("ck_playback_caps_max_rendition")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.project_id"], name=op.f("fk_playback_caps_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_playback_caps")),
    )
    op.create_table(
        "project_updates",
        sa.Column("update_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("author_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.project_id"], name=op.f("fk_project_updates_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_project_updates")),
    )
    op.create_index(op.f("ix_project_updates_project_id"), "project_updates", ["project_id"], unique=False)
    op.create_table(
        "reward_tiers",
        sa.Column("tier_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reward_type", sa.String(length=16), nullable=False),
        sa.CheckConstraint("reward_type in ('physical', 'digital')", name=op.f("ck_reward_tiers_reward_type")),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_reward_tiers_amount_positive")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.project_id"], name=op.f("fk_reward_tiers_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("tier_id", name=op.f("pk_reward_tiers")),
    )
    op.create_index(op.f("ix_reward_tiers_project_id"), "reward_tiers", ["project_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reward_tiers_project_id"), table_name="reward_tiers")
    op.drop_table("reward_tiers")
    op.drop_index(op.f("ix_project_updates_project_id"), table_name="project_updates")
    op.drop_table("project_updates")
    op.drop_table("playback_caps")
    op.drop_index("ix_projects_feed", table_name="projects")
    op.drop_index(op.f("ix_projects_creator_id"), table_name="projects")
    op.drop_table("projects")
    op.drop_table("idempotency_keys")
