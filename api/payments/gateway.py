"""The payment provider (Stripe), through stripe-python only.

`STRIPE_API_BASE` points the client at another server (the localstripe emulator in tests and the
demo). Every call that creates something carries an idempotency key derived from our own ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe

from api.errors import DomainError, ServiceUnavailable
from api.settings import StripeSettings

log = logging.getLogger(__name__)
PAGE = 100


class PaymentProviderError(DomainError):
    status, code = 502, "payment_provider_error"


class InvalidSignature(DomainError):
    status, code = 400, "invalid_signature"


@dataclass(frozen=True)
class PaymentIntentRef:
    payment_intent_id: str
    client_secret: str
    status: str


@dataclass(frozen=True)
class FeeDetail:
    """One part of a balance transaction's fee (Stripe's `fee_details[]`: `stripe_fee`, `application_fee`, …)."""

    amount_minor: int
    currency: str
    type: str
    description: str | None = None


@dataclass(frozen=True)
class BalanceTransaction:
    """A provider balance transaction: `amount_minor` is Stripe's gross `amount`, `fee_minor` its `fee` (with
    `fee_details`), and `net_minor` its `net`, which Stripe defines as amount - fee."""

    transaction_id: str
    amount_minor: int
    currency: str
    reporting_category: str
    source: str | None
    created: datetime
    fee_minor: int = 0
    fee_details: tuple[FeeDetail, ...] = ()
    type: str | None = None
    available_on: datetime | None = None

    @property
    def net_minor(self) -> int:
        return self.amount_minor - self.fee_minor


class PaymentGateway:
    def __init__(self, settings: StripeSettings) -> None:
        self.settings = settings
        self._client = stripe.StripeClient(
            settings.secret_key,
            base_addresses={"api": settings.api_base} if settings.api_base else {},
            http_client=stripe.HTTPXClient(),
            max_network_retries=2,
        )

    @property
    def publishable_key(self) -> str:
        return self.settings.publishable_key

    def verify_webhook(self, payload: bytes, signature: str | None, tolerance: int = 300) -> None:
        """Stripe's own verifier: HMAC-SHA256 of `t.payload`, timestamp within `tolerance` seconds."""
        if not signature:
            raise InvalidSignature("Missing Stripe-Signature header.")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:  # Stripe signs UTF-8 text: nothing else is parsed before it verifies
            raise InvalidSignature("The webhook body is not UTF-8 text, so no Stripe signature covers it.") from None
        try:
            stripe.WebhookSignature.verify_header(text, signature, self.settings.webhook_secret, tolerance)
        except stripe.SignatureVerificationError:
            raise InvalidSignature("The Stripe-Signature does not verify (wrong secret, forged or stale).") from None

    async def create_payment_intent(
        self, *, support_id: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> PaymentIntentRef:
        intent = await self._call(
            self._client.v1.payment_intents.create_async(
                params={"amount": amount_minor, "currency": currency.lower(), "metadata": {"support_id": support_id}},
                options={"idempotency_key": idempotency_key},
            )
        )
        return PaymentIntentRef(intent.id, intent.client_secret or "", intent.status)

    async def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntentRef:
        intent = await self._call(self._client.v1.payment_intents.retrieve_async(payment_intent_id))
        return PaymentIntentRef(intent.id, intent.client_secret or "", intent.status)

    async def refund(self, *, payment_intent_id: str, support_id: str, idempotency_key: str) -> str:
        refund = await self._call(
            self._client.v1.refunds.create_async(
                params={"payment_intent": payment_intent_id, "metadata": {"support_id": support_id}},
                options={"idempotency_key": idempotency_key},
            )
        )
        return str(refund.id)

    async def create_payout(
        self, *, payout_id: str, project_id: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> str:
        """Send `amount_minor` from the provider balance; `metadata.payout_id` lets webhooks find it. The payout id."""
        payout = await self._call(
            self._client.v1.payouts.create_async(
                params={
                    "amount": amount_minor,
                    "currency": currency.lower(),
                    "description": f"Patronage payout {payout_id}",
                    "metadata": {"payout_id": payout_id, "project_id": project_id},
                },
                options={"idempotency_key": idempotency_key},
            )
        )
        return str(payout.id)

    async def balance_transactions(self, since: datetime, until: datetime) -> list[BalanceTransaction]:
        """Balance transactions created in [since, until), newest first as the provider lists them."""
        window = {"gte": int(since.timestamp()), "lt": int(until.timestamp())}
        try:
            raw = await self._list_balance_transactions({"created": window})
        except stripe.InvalidRequestError:
            # Emulators without the `created` filter: list everything and filter here.
            raw = await self._list_balance_transactions({})
        result = [balance_transaction_of(item) for item in raw]
        return [t for t in result if since <= t.created < until]

    async def _list_balance_transactions(self, params: dict[str, Any]) -> list[Any]:
        items: list[Any] = []
        starting_after: str | None = None
        while True:
            page_params = {**params, "limit": PAGE, **({"starting_after": starting_after} if starting_after else {})}
            try:
                page = await self._call(
                    self._client.v1.balance_transactions.list_async(params=page_params),  # type: ignore[arg-type]
                    raise_invalid=True,
                )
            except stripe.InvalidRequestError as exc:
                if exc.http_status != 404:
                    raise
                # The older name of the endpoint.
                response = await self._call(self._client.raw_request_async("get", "/v1/balance/history", **page_params))
                page = self._client.deserialize(response, api_mode="V1")
            items.extend(page.data)
            if not page.has_more or not page.data:
                return items
            starting_after = page.data[-1].id

    async def _call(self, awaitable: Any, *, raise_invalid: bool = False) -> Any:
        """Provider failures as domain errors; `raise_invalid` lets callers handle InvalidRequestError."""
        try:
            return await awaitable
        except stripe.InvalidRequestError:
            if raise_invalid:
                raise
            log.warning("payment provider rejected a request", exc_info=True)
            raise PaymentProviderError("The payment provider rejected the request.") from None
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            log.warning("payment provider unreachable: %s", type(exc).__name__)
            raise ServiceUnavailable(
                "The payment provider is unreachable; retry later.", headers={"Retry-After": "5"}
            ) from exc
        except stripe.StripeError as exc:
            log.warning("payment provider error: %s %s", type(exc).__name__, exc.user_message or "")
            raise PaymentProviderError("The payment provider refused the request.") from exc


def balance_transaction_of(obj: Any) -> BalanceTransaction:
    """A Stripe balance transaction (API object or its JSON, e.g. embedded in a dispute) as ours."""
    item = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    source = item.get("source")
    amount, fee, net = int(item["amount"]), int(item.get("fee") or 0), item.get("net")
    if isinstance(net, int) and net != amount - fee:  # Stripe defines net as amount - fee: say so if it is not
        log.warning("balance transaction %s: net %s is not amount %s - fee %s", item["id"], net, amount, fee)
    available_on = item.get("available_on")
    return BalanceTransaction(
        transaction_id=item["id"],
        amount_minor=amount,
        currency=str(item["currency"]).upper(),
        reporting_category=str(item.get("reporting_category") or item.get("type")),
        source=source if isinstance(source, str) or source is None else source.get("id"),
        created=datetime.fromtimestamp(int(item["created"]), tz=UTC),
        fee_minor=fee,
        fee_details=tuple(
            FeeDetail(
                amount_minor=int(detail.get("amount") or 0),
                currency=str(detail.get("currency") or item["currency"]).upper(),
                type=str(detail.get("type") or "stripe_fee"),
                description=detail.get("description"),
            )
            for detail in item.get("fee_details") or []
            if isinstance(detail, dict)
        ),
        type=str(item["type"]) if item.get("type") else None,
        available_on=datetime.fromtimestamp(int(available_on), tz=UTC) if isinstance(available_on, int) else None,
    )
