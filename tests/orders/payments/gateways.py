"""Sandbox gateways that misbehave in one way each, for the tests that need a provider to do so."""

from __future__ import annotations

import threading

from orders.payments import GatewayResult, PaymentDeclined, PaymentGatewayUnavailable, SandboxGateway


class BlockingGateway(SandboxGateway):
    """The provider does the work of `method`, then holds its answer back until `release` is set."""

    def __init__(self, method: str) -> None:
        super().__init__()
        self.method = method
        self.entered = threading.Event()
        self.release = threading.Event()

    def _held(self, method: str, result: GatewayResult) -> GatewayResult:
        if method == self.method:
            self.entered.set()
            self.release.wait(10)
        return result

    def authorize(self, **kwargs):
        return self._held("authorize", super().authorize(**kwargs))

    def capture(self, **kwargs):
        return self._held("capture", super().capture(**kwargs))


class FlakyCaptureGateway(SandboxGateway):
    """The first capture times out before it reaches the provider; later ones go through."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def capture(self, **kwargs):
        if self.failures:
            self.failures -= 1
            self.calls.append(("capture", kwargs["idempotency_key"]))
            raise PaymentGatewayUnavailable("read timeout")
        return super().capture(**kwargs)


class NoOffSessionGateway(SandboxGateway):
    """Charges without the customer present are declined (the bank wants authentication)."""

    def charge_off_session(self, **kwargs):
        self.calls.append(("charge_off_session", kwargs["idempotency_key"]))
        raise PaymentDeclined("This charge needs the customer.", failure_code="authentication_required")


class RefusingRefundGateway(SandboxGateway):
    """Every refund is refused by the provider (a closed card, say)."""

    def refund(self, **kwargs):
        self.calls.append(("refund", kwargs.get("idempotency_key", "")))
        raise PaymentDeclined("The refund was refused.", failure_code="refund_refused")
