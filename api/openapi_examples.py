"""Request and response examples of every operation, for mocks (Prism), generated client previews and readers
of the document. They tell one story (api/openapi_story.py), so the ids a flow passes along match from one
operation to the next: prepare → confirm → status → cancel share one support_id, the feed leads to the project.

One table by operationId: the JSON request body's named examples, the parameters' (over `PARAMETERS`, shared
by name), each success response's. Error examples are derived, not written: each documented problem status
gets one example per code the operation answers with it (its own `refusals`, and those a JSON body, a `limit`
or an Idempotency-Key imply), else the status's general code (`GENERAL`). `DocumentedExamples` puts them in
the document; a test validates every example against its schema and follows the links through them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import Any

from litestar.openapi.spec import Example, OpenAPIResponse, Operation, Parameter, RequestBody
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

from api import openapi_story as story
from api.errors import PROBLEM_JSON, DomainError

JSON = "application/json"


class ValueExample(Example):
    """Written with its value as given: Litestar's serialiser drops the null members of dicts, and many
    answers have some (`next_cursor`, `read_at`)."""

    def to_schema(self) -> dict[str, Any]:
        schema = super().to_schema()
        schema["value"] = self.value
        return schema


Named = dict[str, Example]  # example name → Example


def one(name: str, summary: str, value: Any) -> Named:
    return {name: ValueExample(summary=summary, value=value)}


@dataclass(frozen=True)
class Refusal:
    """A problem an operation answers, with its own words when they are not the code's usual ones."""

    code: str
    detail: str | None = None
    errors: tuple[tuple[str, str], ...] = ()  # (path, message)


@dataclass(frozen=True)
class OperationExamples:
    request: Named = field(default_factory=dict)  # the request body's, of `body_type`
    body_type: str = JSON
    parameters: dict[str, Named] = field(default_factory=dict)  # by parameter name, over PARAMETERS
    responses: dict[int, Named] = field(default_factory=dict)  # success status → its JSON body's
    refusals: tuple[str | Refusal, ...] = ()  # the operation's own problem codes


PARAMETERS: dict[str, Named] = {
    "project_id": one("field_recorder", "The Field Recorder Mk II project", story.PROJECT_ID),
    "support_id": one("early_bird", "The supporter's early-bird support", story.SUPPORT_ID),
    "upload_id": one("pitch_video", "The project's pitch video", story.UPLOAD_ID),
    "dispute_id": one("fraudulent", "A dispute on another support of the project", story.DISPUTE_ID),
    "check_id": one("last_week", "Last week's reconciliation", story.CHECK_ID),
    "review_id": one("open_review", "The project's open review case", story.REVIEW_ID),
    "notification_id": one("payment_succeeded", "The payment's inbox item", story.NOTIFICATION_ID),
    "token": one("iphone", "An APNs device token in hex (32 bytes)", story.APNS_DEVICE_HEX),
    "cursor": one("next_page", "`next_cursor` of the previous page", story.FEED_PAGE["next_cursor"]),
    "limit": one("twenty", "A page of 20", 20),
    "status": one("open", "Disputes still open", "open"),
    "escalated": one("escalated", "Only escalated disputes", True),
    "entry_type": one("support_hold", "Held support payments", "support_hold"),
    "since": one("this_month", "Entries of December 2026", "2026-12-01T00:00:00Z"),
    "If-None-Match": one("etag", "The ETag of the last answer", story.ETAG),
    "Tus-Resumable": one("tus_1_0_0", "tus 1.0.0", "1.0.0"),
    "Upload-Length": one("pitch_video", "A 237 MiB video", story.VIDEO_BYTES),
    "Upload-Metadata": one("pitch_video", "filename, content_type and sha256, each base64", story.UPLOAD_METADATA),
    "Upload-Offset": one("second_chunk", "After a first chunk of 50 MiB", story.CHUNK_BYTES),
    "Upload-Checksum": one("sha256", "The chunk's SHA-256, base64", story.CHUNK_CHECKSUM),
    "Stripe-Signature": one("signed", "Stripe's signature of the body", story.STRIPE_SIGNATURE),
}


def _key(value: str) -> dict[str, Named]:
    """A fresh Idempotency-Key per operation: one key sent to two operations is 422 `idempotency_key_reused`."""
    return {"Idempotency-Key": one("uuid", "A UUID the client made for this request and its retries", value)}


# --- refusals --------------------------------------------------------------------------------------------------

# The problem code each documented status is answered with when nothing more particular applies.
GENERAL = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    410: "upload_failed",
    412: "tus_version_unsupported",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    460: "checksum_mismatch",
    503: "service_unavailable",
}
FRAMEWORK_CODES = {"payload_too_large": 413}  # answered by Litestar's limits, not by a DomainError
TITLES = {460: "Checksum Mismatch"}  # tus's own status, not in HTTPStatus

# The words each code is usually answered with (from where it is raised).
DETAILS = {
    "bad_request": "Bad Request",
    "malformed_json": "The request body is not valid UTF-8 JSON.",
    "validation_failed": "The request did not match the documented schema.",
    "unsupported_media_type": "Unsupported Media Type",
    "unauthorized": "Authentication is required.",
    "forbidden": "Not allowed.",
    "not_found": "Not Found",
    "conflict": "Conflict",
    "payload_too_large": "The request body is too large.",
    "rate_limited": "Too Many Requests",
    "service_unavailable": "The database is unavailable; retry later.",
    "payment_provider_error": "The payment provider refused the request.",
    "idempotency_key_required": "Send an Idempotency-Key header of 1 to 255 characters.",
    "idempotency_key_reused": "This Idempotency-Key was used with a different request.",
    "idempotency_key_in_use": "A request with this Idempotency-Key is still being processed.",
    "project_not_found": "Project not found.",
    "tier_id_conflict": "A tier_id given is already used by another project.",
    "project_not_accepting_supports": "This project is not accepting supports.",
    "tier_not_found": "The project has no such reward tier.",
    "reward_type_not_supported": "Only physical reward tiers can be supported.",
    "currency_mismatch": "The project takes EUR.",
    "amount_below_tier_minimum": "This tier starts at 8900 minor units.",
    "cancellation_window_closed": "The 48-hour cancellation window has closed.",
    "invalid_signature": "The Stripe-Signature does not verify (wrong secret, forged or stale).",
    "dispute_closed": "The dispute is closed (won); it takes no more actions.",
    "self_report": "You cannot report your own project.",
    "duplicate_report": "You already reported this project today (UTC).",
    "review_already_decided": "This review was already decided: rejected.",
    "device_not_found": "No device with this token is registered to you.",
    "too_many_events": "At most 500 events per request; send several batches.",
    "tus_version_unsupported": "This server speaks tus 1.0.0; send 'Tus-Resumable: 1.0.0'.",
    "upload_length_invalid": "Upload-Length must be a whole number of bytes, at least 1.",
    "upload_too_large": "Upload-Length exceeds Tus-Max-Size (10737418240 bytes).",
    "upload_offset_invalid": "Upload-Offset must be a whole number of bytes.",
    "checksum_algorithm_unsupported": "Upload-Checksum supports sha256 only.",
    "checksum_invalid": "Upload-Checksum must be 'sha256 <base64 of the 32-byte digest>'.",
    "upload_failed": "The upload failed (checksum_mismatch); start a new upload.",
    "upload_expired": "The upload expired (no bytes for 24 h); POST …/retry to resume it.",
    "upload_terminated": "The upload was terminated.",
    "upload_offset_mismatch": f"Upload-Offset is 0 but the upload is at {story.CHUNK_BYTES}.",
    "upload_locked": "Another request is writing this upload; HEAD for its offset and retry.",
    "upload_incomplete": f"{story.CHUNK_BYTES} of {story.VIDEO_BYTES} bytes have arrived; PATCH the rest first.",
    "upload_not_retryable": "Only a retryable failed upload can be retried (this one is ready).",
    "upload_already_ready": "A ready upload cannot be terminated.",
    "upload_length_exceeded": f"The body would take the upload past its {story.VIDEO_BYTES} bytes.",
    "checksum_mismatch": "Upload-Checksum does not match the body; the chunk was discarded.",
    "file_checksum_mismatch": "The file's SHA-256 differs from the declared sha256; its bytes were deleted.",
}

FOR_OPS = Refusal("forbidden", "This route is for the role(s): ops.")
FOR_CREATORS = Refusal("forbidden", "This route is for the role(s): creator.")
FOR_SUPPORTERS = Refusal("forbidden", "This route is for the role(s): supporter.")
FOR_CREATORS_AND_OPS = Refusal("forbidden", "This route is for the role(s): creator, ops.")
NO_SUCH_SUPPORT = Refusal("not_found", "Support not found.")
NO_SUCH_UPLOAD = Refusal("not_found", "Upload not found.")
NO_SUCH_DISPUTE = Refusal("not_found", "Dispute not found.")
BAD_DEVICE_TOKEN = Refusal(
    "invalid_device_token",
    "A device token is the APNs token in hex: an even number of hex digits, 64 to 200.",
    (("$.token", "not an APNs device token"),),
)
UPLOAD_GONE = ("upload_expired", "upload_terminated", "upload_failed")
TUS_READ = (FOR_CREATORS, NO_SUCH_UPLOAD, *UPLOAD_GONE)


def _invalid(path: str, message: str) -> Refusal:
    return Refusal("validation_failed", errors=((path, message),))


# --- the table ---------------------------------------------------------------------------------------------------

EXAMPLES: dict[str, OperationExamples] = {
    "getHealth": OperationExamples(responses={200: one("ok", "Serving", {"status": "ok"})}),
    # projects
    "createProject": OperationExamples(
        request=one("field_recorder", "A physical and a digital tier, and the pitch video", story.PROJECT_CREATE),
        parameters=_key("73f18e4e-74c7-4f59-8e28-b9154b963a05"),
        responses={201: one("live", "Live, with its tiers' ids", story.PROJECT)},
        refusals=(FOR_CREATORS, "tier_id_conflict", _invalid("$.goal_minor", "Expected `int` >= 1")),
    ),
    "getProject": OperationExamples(
        responses={200: one("live", "A live project", story.PROJECT)}, refusals=("project_not_found",)
    ),
    "listFeed": OperationExamples(
        responses={
            200: {
                **one("page", "A page with more to come", story.FEED_PAGE),
                **one("last_page", "The last page", {"items": [], "next_cursor": None}),
            }
        },
        refusals=(_invalid("$.cursor", "invalid cursor"),),
    ),
    "addProjectUpdate": OperationExamples(
        request=one("prototype", "A campaign update", story.UPDATE_CREATE),
        parameters=_key("e2f8b1f8-0872-413d-829e-da86ee63b9f2"),
        responses={201: one("posted", "Posted; the project's supporters are notified", story.UPDATE)},
        refusals=(FOR_CREATORS, "project_not_found", _invalid("$.title", "Expected `str` of length >= 1")),
    ),
    # supports
    "prepareSupport": OperationExamples(
        request=one("early_bird", "Back the early-bird tier at its price", story.PREPARE),
        parameters=_key("98cef72a-6fe2-4970-b662-4c07fd3a56fb"),
        responses={201: one("prepared", "Prepared for 24 h: show the policy, then confirm", story.PREPARED)},
        refusals=(
            FOR_SUPPORTERS,
            "project_not_found",
            "project_not_accepting_supports",
            "tier_not_found",
            "reward_type_not_supported",
            "amount_below_tier_minimum",
            "currency_mismatch",
            _invalid("$.amount_minor", "Expected `int` >= 1"),
        ),
    ),
    "confirmSupport": OperationExamples(
        parameters=_key("729b4e4f-5e4f-4b02-803a-2d5a4de57d7a"),
        responses={200: one("pending_payment", "Pay with the client secret, then poll the status", story.CONFIRMED)},
        refusals=(
            FOR_SUPPORTERS,
            NO_SUCH_SUPPORT,
            Refusal("invalid_transition", "A support in status expired cannot be confirmed."),
            "payment_provider_error",
        ),
    ),
    "getSupport": OperationExamples(
        responses={
            200: {
                **one("pending_payment", "Before Stripe's webhook: poll after poll_after_ms", story.PENDING_SUPPORT),
                **one("succeeded", "Paid: cancellable until cancellable_until", story.SUPPORT),
            }
        },
        refusals=(NO_SUCH_SUPPORT,),
    ),
    "cancelSupport": OperationExamples(
        parameters=_key("a441f943-5995-4e2f-a6d9-ee0a88385510"),
        responses={
            200: one("refund_pending", "Refunding; Stripe's webhook makes it refunded", story.CANCELLED_SUPPORT)
        },
        refusals=(
            FOR_SUPPORTERS,
            NO_SUCH_SUPPORT,
            "cancellation_window_closed",
            Refusal("invalid_transition", "A support in status pending_payment cannot be cancelled."),
            "payment_provider_error",
        ),
    ),
    # payments
    "receiveStripeWebhook": OperationExamples(
        request=one("payment_intent_succeeded", "A payment intent succeeded", story.SUCCEEDED_EVENT),
        responses={
            200: {
                **one("applied", "Stored and handled", {"received": True, "duplicate": False, "outcome": "applied"}),
                **one("duplicate", "A redelivery of a stored event", {"received": True, "duplicate": True}),
            }
        },
        refusals=(
            "invalid_signature",
            Refusal("validation_failed", "The webhook has no data.object.", (("$.data", "missing"),)),
        ),
    ),
    # journal and payouts
    "listJournalEntries": OperationExamples(
        responses={200: one("support_hold", "The early-bird support's hold", story.HOLD_ENTRIES)},
        refusals=(FOR_OPS, _invalid("$.since", "Invalid RFC3339 encoded datetime")),
    ),
    "getJournalBalances": OperationExamples(
        responses={200: one("one_dispute_open", "Two supports held, one of them disputed", story.BALANCES)},
        refusals=(FOR_OPS,),
    ),
    "runReconciliationCheck": OperationExamples(
        request=one("last_week", "Last week", story.RECONCILE),
        parameters=_key("35184f51-a55f-4d72-9dfe-f2b0f65f1e00"),
        responses={201: one("one_missing", "Today's charge is not in Stripe's balance yet", story.CHECK)},
        refusals=(
            FOR_OPS,
            Refusal(
                "validation_failed",
                "from_date must not be after to_date, and a check covers at most 92 days.",
                (("$.to_date", "out of range"),),
            ),
            "payment_provider_error",
        ),
    ),
    "getReconciliationCheck": OperationExamples(
        responses={200: one("one_missing", "A stored check", story.CHECK)},
        refusals=(FOR_OPS, Refusal("not_found", "Reconciliation check not found.")),
    ),
    "listProjectPayouts": OperationExamples(
        responses={200: one("next_scheduled", "One paid, the next on the next business day", story.PAYOUTS)},
        refusals=(FOR_CREATORS_AND_OPS, "project_not_found"),
    ),
    # disputes
    "listDisputes": OperationExamples(
        responses={200: one("escalated", "One open, escalated dispute", story.DISPUTES)},
        refusals=(FOR_OPS, _invalid("$.status", "Invalid enum value 'closed'")),
    ),
    "getDispute": OperationExamples(
        responses={200: one("escalated", "Acknowledged, triaged late, evidence submitted", story.DISPUTE)},
        refusals=(FOR_CREATORS_AND_OPS, NO_SUCH_DISPUTE),
    ),
    "acknowledgeDispute": OperationExamples(
        responses={200: one("acknowledged", "Acknowledged within its SLA", story.ACKNOWLEDGED_DISPUTE)},
        refusals=(FOR_OPS, NO_SUCH_DISPUTE, "dispute_closed"),
    ),
    "triageDispute": OperationExamples(
        responses={200: one("triaged", "Triaged after its deadline: escalated", story.TRIAGED_DISPUTE)},
        refusals=(FOR_OPS, NO_SUCH_DISPUTE, "dispute_closed"),
    ),
    "addDisputeRecoveryAttempt": OperationExamples(
        request=one("evidence", "Evidence sent to Stripe", story.ATTEMPT_CREATE),
        parameters=_key("2f749a71-7fbd-4ab4-9162-d5550e1acaeb"),
        responses={201: one("recorded", "Recorded on the dispute's timeline", story.ATTEMPT)},
        refusals=(FOR_OPS, NO_SUCH_DISPUTE, "dispute_closed", _invalid("$.method", "Invalid enum value 'phone_call'")),
    ),
    # notifications
    "listNotifications": OperationExamples(responses={200: one("inbox", "Newest first", story.INBOX)}),
    "markNotificationRead": OperationExamples(
        responses={200: one("read", "Read; marking it again keeps this time", story.READ_NOTIFICATION)},
        refusals=(Refusal("not_found", "Notification not found."),),
    ),
    "setContact": OperationExamples(
        request={
            **one("email_and_push", "Email and an APNs token", story.CONTACT_UPDATE),
            **one("email_only", "Email only: the push token is cleared", {"email": story.CONTACT["email"]}),
        },
        responses={200: one("saved", "Saved", story.CONTACT)},
        refusals=(_invalid("$.push_token", "Expected `str` of length <= 512"),),
    ),
    "registerDevice": OperationExamples(
        request={
            **one("app_store_build", "An App Store or TestFlight build", story.APP_STORE_BUILD),
            **one("debug_build", "A debug build from Xcode", {"environment": "development"}),
            **one("server_default", "Nothing to say: the server's APNs environment", {}),
        },
        responses={200: one("registered", "Registered, or refreshed at launch", story.DEVICE)},
        refusals=(BAD_DEVICE_TOKEN, _invalid("$.environment", "Invalid enum value 'staging'")),
    ),
    "unregisterDevice": OperationExamples(refusals=("device_not_found", BAD_DEVICE_TOKEN)),
    "listDevices": OperationExamples(
        responses={200: one("one_device", "One iPhone", {"items": [story.DEVICE], "next_cursor": None})}
    ),
    "getQueues": OperationExamples(
        responses={200: one("catching_up", "Push and email catching up, one dead email", story.QUEUES)},
        refusals=(FOR_OPS,),
    ),
    # moderation
    "reportProject": OperationExamples(
        request=one("fraud", "Suspected fraud", story.REPORT_CREATE),
        parameters=_key("d03339da-9625-4d1f-8cec-5a0eec72417e"),
        responses={201: one("review_triggered", "A new account's report opens a review", story.REPORT_CREATED)},
        refusals=(
            "project_not_found",
            "duplicate_report",
            "self_report",
            _invalid("$.reason", "Invalid enum value 'boring'"),
        ),
    ),
    "getProjectModeration": OperationExamples(
        responses={200: one("open_review", "Two fraud reports opened a review", story.MODERATION)},
        refusals=(FOR_OPS, "project_not_found"),
    ),
    "decideReview": OperationExamples(
        request=one("upheld", "The reports were right", {"outcome": "upheld"}),
        responses={200: one("upheld", "Decided", story.DECIDED_REVIEW)},
        refusals=(FOR_OPS, Refusal("not_found", "Review not found."), "review_already_decided"),
    ),
    # events
    "landEvents": OperationExamples(
        request=one("feed_to_tier", "A project view and a tap on a tier", story.EVENT_BATCH),
        responses={202: one("landed", "Both landed for the pipeline", {"accepted": 2})},
        refusals=(
            "too_many_events",
            Refusal("unsupported_media_type", "Send the batch as Content-Type: application/json."),
            Refusal("rate_limited", "At most 120 batches per minute per client."),
            Refusal(
                "validation_failed",
                'The body must be {"events": [...]}.',
                (("$", "Expected `array`, got `object` - at `$.events`"),),
            ),
        ),
    ),
    # uploads: tus, then JSON
    "createUpload": OperationExamples(
        responses={
            201: {
                **one("created", "A new upload: PATCH its bytes to Location", story.UPLOAD),
                **one(
                    "deduplicated",
                    "The same bytes, already ready: nothing to send",
                    {**story.READY_UPLOAD, "deduplicated": True},
                ),
            }
        },
        refusals=(
            FOR_CREATORS,
            "project_not_found",
            "upload_length_invalid",
            "upload_too_large",
            Refusal(
                "metadata_invalid",
                "Upload-Metadata is missing or has invalid values.",
                (("$.sha256", "required, the file's SHA-256 as 64 hex digits"),),
            ),
        ),
    ),
    "getUploadOffset": OperationExamples(refusals=TUS_READ),
    "appendUpload": OperationExamples(
        request=one("second_chunk", "The second 50 MiB of the file, after Upload-Offset 52428800", story.SECOND_CHUNK),
        body_type="application/offset+octet-stream",
        refusals=(
            *TUS_READ,
            "upload_offset_invalid",
            "checksum_algorithm_unsupported",
            "checksum_invalid",
            "upload_offset_mismatch",
            "upload_locked",
            "upload_length_exceeded",
            Refusal(
                "unsupported_media_type", "PATCH bodies must be sent as Content-Type: application/offset+octet-stream."
            ),
            "checksum_mismatch",
            "file_checksum_mismatch",
        ),
    ),
    "terminateUpload": OperationExamples(refusals=(*TUS_READ, "upload_already_ready", "upload_locked")),
    "getUpload": OperationExamples(
        responses={
            200: {
                **one("ready", "Processed: the video's facts", story.READY_UPLOAD),
                **one("uploading", "Part-way: resume with HEAD and PATCH", story.UPLOADING_UPLOAD),
            }
        },
        refusals=(FOR_CREATORS_AND_OPS, NO_SUCH_UPLOAD),
    ),
    "completeUpload": OperationExamples(
        responses={200: one("processing", "Every byte is in: processing", story.PROCESSING_UPLOAD)},
        refusals=(FOR_CREATORS, NO_SUCH_UPLOAD, "upload_incomplete"),
    ),
    "retryUpload": OperationExamples(
        responses={200: one("processing_again", "Processing had timed out: processing again", story.PROCESSING_UPLOAD)},
        refusals=(FOR_CREATORS, NO_SUCH_UPLOAD, "upload_not_retryable", "upload_locked"),
    ),
}


# --- the plugin ------------------------------------------------------------------------------------------------


def problem_statuses() -> dict[str, int]:
    """The status of every problem code the API answers: its DomainErrors' and the framework's."""
    statuses = dict(FRAMEWORK_CODES)
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        error = pending.pop()
        statuses.setdefault(error.code, error.status)
        pending.extend(error.__subclasses__())
    return statuses


def problem(status: int, refusal: Refusal) -> dict[str, Any]:
    """The problem+json document answered for `refusal` (as api/errors.py builds it)."""
    title = TITLES.get(status) or HTTPStatus(status).phrase
    document: dict[str, Any] = {
        "type": f"https://patronage.dev/problems/{refusal.code}",
        "title": title,
        "status": status,
        "detail": refusal.detail or DETAILS[refusal.code],
        "code": refusal.code,
    }
    if refusal.errors:
        document["errors"] = [{"path": path, "message": message} for path, message in refusal.errors]
    return document


def _implied(operation: Operation) -> list[Refusal]:
    """What an operation's shape alone lets it answer: a JSON body, a page size, an Idempotency-Key."""
    names = {p.name for p in operation.parameters or [] if isinstance(p, Parameter)}
    implied = []
    if isinstance(operation.request_body, RequestBody) and JSON in operation.request_body.content:
        implied += [Refusal("malformed_json"), Refusal("validation_failed")]
    if "limit" in names:
        implied.append(Refusal("validation_failed", errors=(("$.limit", "Expected `int` <= 200"),)))
    if "Idempotency-Key" in names:
        implied += [
            Refusal(code) for code in ("idempotency_key_required", "idempotency_key_in_use", "idempotency_key_reused")
        ]
    return implied


def problem_examples(operation: Operation, refusals: tuple[str | Refusal, ...]) -> dict[int, Named]:
    """One example per code the operation answers with each status; its own words win over implied ones."""
    statuses = problem_statuses()
    by_status: dict[int, Named] = {}
    for item in [*_implied(operation), *refusals]:
        refusal = Refusal(item) if isinstance(item, str) else item
        status = statuses[refusal.code]
        by_status.setdefault(status, {}).update(
            one(refusal.code, refusal.detail or DETAILS[refusal.code], problem(status, refusal))
        )
    return by_status


def _exemplify(operation: Operation, examples: OperationExamples) -> None:
    body = operation.request_body
    kind = examples.body_type
    if isinstance(body, RequestBody) and examples.request and kind in body.content:
        body.content = {**body.content, kind: replace(body.content[kind], examples=dict(examples.request))}
    if operation.parameters:
        chosen = {**PARAMETERS, **examples.parameters}
        operation.parameters = [
            replace(p, examples=dict(chosen[p.name])) if isinstance(p, Parameter) and p.name in chosen else p
            for p in operation.parameters
        ]
    problems = problem_examples(operation, examples.refusals)
    for code, response in (operation.responses or {}).items():
        if not isinstance(response, OpenAPIResponse) or not response.content:
            continue
        status = int(code)
        named = {PROBLEM_JSON: problems.get(status) or {}, JSON: examples.responses.get(status, {})}
        if status in GENERAL and not named[PROBLEM_JSON]:
            general = Refusal(GENERAL[status])
            named[PROBLEM_JSON] = one(general.code, DETAILS[general.code], problem(status, general))
        response.content = {
            media_type: replace(media, examples=dict(named[media_type])) if named.get(media_type) else media
            for media_type, media in response.content.items()
        }


def _with_examples(operation_class: type[Operation], examples: OperationExamples) -> type[Operation]:
    @dataclass
    class WithExamples(operation_class):  # type: ignore[valid-type,misc]
        def __post_init__(self) -> None:
            if hasattr(super(), "__post_init__"):
                super().__post_init__()
            _exemplify(self, examples)

    return WithExamples


class DocumentedExamples(ReceiveRoutePlugin):
    """Registered after the plugins that add parameters and responses, so it sees the operation they leave."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            if isinstance(handler.operation_id, str):
                examples = EXAMPLES.get(handler.operation_id, OperationExamples())
                handler.operation_class = _with_examples(handler.operation_class, examples)
