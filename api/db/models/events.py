"""Raw landed events: client batches from POST /v1/events and server events written in business transactions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Identity, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models.base import Base, created_at_column


class EventLanding(Base):
    __tablename__ = "event_landing"
    __table_args__ = (CheckConstraint("source in ('client', 'server')", name="source"),)

    landing_id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    received_at: Mapped[datetime] = created_at_column()
    source: Mapped[str] = mapped_column(String(16))
    raw: Mapped[str] = mapped_column(Text)
