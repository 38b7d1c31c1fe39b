"""Projects, their reward tiers, campaign updates and the playback caps written back by the pipeline."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db.models.base import Base, created_at_column

RENDITIONS = ("1080p", "720p", "540p", "360p")


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("status in ('live', 'paused', 'ended')", name="status"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        CheckConstraint("goal_minor > 0", name="goal_positive"),
        Index("ix_projects_feed", "status", "created_at", "project_id"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    creator_id: Mapped[uuid.UUID] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    goal_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), server_default="live")
    video_upload_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = created_at_column()

    tiers: Mapped[list[RewardTier]] = relationship(
        back_populates="project", order_by="RewardTier.position", lazy="selectin"
    )


class RewardTier(Base):
    __tablename__ = "reward_tiers"
    __table_args__ = (
        CheckConstraint("reward_type in ('physical', 'digital')", name="reward_type"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )

    tier_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.project_id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    reward_type: Mapped[str] = mapped_column(String(16))

    project: Mapped[Project] = relationship(back_populates="tiers")


class ProjectUpdate(Base):
    __tablename__ = "project_updates"

    update_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.project_id"), index=True)
    author_id: Mapped[uuid.UUID]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class PlaybackCap(Base):
    """Current bitrate cap per project, written by the pipeline's reverse-ETL asset."""

    __tablename__ = "playback_caps"
    __table_args__ = (CheckConstraint("max_rendition in ('1080p', '720p', '540p', '360p')", name="max_rendition"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.project_id"), primary_key=True)
    max_rendition: Mapped[str] = mapped_column(String(8))
    level: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime]
    updated_at: Mapped[datetime] = created_at_column()
