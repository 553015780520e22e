"""The in-memory sandbox provider ("sandbox"): the demo, and tests where the vendor is beside the point.

It approves any card but the declining test cards, so it must never take a real shop's
orders: outside development and tests (`PAYMENT_SANDBOX_ALLOWED`) only a tenant whose
configured gateway is the sandbox may use it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings

from oms.core.errors import DomainError
from orders.payments.gateway import GatewayResult, PaymentDeclined, register_gateway

SANDBOX_DECLINED_METHODS = frozenset(
    {"pm_card_chargeDeclined", "pm_card_visa_chargeDeclined", "pm_card_chargeCustomerFail"}
)


@dataclass
class _SandboxIntent:
    id: str
    amount: Decimal
    currency: str
    payment_method: str
    status: str  # authorized | captured | voided
    captured: Decimal = Decimal("0.00")
    refunded: Decimal = Decimal("0.00")


class SandboxGateway:
    """An in-memory provider: approves everything except the declining test cards.

    Like a real provider it answers a repeated idempotency key with the first answer, and
    it records every call in `calls` so tests can count what reached the "vendor".
    """

    provider = "sandbox"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.intents: dict[str, _SandboxIntent] = {}
        self.refunds: dict[str, tuple[str, Decimal]] = {}
        self.calls: list[tuple[str, str]] = []
        self._answers: dict[str, GatewayResult | PaymentDeclined] = {}

    def reset(self) -> None:
        with self._lock:
            self.intents.clear()
            self.refunds.clear()
            self.calls.clear()
            self._answers.clear()

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_sandbox_{next(self._ids)}"

    def _once(self, method: str, key: str, fn: Callable[[], GatewayResult]) -> GatewayResult:
        with self._lock:
            self.calls.append((method, key))
            if key in self._answers:
                answer = self._answers[key]
            else:
                try:
                    answer = fn()
                except PaymentDeclined as exc:
                    answer = exc
                self._answers[key] = answer
        if isinstance(answer, PaymentDeclined):
            raise answer
        return answer

    def _intent(self, provider_id: str) -> _SandboxIntent:
        intent = self.intents.get(provider_id)
        if intent is None:
            raise PaymentDeclined("No such payment.", failure_code="resource_missing")
        return intent

    def _create(self, *, amount: Decimal, currency: str, payment_method: str, capture: bool) -> GatewayResult:
        if amount <= 0:
            raise PaymentDeclined("Amount must be positive.", failure_code="invalid_amount")
        if payment_method in SANDBOX_DECLINED_METHODS:
            raise PaymentDeclined(
                "Your card was declined.", failure_code="card_declined", provider_id=self._new_id("pi")
            )
        intent = _SandboxIntent(
            id=self._new_id("pi"),
            amount=amount,
            currency=currency,
            payment_method=payment_method,
            status="captured" if capture else "authorized",
            captured=amount if capture else Decimal("0.00"),
        )
        self.intents[intent.id] = intent
        return GatewayResult(provider_id=intent.id, status=intent.status, amount=amount)

    def authorize(
        self,
        *,
        amount: Decimal,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        metadata: dict,
        customer_ref: str = "",
        off_session: bool = False,
    ) -> GatewayResult:
        return self._once(
            "authorize",
            idempotency_key,
            lambda: self._create(
                amount=amount, currency=currency, payment_method=payment_method, capture=False
            ),
        )

    def charge_off_session(
        self,
        *,
        amount: Decimal,
        currency: str,
        payment_method: str,
        customer_ref: str,
        idempotency_key: str,
        metadata: dict,
    ) -> GatewayResult:
        return self._once(
            "charge_off_session",
            idempotency_key,
            lambda: self._create(
                amount=amount, currency=currency, payment_method=payment_method, capture=True
            ),
        )

    def capture(self, *, provider_id: str, amount: Decimal, idempotency_key: str) -> GatewayResult:
        def do() -> GatewayResult:
            intent = self._intent(provider_id)
            if intent.status != "authorized" or not (0 < amount <= intent.amount):
                raise PaymentDeclined("This payment cannot be captured.", failure_code="invalid_state")
            intent.status, intent.captured = "captured", amount
            return GatewayResult(provider_id=intent.id, status="captured", amount=amount)

        return self._once("capture", idempotency_key, do)

    def void(self, *, provider_id: str, idempotency_key: str) -> GatewayResult:
        def do() -> GatewayResult:
            intent = self._intent(provider_id)
            if intent.status != "authorized":
                raise PaymentDeclined("This payment cannot be voided.", failure_code="invalid_state")
            intent.status = "voided"
            return GatewayResult(provider_id=intent.id, status="voided", amount=intent.amount)

        return self._once("void", idempotency_key, do)

    def refund(
        self, *, provider_id: str, amount: Decimal, idempotency_key: str, reason: str = ""
    ) -> GatewayResult:
        def do() -> GatewayResult:
            intent = self._intent(provider_id)
            if intent.status != "captured" or not (0 < amount <= intent.captured - intent.refunded):
                raise PaymentDeclined(
                    "This refund exceeds the captured amount.", failure_code="invalid_amount"
                )
            intent.refunded += amount
            refund_id = self._new_id("re")
            self.refunds[refund_id] = (intent.id, amount)
            return GatewayResult(provider_id=refund_id, status="refunded", amount=amount)

        return self._once("refund", idempotency_key, do)


sandbox_gateway = SandboxGateway()


def sandbox_allowed(tenant: Any) -> bool:
    """Development and tests (`PAYMENT_SANDBOX_ALLOWED`), or a tenant explicitly in sandbox mode."""
    if getattr(settings, "PAYMENT_SANDBOX_ALLOWED", False):
        return True
    return getattr(tenant, "payment_gateway", "") == SandboxGateway.provider


def sandbox_gateway_for(tenant: Any) -> SandboxGateway:
    if not sandbox_allowed(tenant):
        raise DomainError(
            "payment_provider_not_allowed",
            "The sandbox gateway approves any card; this merchant is not in sandbox mode.",
            provider=SandboxGateway.provider,
        )
    return sandbox_gateway


register_gateway(SandboxGateway.provider, sandbox_gateway_for)
