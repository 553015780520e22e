from django.apps import AppConfig


class FulfillmentConfig(AppConfig):
    name = "fulfillment"

    def ready(self) -> None:
        from fulfillment.release import on_order_allocated
        from fulfillment.shipping import on_order_recalled
        from orders.signals import order_allocated, order_recalled

        order_allocated.connect(on_order_allocated, dispatch_uid="fulfillment.auto_release")
        order_recalled.connect(on_order_recalled, dispatch_uid="fulfillment.order_recalled")
