"""Every table's model; importing this module registers them all on `Base.metadata`."""

from api.db.models.base import Base
from api.db.models.disputes import Dispute, DisputeRecoveryAttempt, DisputeSlaBreach
from api.db.models.events import EventLanding
from api.db.models.idempotency import IdempotencyKey
from api.db.models.journal import JournalEntry, JournalLine
from api.db.models.moderation import ModerationReview, ProjectReport, ReporterTrust
from api.db.models.notifications import NotificationDelivery, NotificationEvent, PushDevice, PushReceipt, UserContact
from api.db.models.payments import ProviderEvent
from api.db.models.payouts import PayoutItem, ProjectPayout
from api.db.models.projects import PlaybackCap, Project, ProjectUpdate, RewardTier
from api.db.models.provider_balance import ProviderBalanceTransaction
from api.db.models.ratelimit import RateLimitWindow
from api.db.models.reconciliation import ReconciliationCheck, ReconciliationResult
from api.db.models.supports import Support, SupportStatusHistory
from api.db.models.uploads import Upload, UploadStateHistory

__all__ = [
    "Base",
    "Dispute",
    "DisputeRecoveryAttempt",
    "DisputeSlaBreach",
    "EventLanding",
    "IdempotencyKey",
    "JournalEntry",
    "JournalLine",
    "ModerationReview",
    "NotificationDelivery",
    "NotificationEvent",
    "PayoutItem",
    "PlaybackCap",
    "Project",
    "ProjectPayout",
    "ProjectReport",
    "ProjectUpdate",
    "ProviderBalanceTransaction",
    "ProviderEvent",
    "PushDevice",
    "PushReceipt",
    "RateLimitWindow",
    "ReconciliationCheck",
    "ReconciliationResult",
    "ReporterTrust",
    "RewardTier",
    "Support",
    "SupportStatusHistory",
    "Upload",
    "UploadStateHistory",
    "UserContact",
]
