"""Response shapes of uploads (tus requests carry their data in headers, so there are no request bodies)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from api.uploads.machine import State


class UploadRead(msgspec.Struct):
    """The JSON status of an upload (`GET /v1/uploads/{upload_id}`, `complete`, `retry`)."""

    upload_id: uuid.UUID
    state: State
    offset: int
    size: int
    sha256: str
    failure_reason: str | None
    retryable: bool
    expires_at: datetime | None
    project_id: uuid.UUID | None
    filename: str
    content_type: str
    media: dict[str, Any] | None
    deduplicated_from: uuid.UUID | None


class UploadCreated(UploadRead):
    """The tus creation answer's body; `deduplicated`: an existing ready upload of the same bytes was answered."""

    deduplicated: bool = False
