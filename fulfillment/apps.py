from django.apps import AppConfig


class FulfillmentConfig(AppConfig):
    name = "fulfillment"

    def ready(self) -> None:
        from fulfillment.api.serializers import ShipmentOutputSerializer
        from fulfillment.release import on_order_allocated
        from fulfillment.selectors import ORDER_SHIPMENT_ROWS_SQL, order_shipments_for_api
        from fulfillment.shipping import on_order_recalled
        from orders.api.shipments import register_order_shipments
        from orders.signals import order_allocated, order_recalled

        # The order JSON shows its shipments as this room renders them (orders/api/shipments.py).
        register_order_shipments(
            fetch=order_shipments_for_api,
            serializer=ShipmentOutputSerializer,
            rows_sql=ORDER_SHIPMENT_ROWS_SQL,
        )
        # Orders tell fulfillment through signals sent inside the order's transaction.
        order_allocated.connect(on_order_allocated, dispatch_uid="fulfillment.auto_release")
        order_recalled.connect(on_order_recalled, dispatch_uid="fulfillment.order_recalled")
