"""Import/export of SKUs, warehouses and stock (CSV, XLSX) for the admin.

Every resource acts for one tenant, given by the admin from request.tenant: lookups, foreign
keys and new rows are scoped to it, never to a tenant named in the file. A whole file
imports in one transaction, so one bad row changes nothing. Stock quantities are not
written directly: a changed on_hand becomes a cycle count through the stock service, so
the ledger stays whole. A stock import keeps the lock order (inventory/locks.py): before its
first row it creates the stock rows the file names that do not exist yet, and locks them all
in one statement. Column lists come from the services' field lists.
"""

from __future__ import annotations

from typing import Any

from import_export import fields, resources, widgets

from inventory import locks
from inventory.models import SKU, MovementReason, StockLevel, Warehouse
from inventory.services import (
    SKU_FIELDS,
    STOCK_PLANNING_FIELDS,
    WAREHOUSE_FIELDS,
    _fill_coordinates,
    _normalise_ships_to,
    stock_adjust,
)


class TenantForeignKeyWidget(widgets.ForeignKeyWidget):
    """Looks a related row up by `field` among the tenant's rows only."""

    tenant: Any = None

    def get_queryset(self, value: Any, row: Any, *args: Any, **kwargs: Any) -> Any:
        if self.tenant is None:
            return self.model.objects.unscoped().none()
        return self.model.objects.for_tenant(self.tenant)

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        try:
            return super().clean(value, row, **kwargs)
        except self.model.DoesNotExist:
            raise ValueError(f"No {self.model._meta.verbose_name} with {self.field} {value!r}.")


class ShipsToWidget(widgets.Widget):
    """Country codes as "US CA" or "US,CA" in a cell."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> list[str]:
        return _normalise_ships_to(str(value or "").replace(",", " ").split())

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return " ".join(value or [])


class AmountWidget(widgets.DecimalWidget):
    """A decimal amount; a cell that is not one is a validation error of its row, not a crash."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        try:
            return super().clean(value, row, **kwargs)
        except (ArithmeticError, ValueError):
            raise ValueError(f"{value!r} is not an amount; write it like 19.99.")


class TenantResource(resources.ModelResource):
    def __init__(self, tenant: Any = None, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tenant = tenant
        self.actor = actor
        for field in self.fields.values():
            if isinstance(field.widget, TenantForeignKeyWidget):
                field.widget.tenant = tenant

    def get_queryset(self) -> Any:
        model = self._meta.model
        if self.tenant is None:
            return model.objects.unscoped().none()
        return model.objects.for_tenant(self.tenant)

    def init_instance(self, row: Any = None) -> Any:
        if self.tenant is None:
            raise ValueError("An import needs a tenant.")
        return self._meta.model(tenant=self.tenant)

    def before_save_instance(self, instance: Any, row: Any, **kwargs: Any) -> None:
        instance.tenant = self.tenant  # whatever the file says, rows belong to the importing tenant


class SKUResource(TenantResource):
    price = fields.Field(attribute="price", column_name="price", widget=AmountWidget())

    class Meta:
        model = SKU
        import_id_fields = ("code",)
        fields = ("code", *SKU_FIELDS)
        export_order = fields
        use_transactions = True
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False


class WarehouseResource(TenantResource):
    ships_to = fields.Field(attribute="ships_to", column_name="ships_to", widget=ShipsToWidget())

    class Meta:
        model = Warehouse
        import_id_fields = ("code",)
        fields = ("code", *WAREHOUSE_FIELDS)
        export_order = fields
        use_transactions = True
        clean_model_instances = True

    def before_save_instance(self, instance: Any, row: Any, **kwargs: Any) -> None:
        super().before_save_instance(instance, row, **kwargs)
        instance.country = (instance.country or "US").upper()
        if instance.latitude is None or instance.longitude is None:
            _fill_coordinates(instance)


class StockLevelResource(TenantResource):
    sku = fields.Field(attribute="sku", column_name="sku", widget=TenantForeignKeyWidget(SKU, "code"))
    warehouse = fields.Field(
        attribute="warehouse", column_name="warehouse", widget=TenantForeignKeyWidget(Warehouse, "code")
    )
    allocated = fields.Field(attribute="allocated", column_name="allocated", readonly=True)
    reserved = fields.Field(attribute="reserved", column_name="reserved", readonly=True)
    available = fields.Field(attribute="available", column_name="available", readonly=True)

    class Meta:
        model = StockLevel
        import_id_fields = ("sku", "warehouse")
        fields = ("sku", "warehouse", "on_hand", "allocated", "reserved", "available", *STOCK_PLANNING_FIELDS)
        export_order = fields
        use_transactions = True
        clean_model_instances = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.created_pairs: set[tuple[int, int]] = set()

    def get_queryset(self) -> Any:
        return super().get_queryset().select_related("sku", "warehouse")

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        """Create the file's missing stock rows, then lock every row it names in one statement."""
        super().before_import(dataset, **kwargs)
        if self.tenant is None or "sku" not in dataset.headers or "warehouse" not in dataset.headers:
            return
        named = {(str(row["sku"]).strip(), str(row["warehouse"]).strip()) for row in dataset.dict}
        skus = dict(
            SKU.objects.for_tenant(self.tenant)
            .filter(code__in={sku for sku, _ in named})
            .values_list("code", "pk")
        )
        warehouses = dict(
            Warehouse.objects.for_tenant(self.tenant)
            .filter(code__in={wh for _, wh in named})
            .values_list("code", "pk")
        )
        pairs = [(skus[sku], warehouses[wh]) for sku, wh in named if sku in skus and wh in warehouses]
        self.created_pairs = set(locks.stock_rows_create(tenant=self.tenant, pairs=pairs))
        locks.stock_lock(tenant=self.tenant, pairs=pairs)

    def get_or_init_instance(self, instance_loader: Any, row: Any) -> tuple[Any, bool]:
        """A row created by before_import still reads as new in the import's report."""
        instance, new = super().get_or_init_instance(instance_loader, row)
        return instance, new or (instance.sku_id, instance.warehouse_id) in self.created_pairs

    def do_instance_save(self, instance: StockLevel, is_create: bool) -> None:
        """Save the planning fields; a changed on_hand goes through the stock service as a count."""
        target = instance.on_hand
        if target is None or int(target) < 0:
            raise ValueError("on_hand must be a whole number, 0 or more.")
        if instance.pk is None:  # not named in the file as before_import read it
            pair = (instance.sku_id, instance.warehouse_id)
            locks.stock_rows_create(tenant=self.tenant, pairs=[pair])
            instance.pk = locks.stock_lock(tenant=self.tenant, pairs=[pair]).at(*pair).pk
        current = (
            StockLevel.objects.for_tenant(self.tenant).values_list("on_hand", flat=True).get(pk=instance.pk)
        )
        instance.on_hand = current
        instance.save(update_fields=[*STOCK_PLANNING_FIELDS, "updated_at"])
        if int(target) != current:
            stock_adjust(
                tenant=self.tenant,
                sku_id=instance.sku_id,
                warehouse_id=instance.warehouse_id,
                on_hand=int(target),
                reason=MovementReason.COUNT,
                reference="import",
                actor=self.actor,
            )
            instance.refresh_from_db()
