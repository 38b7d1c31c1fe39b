"""Opaque keyset cursors for list routes (`?cursor=&limit=`, default 50, max 200)."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

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


Row = TypeVar("Row")


def trim_page(
    rows: Sequence[Row], limit: int, position: Callable[[Row], tuple[datetime, uuid.UUID]]
) -> tuple[list[Row], str | None]:
    """A page from the `limit + 1` rows a list route fetched: the first `limit`, and the cursor after the last of
    them when more remain (`position`: a row's sort time and id)."""
    page = list(rows[:limit])
    return page, encode_cursor(*position(page[-1])) if len(rows) > limit and page else None


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
