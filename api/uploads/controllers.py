"""HTTP routes of uploads: tus 1.0.0 at `/v1/uploads` (TusController) and JSON status (UploadController)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, delete, get, head, patch, post, route
from litestar.datastructures import MutableScopeHeaders
from litestar.di import NamedDependency
from litestar.enums import HttpMethod
from litestar.exceptions import InternalServerException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Principal, Role, allow
from api.errors import PROBLEM_JSON, Problem, problem_specs
from api.state import AppState
from api.uploads import receiving, services, tus
from api.uploads.schemas import UploadCreated, UploadRead

BODY_IDLE_SECONDS = 60.0  # a PATCH that sends nothing for this long is cut: it holds the upload's row lock

AnyRequest = Request[Any, Any, Any]


def tus_resumable_header(app: ASGIApp) -> ASGIApp:
    """Every tus response, errors (401, 412, 404 …) included, says which protocol version it speaks."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)["Tus-Resumable"] = tus.TUS_VERSION
            await send(message)

        await app(scope, receive, send_with_header)

    return middleware


async def require_tus_version(request: AnyRequest) -> None:
    """Every tus request but OPTIONS (discovery) names the protocol version; another one is 412."""
    tus.check_version(request.headers.get("tus-resumable"))


async def body_chunks(request: AnyRequest) -> AsyncIterator[bytes]:
    """The PATCH body as it arrives; a disconnect or a stall ends it with `BodyInterrupted`."""
    stream = request.stream()
    while True:
        try:
            async with asyncio.timeout(BODY_IDLE_SECONDS):
                piece = await anext(stream)
        except StopAsyncIteration:
            return
        except (InternalServerException, TimeoutError):  # Litestar raises the former on http.disconnect
            raise receiving.BodyInterrupted from None
        if piece:
            yield piece


def checksum_mismatch_problem(_: AnyRequest, exc: services.ChecksumMismatch) -> Response[Problem]:
    """460 is tus's own status (not in HTTPStatus), so its problem+json is titled here."""
    body = Problem(
        type=f"https://patronage.dev/problems/{exc.code}",
        title="Checksum Mismatch",
        status=exc.status,
        detail=exc.detail,
        code=exc.code,
    )
    return Response(body, status_code=exc.status, media_type=PROBLEM_JSON, headers=exc.headers)


def _expiry(expires_at: datetime | None) -> dict[str, str]:
    return {"Upload-Expires": tus.http_date(expires_at)} if expires_at else {}


TUS_MIDDLEWARE = [tus_resumable_header]
# What tus adds to the problems every route documents: gone, wrong Tus-Resumable, wrong body type, bad chunk.
TUS_PROBLEMS = problem_specs(410, 412, 415, 460)


def _headers_only(status: int, description: str) -> dict[int, ResponseSpec]:
    """tus answers carrying only headers (`answer_headers` documents them): no body."""
    return {status: ResponseSpec(data_container=None, description=description)}


@dataclass
class AppendOperation(Operation):
    """The handler streams the PATCH body to storage itself, so the body is documented here."""

    def __post_init__(self) -> None:
        chunk = Schema(type=OpenAPIType.STRING, content_media_type=tus.OFFSET_OCTET_STREAM)
        self.request_body = RequestBody(
            content={tus.OFFSET_OCTET_STREAM: OpenAPIMediaType(schema=chunk)},
            required=True,
            description="The next bytes of the file, from `Upload-Offset` on (any length up to what is left)",
        )


class UploadController(Controller):
    """tus routes carry `TUS_MIDDLEWARE` and `require_tus_version`; the JSON ones do not (one controller,
    because Litestar maps one path's methods in one place)."""

    path = "/v1/uploads"
    tags = ["uploads"]
    exception_handlers = {services.ChecksumMismatch: checksum_mismatch_problem}

    # Named to sort first: Litestar registers a controller's handlers by name, and only an OPTIONS
    # handler registered before the path's other methods replaces the automatic one.
    @route(
        "/",
        http_method=[HttpMethod.OPTIONS],
        status_code=204,
        middleware=TUS_MIDDLEWARE,
        summary="tus discovery",
        # always 204 with the tus headers, for anyone (discovery)
        opt={"problems": False, "access": "public", "answer_headers": tus.DISCOVERY_ANSWER},
        responses=_headers_only(204, "The tus capabilities, in headers"),
        operation_id="describeUploads",
        description=(
            "tus 1.0.0 discovery: the supported version, extensions, maximum size and checksum algorithms, in headers."
        ),
    )
    async def advertise(self) -> Response[None]:
        headers = {
            "Tus-Version": tus.TUS_VERSION,
            "Tus-Extension": tus.TUS_EXTENSIONS,
            "Tus-Max-Size": str(tus.MAX_UPLOAD_BYTES),
            "Tus-Checksum-Algorithm": tus.CHECKSUM_ALGORITHM,
        }
        return Response(None, status_code=204, headers=headers)

    @post(
        "/",
        status_code=201,
        middleware=TUS_MIDDLEWARE,
        before_request=require_tus_version,
        summary="tus creation (creator); a ready upload of the same sha256 is answered",
        responses=TUS_PROBLEMS,
        opt={"request_headers": tus.CREATION_HEADERS, "answer_headers": tus.CREATION_ANSWER},
        guards=[allow(Role.creator)],
        operation_id="createUpload",
        description=(
            "tus creation: `Upload-Length` and `Upload-Metadata` (filename, content type, sha256) give a new upload's "
            "`Location`. A ready upload with the same sha256 is answered at once (`Upload-Deduplicated`)."
        ),
    )
    async def create(
        self,
        request: AnyRequest,
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> Response[UploadCreated]:
        length = tus.upload_length(request.headers.get("upload-length"))
        meta = tus.metadata(request.headers.get("upload-metadata"))
        async with state.db.transaction() as session:
            created = await services.create(session, principal, meta, length, datetime.now(UTC))
        headers = {"Location": f"/v1/uploads/{created.upload_id}", **_expiry(created.expires_at)}
        if created.deduplicated:
            headers |= {"Upload-Deduplicated": "true", "Upload-Offset": str(created.offset)}
        return Response(created, status_code=201, headers=headers)

    @head(
        "/{upload_id:uuid}",
        middleware=TUS_MIDDLEWARE,
        before_request=require_tus_version,
        summary="tus offset of an upload (creator)",
        opt={"request_headers": tus.STATE_HEADERS, "answer_headers": tus.STATE_ANSWER},
        responses={**TUS_PROBLEMS, **_headers_only(200, "The upload's offset, length and expiry, in headers")},
        guards=[allow(Role.creator)],
        operation_id="getUploadOffset",
        description="tus: the upload's current `Upload-Offset`, length and expiry, to resume from.",
    )
    async def offset(
        self,
        upload_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> Response[None]:
        async with state.db.transaction() as session:
            upload = await services.offset_of(session, principal, upload_id, datetime.now(UTC))
        headers = {
            "Upload-Offset": str(upload.offset),
            "Upload-Length": str(upload.size),
            "Cache-Control": "no-store",
            **_expiry(upload.expires_at),
        }
        return Response(None, status_code=200, headers=headers)

    @patch(
        "/{upload_id:uuid}",
        status_code=204,
        request_max_body_size=None,  # streamed to storage, bounded by the upload's own length
        middleware=TUS_MIDDLEWARE,
        before_request=require_tus_version,
        summary="tus: append bytes at Upload-Offset (creator)",
        opt={"request_headers": tus.PATCH_HEADERS, "answer_headers": tus.PATCH_ANSWER},
        responses={**TUS_PROBLEMS, **_headers_only(204, "Appended: the new offset, in headers")},
        guards=[allow(Role.creator)],
        operation_class=AppendOperation,
        operation_id="appendUpload",
        description=(
            "tus: appends the body at `Upload-Offset` (`application/offset+octet-stream`), optionally checked with "
            "`Upload-Checksum`; the new offset is answered."
        ),
    )
    async def append(
        self,
        upload_id: FromPath[uuid.UUID],
        request: AnyRequest,
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> Response[None]:
        tus.check_patch_content_type(request.headers.get("content-type"))
        async with state.db.transaction() as session:
            upload = await receiving.append(
                session,
                state.upload_storage,
                state.upload_digests,
                principal,
                upload_id,
                offset=tus.upload_offset(request.headers.get("upload-offset")),
                content_length=request.content_length,
                checksum=tus.chunk_checksum(request.headers.get("upload-checksum")),
                body=body_chunks(request),
                now=datetime.now(UTC),
            )
        return Response(
            None, status_code=204, headers={"Upload-Offset": str(upload.offset), **_expiry(upload.expires_at)}
        )

    @delete(
        "/{upload_id:uuid}",
        status_code=204,
        middleware=TUS_MIDDLEWARE,
        before_request=require_tus_version,
        summary="tus termination: delete the bytes (creator)",
        opt={"request_headers": tus.STATE_HEADERS, "answer_headers": tus.TERMINATION_ANSWER},
        responses=TUS_PROBLEMS,
        guards=[allow(Role.creator)],
        operation_id="terminateUpload",
        description=(
            "tus termination: the stored bytes are deleted and the upload answers 410 from then on; a ready upload "
            "cannot be terminated (409)."
        ),
    )
    async def terminate(
        self,
        upload_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> None:
        async with state.db.transaction() as session:
            await services.terminate(
                session, state.upload_storage, state.upload_digests, principal, upload_id, datetime.now(UTC)
            )

    @get(
        "/{upload_id:uuid}",
        summary="Upload status (owner; ops may read)",
        guards=[allow(Role.creator, Role.ops)],
        operation_id="getUpload",
        description="An upload's state, offset, size and media facts; its owner and ops may read it.",
    )
    async def read(
        self,
        upload_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> UploadRead:
        async with state.db.transaction() as session:
            return await services.status(session, principal, upload_id)

    @post(
        "/{upload_id:uuid}/complete",
        status_code=200,
        summary="Idempotent completion: 409 until every byte is in",
        guards=[allow(Role.creator)],
        operation_id="completeUpload",
        description=(
            "Once every byte has arrived, answers the upload's status (processing follows in the worker); before that,"
            " 409. Safe to repeat."
        ),
    )
    async def complete(
        self,
        upload_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> UploadRead:
        async with state.db.transaction() as session:
            return await services.complete(session, principal, upload_id)

    @post(
        "/{upload_id:uuid}/retry",
        status_code=200,
        summary="Retry a failed upload (processing or resume)",
        guards=[allow(Role.creator)],
        operation_id="retryUpload",
        description=(
            "Retries a retryable failed upload: processing again after a processing timeout, or receiving again from "
            "the stored offset after an expiry."
        ),
    )
    async def retry(
        self,
        upload_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> UploadRead:
        async with state.db.transaction() as session:
            return await services.retry(session, principal, upload_id, datetime.now(UTC))
