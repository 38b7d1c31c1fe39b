"""The upload state machine: which state may follow which, and what a retry resumes.

    created ──► uploading ──► processing ──► ready
       │            │              │
       └────────────┴──────────────┴──► failed ──(retry)──► processing | uploading | created

Retry exists for two failures only, both `retryable`: `processing_timeout` (every byte is stored,
so processing restarts) and `expired` (the bytes received so far are kept, so the upload resumes
from its offset: `uploading`, or `created` when nothing had arrived). Every other failure
(`checksum_mismatch`, `size_mismatch`, `storage_missing`, `terminated`) deleted the bytes: start anew.
"""

from __future__ import annotations

from typing import Literal, get_args

State = Literal["created", "uploading", "processing", "ready", "failed"]
STATES: tuple[State, ...] = get_args(State)

FailureReason = Literal[
    "expired", "processing_timeout", "checksum_mismatch", "size_mismatch", "storage_missing", "terminated"
]
RETRYABLE: frozenset[FailureReason] = frozenset({"expired", "processing_timeout"})

# States that still accept bytes (PATCH) and can expire for lack of them.
RECEIVING: frozenset[State] = frozenset({"created", "uploading"})

TRANSITIONS: frozenset[tuple[State, State]] = frozenset(
    {
        ("created", "uploading"),
        ("uploading", "processing"),
        ("processing", "ready"),
        ("created", "failed"),
        ("uploading", "failed"),
        ("processing", "failed"),
        # retries (see the module docstring)
        ("failed", "processing"),
        ("failed", "uploading"),
        ("failed", "created"),
    }
)


def allowed(from_state: State, to_state: State) -> bool:
    return (from_state, to_state) in TRANSITIONS


def retry_target(reason: str | None, offset: int) -> State | None:
    """Where a retry of a failed upload goes, or None when it cannot be retried."""
    if reason == "processing_timeout":
        return "processing"
    if reason == "expired":
        return "uploading" if offset > 0 else "created"
    return None
