"""What the local Stripe emulator adds to `localstripe` so that its balance reads like Stripe's.

localstripe records a balance transaction for each charge and refund, with no fee, fakes a payout's, and has no
disputes. The local provider (`devtools.local_stripe`) installs these rules on it:

- A charge's balance transaction carries Stripe's standard card fee: 2.9 % of the amount, rounded half up to
  a minor unit, plus 30 minor units, in the charge's currency (`fee_details`: one `stripe_fee`). Refunds carry
  no fee (Stripe keeps the processing fee of a refunded charge).
- A payout records its balance transaction (`payout`, -amount, no fee).
- Disputes, which Stripe opens itself (test cards) and localstripe cannot: `POST /_config/charges/{id}/dispute`
  opens one on a charge, withdrawing its amount with a 1500-minor-unit dispute fee (`dispute`, -amount, fee
  1500) and sends `charge.dispute.created` to the registered webhooks; `POST /_config/disputes/{id}/close` with
  `status=won` reinstates the amount and gives the dispute fee back (`dispute_reversal`, +amount, fee -1500),
  `status=lost` keeps both; either sends `charge.dispute.closed`. `GET /v1/disputes/{id}` reads one back.

These are the local provider's rules, not Patronage's: Patronage reads every fee from the provider's balance
transactions. Imported only when the emulator runs (localstripe is a development dependency).
"""

from __future__ import annotations

from typing import Any

import localstripe.resources as resources
from localstripe.errors import UserError
from localstripe.server import api_extra, api_list_all, api_retrieve

PERCENT_BASIS_POINTS = 290  # 2.9 %
FIXED_FEE_MINOR = 30
DISPUTE_FEE_MINOR = 1500
EVIDENCE_DAYS = 10


def processing_fee(amount_minor: int) -> int:
    """Stripe's standard card fee on `amount_minor`: 2.9 % (half up) + 30 minor units."""
    return (amount_minor * PERCENT_BASIS_POINTS + 5_000) // 10_000 + FIXED_FEE_MINOR


def _fee_detail(amount: int, currency: str, description: str) -> dict[str, Any]:
    return {
        "amount": amount,
        "application": None,
        "currency": currency,
        "description": description,
        "type": "stripe_fee",
    }


def record(
    *,
    amount: int,
    currency: str,
    type: str,
    category: str,
    source: str,
    description: str,
    fee: int = 0,
    fee_description: str = "Dispute fee",
) -> Any:
    """A balance transaction of any type (localstripe's own constructor accepts only charges and refunds)."""
    txn = resources.BalanceTransaction.__new__(resources.BalanceTransaction)
    resources.StripeObject.__init__(txn)
    txn.amount = amount
    txn.available_on = txn.created
    txn.currency = currency
    txn.description = description
    txn.exchange_rate = None
    txn.fee = fee
    txn.fee_details = [_fee_detail(fee, currency, fee_description)] if fee else []
    txn.reporting_category = category
    txn.source = source
    txn.status = "available"
    txn.type = type
    return txn


class Dispute(resources.StripeObject):  # type: ignore[misc]
    """A Stripe dispute on a charge, with the balance transactions that withdraw and reinstate its amount."""

    object = "dispute"
    _id_prefix = "dp_"

    def __init__(self, charge: Any, amount: int, reason: str) -> None:
        super().__init__()
        self.amount = amount
        self.charge = charge.id
        self.currency = charge.currency
        self.payment_intent = charge.payment_intent
        self.reason = reason
        self.status = "needs_response"
        self.is_charge_refundable = False
        self.metadata: dict[str, str] = {}
        self.evidence_details = {
            "due_by": self.created + EVIDENCE_DAYS * 86_400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        }
        self.balance_transactions = [
            record(
                amount=-amount,
                currency=self.currency,
                type="adjustment",
                category="dispute",
                source=self.id,
                fee=DISPUTE_FEE_MINOR,
                description=f"Chargeback withdrawal for {charge.id}",
            )
        ]

    @classmethod
    def _api_create(cls, **data: Any) -> Any:
        raise UserError(405, "Disputes are opened by the provider: POST /_config/charges/{id}/dispute")

    @classmethod
    def _api_update(cls, id: str, **data: Any) -> Any:
        raise UserError(405, "Method Not Allowed")

    @classmethod
    def _api_delete(cls, id: str) -> Any:
        raise UserError(405, "Method Not Allowed")


def open_dispute(id: str, reason: str = "product_not_received", amount: Any = None, **unexpected: Any) -> Any:
    if unexpected:
        raise UserError(400, "Unexpected " + ", ".join(unexpected))
    charge = resources.Charge._api_retrieve(id)
    if charge.status != "succeeded":
        raise UserError(400, "Only a succeeded charge can be disputed")
    disputed = charge.amount if amount is None else resources.try_convert_to_int(amount)
    if not isinstance(disputed, int) or not 0 < disputed <= charge.amount:
        raise UserError(400, "Bad request")
    dispute = Dispute(charge, disputed, str(reason))
    resources.schedule_webhook(resources.Event("charge.dispute.created", dispute))
    return dispute


def close_dispute(id: str, status: str = "", **unexpected: Any) -> Any:
    if unexpected or status not in ("won", "lost"):
        raise UserError(400, "status is won or lost")
    dispute = Dispute._api_retrieve(id)
    if dispute.status in ("won", "lost"):
        raise UserError(400, f"The dispute is already {dispute.status}")
    if status == "won":
        dispute.balance_transactions.append(
            record(
                amount=dispute.amount,
                currency=dispute.currency,
                type="adjustment",
                category="dispute_reversal",
                source=dispute.id,
                fee=-DISPUTE_FEE_MINOR,
                description=f"Chargeback reversal for {dispute.charge}",
            )
        )
    dispute.status = status
    resources.schedule_webhook(resources.Event("charge.dispute.closed", dispute))
    return dispute


def _charge_fee(original: Any) -> Any:
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self.reporting_category == "charge":
            self.fee = processing_fee(self.amount)
            self.fee_details = [_fee_detail(self.fee, self.currency, "Stripe processing fees")]

    return init


def _payout_transaction(original: Any) -> Any:
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        txn = record(
            amount=-self.amount,
            currency=self.currency,
            type="payout",
            category="payout",
            source=self.id,
            description=self.description or "STRIPE PAYOUT",
        )
        self.balance_transaction = txn.id

    return init


def install(app: Any) -> None:
    """Put the rules above on localstripe's classes and `app`'s router, once per process."""
    if getattr(resources, "_patronage_accounting", False):
        return
    resources.BalanceTransaction.__init__ = _charge_fee(resources.BalanceTransaction.__init__)
    resources.Payout.__init__ = _payout_transaction(resources.Payout.__init__)
    app.router.add_route("POST", "/_config/charges/{id}/dispute", api_extra(open_dispute, None))
    app.router.add_route("POST", "/_config/disputes/{id}/close", api_extra(close_dispute, None))
    app.router.add_route("GET", "/v1/disputes/{id}", api_retrieve(Dispute, "/v1/disputes/{id}"))
    app.router.add_route("GET", "/v1/disputes", api_list_all(Dispute, "/v1/disputes"))
    resources._patronage_accounting = True
