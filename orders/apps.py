from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from inventory.signals import stock_became_available
        from oms.models import Tenant
        from orders.numbers import on_tenant_deleted, on_tenant_saved
        from orders.receivers import on_stock_became_available

        stock_became_available.connect(on_stock_became_available, dispatch_uid="orders.backorders")
        post_save.connect(on_tenant_saved, sender=Tenant, dispatch_uid="orders.numbers.made")
        post_delete.connect(on_tenant_deleted, sender=Tenant, dispatch_uid="orders.numbers.gone")
