"""Opaque keyset cursors for list routes (`?cursor=&limit=`, default 50, max 200)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime

import msgspec

from api.errors import FieldError, ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Position(msgspec.Struct, array_like=True):
    """Where the previous page ended: the last row's sort time and id."""

    at: datetime
    id: uuid.UUID


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(Position(at, row_id))).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Position | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = msgspec.json.decode(raw, type=Position)
        position.at.astimezone(UTC)
    except (binascii.Error, ValueError, OverflowError, msgspec.DecodeError):
        raise ValidationFailed(
            "The cursor is not one this API issued.", errors=[FieldError(path="$.cursor", message="invalid cursor")]
        ) from None
    return position


def representable_instant(value: datetime, path: str) -> datetime:
    """An instant the database driver can send: its UTC equivalent (what asyncpg computes) must exist."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed(
            "The date-time is out of range.", errors=[FieldError(path=path, message="out of range")]
        ) from None
    return value
