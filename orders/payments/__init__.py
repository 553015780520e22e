"""Payments: the gateway protocol the order room owns, and the services that move money through it.

- `gateway`: the `PaymentGateway` protocol, its answers and errors, the registry of providers;
- `sandbox`: the in-memory provider for the demo and tests;
- `operations`: the lease machinery (store an operation, call the provider once, record the answer);
- `callbacks`: what each operation sends to the provider and what each answer does to the payment;
- `services`: payment-level writes (authorize, capture, void, refund, re-authorize);
- `policies`: order-level money (shipments, cancel, edits) and the sweeps;
- `recorders`: what a provider's webhook tells us.

This package exports the gateway protocol only; import the services from their modules.
"""

from orders.payments.gateway import (
    GatewayResult,
    PaymentDeclined,
    PaymentGateway,
    PaymentGatewayUnavailable,
    gateway_for,
    register_gateway,
)
from orders.payments.sandbox import SANDBOX_DECLINED_METHODS, SandboxGateway, sandbox_gateway

__all__ = [
    "SANDBOX_DECLINED_METHODS",
    "GatewayResult",
    "PaymentDeclined",
    "PaymentGateway",
    "PaymentGatewayUnavailable",
    "SandboxGateway",
    "gateway_for",
    "register_gateway",
    "sandbox_gateway",
]
