"""The channel gateway protocol the orders room owns, and the registry of implementations.

An order came in through a channel (`Order.channel`): "api" for the merchant's own
storefront, or a marketplace ("shopify", "woocommerce", "amazon", "ebay"). What we learn
later about the order goes back to that channel: the tracking of each shipment, a
cancellation. Domain code never imports a marketplace SDK; it asks
`channel_gateway_for(tenant, channel)` for something that speaks `ChannelGateway`, and each
marketplace package under `integrations/` registers its adapter in its AppConfig.ready().

A channel with no registered gateway (today every one but "shopify"; "api" never has one: a
storefront reads its orders' tracking from the REST API) gets nothing pushed; the caller
records the push as skipped. A gateway:
- returns when the channel accepted the update (or already had it: pushes are repeated
  after an unknown outcome, so an adapter makes them idempotent on `reference`);
- raises `ChannelRefused` when the channel definitively refused it (the order is unknown
  there, the update is invalid): repeating it will not help;
- raises `ChannelUnavailable` when the outcome is unknown or the channel is unreachable
  (connection refused, timeout, 5xx, 429): the caller retries with backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from oms.core.errors import DomainError

# The channel of orders placed through the storefront REST API: nothing to push to.
API_CHANNEL = "api"


@dataclass(frozen=True)
class ChannelLine:
    """One order line's units in the update, as the channel knows the order."""

    order_line_id: int  # ours
    sku: str
    quantity: int


@dataclass(frozen=True)
class TrackingPush:
    reference: str  # ours (the shipment number): the same push twice is one update at the channel
    order_external_id: str
    carrier: str
    tracking_number: str
    tracking_url: str
    lines: tuple[ChannelLine, ...]


@dataclass(frozen=True)
class CancellationPush:
    reference: str
    order_external_id: str
    reason: str
    lines: tuple[ChannelLine, ...]


class ChannelRefused(DomainError):
    """The channel definitively refused the update."""

    status = 422

    def __init__(self, message: str, *, code: str = "channel_refused", **extra: object) -> None:
        super().__init__(code, message, **extra)


class ChannelUnavailable(Exception):
    """Transient: connection refused, timeout, 5xx, 429. The outcome is unknown."""


@runtime_checkable
class ChannelGateway(Protocol):
    channel: str

    def push_tracking(self, *, push: TrackingPush) -> None: ...

    def push_cancellation(self, *, push: CancellationPush) -> None: ...


ChannelGatewayFactory = Callable[[Any], ChannelGateway | None]
_FACTORIES: dict[str, ChannelGatewayFactory] = {}


def register_channel_gateway(channel: str, factory: ChannelGatewayFactory) -> None:
    """`factory(tenant)` returns the gateway of that tenant's account on `channel` (None: no account)."""
    _FACTORIES[channel] = factory


def unregister_channel_gateway(channel: str) -> None:
    _FACTORIES.pop(channel, None)


def channel_gateway_for(tenant: Any, channel: str) -> ChannelGateway | None:
    """The gateway that takes updates for orders of `channel`, or None when nothing is pushed there."""
    factory = _FACTORIES.get(channel)
    return None if factory is None else factory(tenant)
