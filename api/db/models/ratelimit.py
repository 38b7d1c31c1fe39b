"""Per-client request counts in one-minute windows (shared by every API process)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models.base import Base


class RateLimitWindow(Base):
    __tablename__ = "rate_limit_windows"

    client_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
