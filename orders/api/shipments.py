"""The `shipments` of the order JSON, as whoever owns shipments renders them.

Orders record what left the warehouse (`order_record_shipment`, an order event per shipment)
but do not own shipment rows: the fulfillment room does, and doors open one way (fulfillment
imports orders, never the reverse). So the room that owns shipments registers, once, at its
AppConfig.ready(), how an order's shipments are read and rendered:

    register_order_shipments(fetch=order_shipments_for_api, serializer=ShipmentOutputSerializer)

`fetch(order)` returns what `serializer` renders, oldest first; the serializer is also what the
OpenAPI schema shows for `shipments`. `rows_sql`, when the room keeps shipment rows, is a query
that finds a row of the order `o` (its `tenant_id` and `id`): the order page reads the order in
one statement on PostgreSQL (orders/api/render.py), asks there whether the order has shipment
rows or shipments recorded on it, and calls `fetch` only when it has. Until something registers
(orders on their own), the order shows the shipments recorded in its events
(`RecordedShipmentSerializer`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from orders.models import Order
from orders.selectors import order_shipments


class RecordedShipmentLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()


class RecordedShipmentSerializer(serializers.Serializer):
    reference = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    shipped_at = serializers.DateTimeField()
    lines = RecordedShipmentLineSerializer(many=True)


@dataclass(frozen=True)
class OrderShipments:
    fetch: Callable[[Order], Iterable[Any]]
    serializer: type[serializers.Serializer]
    rows_sql: str = ""


_DEFAULT = OrderShipments(fetch=order_shipments, serializer=RecordedShipmentSerializer)
_registered: OrderShipments | None = None


def register_order_shipments(
    *, fetch: Callable[[Order], Iterable[Any]], serializer: type[serializers.Serializer], rows_sql: str = ""
) -> None:
    """Called once, by the room that owns shipments, from its AppConfig.ready()."""
    global _registered
    _registered = OrderShipments(fetch=fetch, serializer=serializer, rows_sql=rows_sql)


def order_shipments_view() -> OrderShipments:
    return _registered or _DEFAULT


class OrderShipmentsField(serializers.ListSerializer):
    """Reads the whole order (`source="*"`) and renders what the registered `fetch` returns for it."""

    def __init__(self, view: OrderShipments, **kwargs: Any) -> None:
        self.fetch = view.fetch
        super().__init__(child=view.serializer(), source="*", read_only=True, **kwargs)

    def to_representation(self, data: Any) -> Any:
        return super().to_representation(list(self.fetch(data)))


def order_shipments_field() -> OrderShipmentsField:
    return OrderShipmentsField(order_shipments_view())
