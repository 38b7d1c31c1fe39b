"""Every table's model; importing this module registers them all on `Base.metadata`."""

from api.db.models.base import Base
from api.db.models.idempotency import IdempotencyKey
from api.db.models.projects import PlaybackCap, Project, ProjectUpdate, RewardTier

__all__ = ["Base", "IdempotencyKey", "PlaybackCap", "Project", "ProjectUpdate", "RewardTier"]
