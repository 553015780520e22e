"""The inventory admin: tenant A's staff never see tenant B's rows; imports are all or nothing."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from inventory.allocation import ShipTo
from inventory.models import SKU, Reservation, StockLevel, StockMovement, Warehouse
from inventory.services import inbound_create, reservation_create, stock_adjust
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock


@pytest.fixture
def both_tenants(tenant_a, tenant_b, owner_a, owner_b):
    a_wh = WarehouseFactory(tenant=tenant_a, code="ACME-WH", postal_code="78701")
    b_wh = WarehouseFactory(tenant=tenant_b, code="GLOBEX-WH", postal_code="10001")
    a_sku = SKUFactory(tenant=tenant_a, code="ACME-SKU")
    b_sku = SKUFactory(tenant=tenant_b, code="GLOBEX-SKU", name="Globex secret widget")
    stock(tenant_a, a_sku, a_wh, 5)
    stock(tenant_b, b_sku, b_wh, 5)
    stock_adjust(tenant=tenant_b, sku_id=b_sku.pk, warehouse_id=b_wh.pk, delta=-1, reference="globex-ref")
    reservation_create(
        tenant=tenant_b, lines=[(b_sku.pk, 1)], ship_to=ShipTo("US", "10001"), reference="globex-hold"
    )
    inbound_create(tenant=tenant_b, warehouse_id=b_wh.pk, lines=[(b_sku.pk, 3)], reference="GLOBEX-PO")
    return a_sku, b_sku, a_wh, b_wh


CHANGELISTS = ["sku", "warehouse", "stocklevel", "stockmovement", "reservation", "inboundshipment"]


@pytest.mark.parametrize("model", CHANGELISTS)
def test_changelists_show_only_own_rows(client, owner_a, both_tenants, model):
    client.force_login(owner_a)
    response = client.get(reverse(f"admin:inventory_{model}_changelist"))
    assert response.status_code == 200
    body = response.content.decode().lower()
    assert "globex" not in body


def test_stock_filters_offer_only_own_warehouses(client, owner_a, both_tenants):
    client.force_login(owner_a)
    body = client.get(reverse("admin:inventory_stocklevel_changelist")).content.decode()
    assert "ACME-WH" in body
    assert "GLOBEX-WH" not in body
    movements = client.get(reverse("admin:inventory_stockmovement_changelist")).content.decode()
    assert "GLOBEX-WH" not in movements


@pytest.mark.parametrize("model", ["sku", "warehouse", "stocklevel"])
def test_change_forms_of_another_tenants_rows_are_not_served(client, owner_a, tenant_b, both_tenants, model):
    client.force_login(owner_a)
    _, b_sku, _, b_wh = both_tenants
    target = {
        "sku": b_sku,
        "warehouse": b_wh,
        "stocklevel": StockLevel.objects.for_tenant(tenant_b).get(sku=b_sku),
    }[model]
    response = client.get(reverse(f"admin:inventory_{model}_change", args=[target.pk]), follow=True)
    assert "globex" not in response.content.decode().lower()
    assert b"doesn\xe2\x80\x99t exist" in response.content


def test_add_stock_form_offers_only_own_skus_and_warehouses(client, owner_a, both_tenants):
    client.force_login(owner_a)
    body = client.get(reverse("admin:inventory_stocklevel_add")).content.decode()
    assert "GLOBEX" not in body
    # SKU and warehouse are chosen through autocomplete, which reads the scoped admin querysets
    for field, mine in (("sku", "ACME-SKU"), ("warehouse", "ACME-WH")):
        found = client.get(
            reverse("admin:autocomplete"),
            {"term": "", "app_label": "inventory", "model_name": "stocklevel", "field_name": field},
        ).json()
        texts = " ".join(row["text"] for row in found["results"])
        assert mine in texts and "GLOBEX" not in texts


def test_the_ledger_is_read_only(client, owner_a, tenant_a, both_tenants):
    client.force_login(owner_a)
    movement = StockMovement.objects.for_tenant(tenant_a).first()
    assert client.get(reverse("admin:inventory_stockmovement_add")).status_code == 403
    response = client.post(
        reverse("admin:inventory_stockmovement_change", args=[movement.pk]),
        {"delta": 100, "reason": "receipt"},
    )
    assert response.status_code == 403
    assert client.post(reverse("admin:inventory_stockmovement_delete", args=[movement.pk])).status_code == 403
    movement.refresh_from_db()
    assert movement.delta == 5


def test_low_stock_filter(client, owner_a, tenant_a, both_tenants):
    _a_sku, _, a_wh, _ = both_tenants
    low = SKUFactory(tenant=tenant_a, code="LOW-SKU")
    level = stock(tenant_a, low, a_wh, 1)
    StockLevel.objects.for_tenant(tenant_a).filter(pk=level.pk).update(reorder_point=3)
    client.force_login(owner_a)
    body = client.get(reverse("admin:inventory_stocklevel_changelist") + "?stock=low").content.decode()
    assert "LOW-SKU" in body
    assert "ACME-SKU" not in body


def test_reservation_release_action(client, owner_a, tenant_a, both_tenants):
    a_sku, _, _, _ = both_tenants
    reservation = reservation_create(tenant=tenant_a, lines=[(a_sku.pk, 2)], ship_to=ShipTo("US", "78701"))
    client.force_login(owner_a)
    response = client.post(
        reverse("admin:inventory_reservation_changelist"),
        {"action": "release_reservations", "_selected_action": [reservation.pk]},
        follow=True,
    )
    assert response.status_code == 200
    reservation.refresh_from_db()
    assert reservation.state == "released"
    assert StockLevel.objects.for_tenant(tenant_a).get(sku=a_sku).reserved == 0


def test_replenishment_page(client, owner_a, tenant_a, both_tenants):
    a_sku, _, _a_wh, _ = both_tenants
    StockLevel.objects.for_tenant(tenant_a).filter(sku=a_sku).update(reorder_point=10)
    client.force_login(owner_a)
    body = client.get(reverse("admin:inventory_replenishment")).content.decode()
    assert "ACME-SKU" in body
    assert "GLOBEX" not in body


# --- import -------------------------------------------------------------------------------
def _import(client, model, filename, content, fmt_index):
    url = reverse(f"admin:inventory_{model}_import")
    upload = SimpleUploadedFile(filename, content)
    return client.post(url, {"import_file": upload, "format": fmt_index, "resource": 0})


def _rows_named(response):
    """Row numbers the import page reports as bad (validation errors and row errors)."""
    result = response.context["result"]
    numbers = {row.number for row in result.invalid_rows}
    numbers |= {number for number, _errors in result.row_errors()}
    return numbers


def _xlsx(rows):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


SKU_ROWS = [
    ["code", "name", "price", "weight_grams"],
    ["NEW-1", "Camp stove", "49.00", "800"],
    ["NEW-2", "Headlamp", "not-a-price", "90"],
    ["NEW-3", "Water filter", "35.00", "300"],
]


@pytest.mark.parametrize(
    ("filename", "fmt_index", "content"),
    [
        ("skus.csv", 0, "\n".join(",".join(row) for row in SKU_ROWS).encode()),
        ("skus.xlsx", 1, _xlsx(SKU_ROWS)),
    ],
)
def test_an_import_with_one_bad_row_changes_nothing_and_names_the_row(
    client, owner_a, tenant_a, both_tenants, filename, fmt_index, content
):
    client.force_login(owner_a)
    before = SKU.objects.for_tenant(tenant_a).count()

    response = _import(client, "sku", filename, content, fmt_index)

    assert response.status_code == 200
    body = response.content.decode()
    assert _rows_named(response) == {2}  # the second data row, "Headlamp"
    assert "Headlamp" in body
    assert "is not an amount" in body
    assert response.context.get("confirm_form") is None
    assert SKU.objects.for_tenant(tenant_a).count() == before
    assert not SKU.objects.unscoped().filter(code__startswith="NEW-").exists()


def test_a_clean_import_goes_to_the_importing_tenant(client, owner_a, tenant_a, tenant_b, both_tenants):
    client.force_login(owner_a)
    content = b"code,name,price\nGLOBEX-SKU,Renamed by acme,1.00\nNEW-9,Trekking pole,30.00\n"
    response = _import(client, "sku", "skus.csv", content, 0)
    confirm = response.context["confirm_form"]
    response = client.post(reverse("admin:inventory_sku_process_import"), confirm.initial, follow=True)
    assert response.status_code == 200
    assert set(SKU.objects.for_tenant(tenant_a).values_list("code", flat=True)) >= {"GLOBEX-SKU", "NEW-9"}
    assert SKU.objects.for_tenant(tenant_b).get(code="GLOBEX-SKU").name == "Globex secret widget"


def test_stock_import_counts_through_the_ledger_and_refuses_unknown_codes(
    client, owner_a, tenant_a, both_tenants
):
    client.force_login(owner_a)
    bad = b"sku,warehouse,on_hand,reorder_point\nACME-SKU,ACME-WH,9,2\nGLOBEX-SKU,ACME-WH,4,0\n"
    response = _import(client, "stocklevel", "stock.csv", bad, 0)
    assert _rows_named(response) == {2}
    assert "No SKU with code" in response.content.decode()
    assert StockLevel.objects.for_tenant(tenant_a).get(sku__code="ACME-SKU").on_hand == 5

    good = b"sku,warehouse,on_hand,reorder_point\nACME-SKU,ACME-WH,9,2\n"
    response = _import(client, "stocklevel", "stock.csv", good, 0)
    client.post(
        reverse("admin:inventory_stocklevel_process_import"), response.context["confirm_form"].initial
    )
    level = StockLevel.objects.for_tenant(tenant_a).get(sku__code="ACME-SKU")
    assert (level.on_hand, level.reorder_point) == (9, 2)
    count = StockMovement.objects.for_tenant(tenant_a).filter(stock_level=level).first()
    assert (count.reason, count.delta, count.reference) == ("count", 4, "import")


def test_export_contains_only_own_rows(client, owner_a, both_tenants):
    client.force_login(owner_a)
    response = client.post(
        reverse("admin:inventory_warehouse_export"),
        {"format": 0, "resource": 0, "warehouseresource_code": True},
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"ACME-WH" in body
    assert b"GLOBEX" not in body
    assert Warehouse.objects.unscoped().filter(code="GLOBEX-WH").exists()
    assert Reservation.objects.unscoped().exists()
