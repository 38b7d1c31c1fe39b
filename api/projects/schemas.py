"""Request and response shapes of projects, tiers, updates and the feed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$", examples=["USD"])]
AmountMinor = Annotated[int, msgspec.Meta(ge=1, le=99_999_999)]
GoalMinor = Annotated[int, msgspec.Meta(ge=1, le=99_999_999_999)]
RewardType = Literal["physical", "digital"]
Rendition = Literal["1080p", "720p", "540p", "360p"]


class RewardTierCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    amount_minor: AmountMinor
    reward_type: RewardType
    tier_id: uuid.UUID | None = None


class ProjectCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    description: Annotated[str, msgspec.Meta(max_length=10_000)]
    currency: Currency
    goal_minor: GoalMinor
    reward_tiers: Annotated[list[RewardTierCreate], msgspec.Meta(min_length=1, max_length=50)]
    video_upload_id: uuid.UUID | None = None


class ProjectUpdateCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]


class RewardTierRead(msgspec.Struct):
    tier_id: uuid.UUID
    title: str
    amount_minor: int
    reward_type: RewardType


class Playback(msgspec.Struct):
    max_rendition: Rendition


class ProjectRead(msgspec.Struct):
    project_id: uuid.UUID
    creator_id: uuid.UUID
    title: str
    description: str
    currency: str
    goal_minor: int
    status: Literal["live", "paused", "ended"]
    reward_tiers: list[RewardTierRead]
    playback: Playback
    video_upload_id: uuid.UUID | None
    created_at: datetime


class FeedPage(msgspec.Struct):
    items: list[ProjectRead]
    next_cursor: str | None


class ProjectUpdateRead(msgspec.Struct):
    update_id: uuid.UUID
    project_id: uuid.UUID
    title: str
    body: str
    created_at: datetime
