"""OpenAPI links: how what an operation returns leads to the next operations (the checkout flow, a project,
an upload, the inbox, disputes, reconciliation), so a generated client and a stateful fuzzer can follow them.

One table, by operationId: source → {link name: (target operationId, its path parameters from the answer)}.
`DocumentedLinks` puts each source's links on its success response; a test checks every target and every
pointer against the document.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import Link, Operation
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

Links = dict[str, tuple[str, dict[str, str]]]


def _each(targets: dict[str, str], parameter: str, pointer: str) -> Links:
    return {name: (operation, {parameter: f"$response.body#{pointer}"}) for name, operation in targets.items()}


_SUPPORT = {"confirm": "confirmSupport", "status": "getSupport", "cancel": "cancelSupport"}
_PROJECT = {
    "project": "getProject",
    "prepareSupport": "prepareSupport",
    "report": "reportProject",
    "addUpdate": "addProjectUpdate",
    "moderation": "getProjectModeration",
    "payouts": "listProjectPayouts",
}
_UPLOAD = {
    "upload": "getUpload",
    "offset": "getUploadOffset",
    "append": "appendUpload",
    "complete": "completeUpload",
    "retry": "retryUpload",
    "terminate": "terminateUpload",
}
_DISPUTE = {
    "acknowledge": "acknowledgeDispute",
    "triage": "triageDispute",
    "addRecoveryAttempt": "addDisputeRecoveryAttempt",
}

LINKS: dict[str, Links] = {
    "prepareSupport": _each(_SUPPORT, "support_id", "/support_id"),
    "confirmSupport": _each({"status": "getSupport", "cancel": "cancelSupport"}, "support_id", "/support_id"),
    "getSupport": _each({"cancel": "cancelSupport"}, "support_id", "/support_id")
    | _each({"project": "getProject"}, "project_id", "/project_id"),
    "createProject": _each(_PROJECT, "project_id", "/project_id"),
    "getProject": _each({k: v for k, v in _PROJECT.items() if k != "project"}, "project_id", "/project_id"),
    "listFeed": _each(
        {"project": "getProject", "prepareSupport": "prepareSupport"}, "project_id", "/items/0/project_id"
    ),
    "createUpload": _each(_UPLOAD, "upload_id", "/upload_id"),
    "listNotifications": _each({"markRead": "markNotificationRead"}, "notification_id", "/items/0/notification_id"),
    "runReconciliationCheck": _each({"check": "getReconciliationCheck"}, "check_id", "/check_id"),
    "listDisputes": _each({"dispute": "getDispute"}, "dispute_id", "/items/0/dispute_id"),
    "getDispute": _each(_DISPUTE, "dispute_id", "/dispute_id"),
    "getProjectModeration": _each({"decide": "decideReview"}, "review_id", "/open_review/review_id"),
    "registerDevice": _each({"unregister": "unregisterDevice"}, "token", "/token"),
    "listDevices": _each({"unregister": "unregisterDevice"}, "token", "/items/0/token"),
}


def _with_links(operation_class: type[Operation], links: Links) -> type[Operation]:
    @dataclass
    class WithLinks(operation_class):  # type: ignore[valid-type,misc]
        def __post_init__(self) -> None:
            if hasattr(super(), "__post_init__"):
                super().__post_init__()
            success = min(code for code in (self.responses or {}) if code.startswith("2"))
            self.responses[success].links = {
                name: Link(operation_id=target, parameters=dict(parameters))
                for name, (target, parameters) in links.items()
            }

    return WithLinks


class DocumentedLinks(ReceiveRoutePlugin):
    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            if isinstance(handler.operation_id, str) and handler.operation_id in LINKS:
                handler.operation_class = _with_links(handler.operation_class, LINKS[handler.operation_id])
