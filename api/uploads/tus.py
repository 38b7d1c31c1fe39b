"""tus 1.0.0 on the wire: protocol constants and parsing of the request headers we accept.

Core + creation, expiration, checksum and termination (https://tus.io/protocols/resumable-upload).
Each parser raises a typed error with a stable code, never a bare ValueError.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import format_datetime

from litestar.openapi.spec import OpenAPIType, Schema

from api.errors import DomainError, FieldError, UnsupportedMediaType
from api.request_headers import AnswerHeader, header

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,expiration,checksum,termination"
CHECKSUM_ALGORITHM = "sha256"
MAX_UPLOAD_BYTES = 10 * 1024**3  # Tus-Max-Size: 10 GiB, enough for a long 4K campaign video
OFFSET_OCTET_STREAM = "application/offset+octet-stream"
PROTOCOL_HEADERS = {"Tus-Resumable": TUS_VERSION}

# The request headers of each tus route, as the OpenAPI document shows them (the parsers below check them).
_TUS_RESUMABLE = header(
    "Tus-Resumable",
    f"The tus version the client speaks: {TUS_VERSION} (412 `tus_version_unsupported` otherwise)",
    required=True,
    schema=Schema(type=OpenAPIType.STRING, enum=[TUS_VERSION]),
)
_BYTES = Schema(type=OpenAPIType.INTEGER, minimum=0, maximum=MAX_UPLOAD_BYTES)
CREATION_HEADERS = [
    _TUS_RESUMABLE,
    header("Upload-Length", "The file's size in bytes (no deferred length)", required=True, schema=_BYTES),
    header(
        "Upload-Metadata",
        "Comma-separated `key base64(value)` pairs: `filename`, `content_type` (video/*) and `sha256` "
        "(the file's SHA-256, 64 hex digits) required, `project_id` optional; other keys are ignored",
        required=True,
    ),
]
STATE_HEADERS = [_TUS_RESUMABLE]
PATCH_HEADERS = [
    _TUS_RESUMABLE,
    header(
        "Upload-Offset",
        "Where this body starts: the offset HEAD answered (409 otherwise)",
        required=True,
        schema=_BYTES,
    ),
    header(
        "Upload-Checksum",
        f"`{CHECKSUM_ALGORITHM} <base64 of the body's digest>`; a mismatch is 460 and nothing is kept",
    ),
]

# The headers each tus route answers with, as the OpenAPI document shows them.
# The route's own answers all say which tus version they speak; a path that names no upload at all (not a
# uuid) is refused by the router before any tus route is chosen, so on errors the header is not promised.
_SPEAKS_ON_ERRORS = AnswerHeader(
    "Tus-Resumable",
    "The tus version the server speaks (on every answer of a tus route)",
    Schema(type=OpenAPIType.STRING, enum=[TUS_VERSION]),
    every=True,
)
_SPEAKS = (_SPEAKS_ON_ERRORS, replace(_SPEAKS_ON_ERRORS, required=True, every=False))  # the later wins
_EXPIRES = AnswerHeader(
    "Upload-Expires",
    "When an unfinished upload's bytes are deleted, as an RFC 9110 HTTP-date; absent once it is complete",
    Schema(type=OpenAPIType.STRING),
)
_OFFSET = AnswerHeader("Upload-Offset", "How many bytes the server has", _BYTES, required=True)
_REFUSED_VERSION = AnswerHeader(  # a tus client that sent another Tus-Resumable learns which to send
    "Tus-Version", "The tus versions supported", Schema(type=OpenAPIType.STRING), required=True, on=(412,)
)
DISCOVERY_ANSWER = [  # discovery is never refused
    *_SPEAKS,
    AnswerHeader("Tus-Version", "The tus versions supported", Schema(type=OpenAPIType.STRING), required=True),
    AnswerHeader("Tus-Extension", "The tus extensions supported", Schema(type=OpenAPIType.STRING), required=True),
    AnswerHeader("Tus-Max-Size", "The largest upload accepted, in bytes", _BYTES, required=True),
    AnswerHeader(
        "Tus-Checksum-Algorithm",
        "The algorithms `Upload-Checksum` may name",
        Schema(type=OpenAPIType.STRING),
        required=True,
    ),
]
CREATION_ANSWER = [
    *_SPEAKS,
    _REFUSED_VERSION,
    AnswerHeader(
        "Location",
        "The new upload's URL (HEAD, PATCH, DELETE and GET it)",
        Schema(type=OpenAPIType.STRING),
        required=True,
    ),
    _EXPIRES,
    AnswerHeader(
        "Upload-Deduplicated",
        "`true` when a ready upload of the same sha256 is answered: nothing to send",
        Schema(type=OpenAPIType.STRING, enum=["true"]),
    ),
    AnswerHeader("Upload-Offset", "With `Upload-Deduplicated`: the whole length, every byte is in", _BYTES),
]
STATE_ANSWER = [
    *_SPEAKS,
    _REFUSED_VERSION,
    _OFFSET,
    AnswerHeader("Upload-Length", "The upload's size in bytes", _BYTES, required=True),
    _EXPIRES,
    AnswerHeader("Cache-Control", "`no-store`: an offset is never cached", Schema(type=OpenAPIType.STRING)),
]
PATCH_ANSWER = [
    *_SPEAKS,
    _REFUSED_VERSION,
    replace(_OFFSET, description="The new offset, after this body"),
    _EXPIRES,
    AnswerHeader(
        "Upload-Offset",
        "With `upload_offset_mismatch`: the offset the server has, to resume from",
        _BYTES,
        on=(409,),
    ),
    AnswerHeader(
        "Tus-Checksum-Algorithm",
        "With `checksum_algorithm_unsupported`: the algorithms `Upload-Checksum` may name",
        Schema(type=OpenAPIType.STRING),
        on=(400,),
    ),
]
TERMINATION_ANSWER = [*_SPEAKS, _REFUSED_VERSION]

_METADATA_KEY = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an RFC 9110 token: no spaces, no commas
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_INTEGER = re.compile(r"^[0-9]{1,20}$")


class TusVersionUnsupported(DomainError):
    status, code = 412, "tus_version_unsupported"


class UploadLengthInvalid(DomainError):
    status, code = 400, "upload_length_invalid"


class UploadTooLarge(DomainError):
    status, code = 413, "upload_too_large"


class MetadataInvalid(DomainError):
    status, code = 400, "metadata_invalid"


class UploadOffsetInvalid(DomainError):
    status, code = 400, "upload_offset_invalid"


class ChecksumAlgorithmUnsupported(DomainError):
    status, code = 400, "checksum_algorithm_unsupported"


class ChecksumInvalid(DomainError):
    status, code = 400, "checksum_invalid"


@dataclass(frozen=True)
class Metadata:
    filename: str
    content_type: str
    sha256: str
    project_id: uuid.UUID | None


def http_date(moment: datetime) -> str:
    """RFC 9110 IMF-fixdate, as `Upload-Expires` is written."""
    return format_datetime(moment, usegmt=True)


def check_version(header: str | None) -> None:
    if header != TUS_VERSION:
        raise TusVersionUnsupported(
            f"This server speaks tus {TUS_VERSION}; send 'Tus-Resumable: {TUS_VERSION}'.",
            headers={"Tus-Version": TUS_VERSION},
        )


def _non_negative(header: str | None) -> int | None:
    if header is None or not _INTEGER.match(header.strip()):
        return None
    return int(header.strip())


def upload_length(header: str | None) -> int:
    """`Upload-Length`: required (no deferred length), a whole number of bytes in 1..MAX_UPLOAD_BYTES."""
    length = _non_negative(header)
    if length is None or length == 0:
        raise UploadLengthInvalid("Upload-Length must be a whole number of bytes, at least 1.")
    if length > MAX_UPLOAD_BYTES:
        raise UploadTooLarge(f"Upload-Length exceeds Tus-Max-Size ({MAX_UPLOAD_BYTES} bytes).")
    return length


def upload_offset(header: str | None) -> int:
    offset = _non_negative(header)
    if offset is None:
        raise UploadOffsetInvalid("Upload-Offset must be a whole number of bytes.")
    return offset


def check_patch_content_type(header: str | None) -> None:
    if (header or "").split(";", 1)[0].strip().lower() != OFFSET_OCTET_STREAM:
        raise UnsupportedMediaType(f"PATCH bodies must be sent as Content-Type: {OFFSET_OCTET_STREAM}.")


def _decode_pairs(header: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in header.split(","):
        key, _, encoded = item.strip().partition(" ")
        if not _METADATA_KEY.match(key) or key in pairs or " " in encoded.strip():
            raise MetadataInvalid("Upload-Metadata must be comma-separated 'key base64value' pairs with unique keys.")
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise MetadataInvalid(
                f"Upload-Metadata value of {key!r} is not base64 of UTF-8 text.",
                errors=[FieldError(path=f"$.{key}", message="not base64 of UTF-8 text")],
            ) from None
    return pairs


def metadata(header: str | None) -> Metadata:
    """`Upload-Metadata`: `filename`, `content_type` (video/*), `sha256` (hex) required; `project_id` optional.

    Other keys are ignored: tus clients add their own (`filetype`, `name`).
    """
    pairs = _decode_pairs(header) if header and header.strip() else {}
    errors: list[FieldError] = []
    filename = pairs.get("filename", "").strip()
    if not 1 <= len(filename) <= 255:
        errors.append(FieldError(path="$.filename", message="required, 1-255 characters"))
    content_type = pairs.get("content_type", "").strip().lower()
    if not re.fullmatch(r"video/[a-z0-9][a-z0-9.+-]{0,100}", content_type):
        errors.append(FieldError(path="$.content_type", message="required, a video/* media type"))
    sha256 = pairs.get("sha256", "").strip().lower()
    if not _SHA256_HEX.match(sha256):
        errors.append(FieldError(path="$.sha256", message="required, the file's SHA-256 as 64 hex digits"))
    project_id: uuid.UUID | None = None
    if "project_id" in pairs:
        try:
            project_id = uuid.UUID(pairs["project_id"])
        except ValueError:
            errors.append(FieldError(path="$.project_id", message="must be a UUID"))
    if errors:
        raise MetadataInvalid("Upload-Metadata is missing or has invalid values.", errors=errors)
    return Metadata(filename=filename, content_type=content_type, sha256=sha256, project_id=project_id)


def chunk_checksum(header: str | None) -> bytes | None:
    """`Upload-Checksum: sha256 <base64 digest>` of this PATCH's body, or None when absent."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm.lower() != CHECKSUM_ALGORITHM:
        raise ChecksumAlgorithmUnsupported(
            f"Upload-Checksum supports {CHECKSUM_ALGORITHM} only.", headers={"Tus-Checksum-Algorithm": "sha256"}
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 32:
        raise ChecksumInvalid("Upload-Checksum must be 'sha256 <base64 of the 32-byte digest>'.")
    return digest
