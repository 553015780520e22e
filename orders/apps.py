from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from inventory.signals import stock_became_available
        from orders.receivers import on_stock_became_available

        stock_became_available.connect(on_stock_became_available, dispatch_uid="orders.backorders")
