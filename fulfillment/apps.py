from django.apps import AppConfig


class FulfillmentConfig(AppConfig):
    name = "fulfillment"

    def ready(self) -> None:
        from fulfillment.api.queries import order_shipments_for_api
        from fulfillment.api.serializers import ShipmentOutputSerializer
        from orders.api.shipments import register_order_shipments

        # The order JSON shows its shipments as this room renders them (orders/api/shipments.py).
        register_order_shipments(fetch=order_shipments_for_api, serializer=ShipmentOutputSerializer)
