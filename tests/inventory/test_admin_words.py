"""Inventory in the merchant's words: readable titles, duplicate codes, a SKU with history,
receiving, import errors, and replenishment that suggests only where stock sells."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory.models import SKU, InboundKind, InboundShipment, InboundState, StockLevel, StockMovement
from inventory.services import inbound_create, stock_ship
from tests.conftest import _staff
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.worlds import admin_form_data


def _messages(response):
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def catalog(tenant_a, tenant_b):
    nj = WarehouseFactory(tenant=tenant_a, code="NJ1", postal_code="07001")
    tx = WarehouseFactory(tenant=tenant_a, code="TX1", postal_code="75201")
    shoe = SKUFactory(tenant=tenant_a, code="SHOE-42", name="Trail shoe")
    other_wh = WarehouseFactory(tenant=tenant_b, code="GX1", postal_code="10001")
    other_sku = SKUFactory(tenant=tenant_b, code="GLOBEX-SKU")
    return nj, tx, shoe, other_wh, other_sku


# --- titles and duplicates ---------------------------------------------------------------------
def test_stock_level_and_inbound_line_titles_read_with_codes(client, owner_a, tenant_a, catalog):
    nj, _tx, shoe, *_ = catalog
    level = stock(tenant_a, shoe, nj, 24)
    shipment = inbound_create(tenant=tenant_a, warehouse_id=nj.pk, lines=[(shoe.pk, 6)], reference="PO-1")
    assert str(level) == "SHOE-42 at NJ1: 24 on hand, 0 allocated, 0 reserved"
    assert str(shipment.lines.get()) == "SHOE-42: 0 of 6 received"
    assert str(shipment) == "Purchase order PO-1 (expected)"
    client.force_login(owner_a)
    page = client.get(reverse("admin:inventory_stocklevel_change", args=[level.pk])).content.decode()
    assert "SHOE-42 at NJ1" in page
    assert f"{shoe.pk}@{nj.pk}" not in page


def test_a_duplicate_sku_code_says_so_in_words(client, owner_a, catalog):
    client.force_login(owner_a)
    response = client.post(
        reverse("admin:inventory_sku_add"), {"code": "SHOE-42", "name": "Again", "price": "1"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "A SKU with code SHOE-42 already exists." in body
    assert "Tenant and Code" not in body


def test_a_code_another_tenant_uses_is_free(client, owner_a, tenant_a, catalog):
    client.force_login(owner_a)
    data = admin_form_data(client.get(reverse("admin:inventory_sku_add")))
    data.update({"code": "GLOBEX-SKU", "name": "Ours now", "price": "1"})
    response = client.post(reverse("admin:inventory_sku_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert SKU.objects.for_tenant(tenant_a).filter(code="GLOBEX-SKU").exists()


def test_a_duplicate_warehouse_code_says_so_in_words(client, owner_a, catalog):
    client.force_login(owner_a)
    response = client.post(
        reverse("admin:inventory_warehouse_add"),
        {"code": "NJ1", "name": "Again", "country": "US", "priority": "100", "default_lead_time_days": "14"},
    )
    assert "A warehouse with code NJ1 already exists." in response.content.decode()


# --- a SKU with history ---------------------------------------------------------------------
def test_deleting_a_sku_with_history_offers_to_deactivate_it(client, owner_a, tenant_a, catalog):
    nj, _tx, shoe, *_ = catalog
    stock(tenant_a, shoe, nj, 5)
    client.force_login(owner_a)
    page = client.get(reverse("admin:inventory_sku_delete", args=[shoe.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "SKU SHOE-42 has stock history, so it is not deleted" in body
    assert "1 stock levels" in body and "stock movements" in body
    assert "permission" not in body.lower()
    assert reverse("admin:inventory_sku_deactivate", args=[shoe.pk]) in body
    client.post(reverse("admin:inventory_sku_delete", args=[shoe.pk]), {"post": "yes"})
    assert SKU.objects.for_tenant(tenant_a).filter(pk=shoe.pk).exists()

    done = client.post(reverse("admin:inventory_sku_deactivate", args=[shoe.pk]), follow=True)
    assert any("SKU SHOE-42 is now inactive" in m for m in _messages(done))
    shoe.refresh_from_db()
    assert shoe.active is False


def test_a_sku_without_history_is_still_deleted(client, owner_a, tenant_a, catalog):
    fresh = SKUFactory(tenant=tenant_a, code="NEVER-USED")
    client.force_login(owner_a)
    page = client.get(reverse("admin:inventory_sku_delete", args=[fresh.pk]))
    assert "Are you sure" in page.content.decode()
    client.post(reverse("admin:inventory_sku_delete", args=[fresh.pk]), {"post": "yes"})
    assert not SKU.objects.for_tenant(tenant_a).filter(pk=fresh.pk).exists()


def test_deactivate_is_for_sku_managers_of_the_tenant(client, tenant_a, owner_a, catalog):
    *_, other_sku = catalog
    agent = _staff(tenant_a, "agent", "agent@acme.test")
    client.force_login(agent)
    _nj, _tx, shoe, *_ = catalog
    assert client.post(reverse("admin:inventory_sku_deactivate", args=[shoe.pk])).status_code == 403
    client.force_login(owner_a)
    assert client.post(reverse("admin:inventory_sku_deactivate", args=[other_sku.pk])).status_code == 404
    other_sku.refresh_from_db()
    shoe.refresh_from_db()
    assert other_sku.active and shoe.active


# --- receiving -------------------------------------------------------------------------------
def test_receiving_says_the_state_after(client, owner_a, tenant_a, catalog):
    nj, _tx, shoe, *_ = catalog
    shipment = inbound_create(
        tenant=tenant_a, warehouse_id=nj.pk, lines=[(shoe.pk, 24)], reference="PO-DEMO-1"
    )
    client.force_login(owner_a)
    done = client.post(
        reverse("admin:inventory_inboundshipment_changelist"),
        {"action": "receive_outstanding", "_selected_action": [shipment.pk]},
        follow=True,
    )
    [message] = _messages(done)
    assert "Purchase order PO-DEMO-1" in message and "it is now received" in message
    assert "(expected)" not in message


# --- import errors --------------------------------------------------------------------------
def test_import_errors_are_a_readable_list(client, owner_a, catalog):
    client.force_login(owner_a)
    content = b"code,name,price\nNEW-1,Stove,49.00\nNEW-2,Headlamp,not-a-price\n"
    response = client.post(
        reverse("admin:inventory_sku_import"),
        {"import_file": SimpleUploadedFile("skus.csv", content), "format": 0, "resource": 0},
    )
    body = response.content.decode()
    assert 'class="import-errors-readable"' in body
    assert "<strong>Row 2</strong>" in body
    assert "is not an amount" in body
    assert "validation-error-container" not in body  # no hover-only tooltips


# --- replenishment ---------------------------------------------------------------------------
def _sell(tenant, level, units):
    StockLevel.objects.for_tenant(tenant).filter(pk=level.pk).update(allocated=units)
    stock_ship(tenant=tenant, picks=[(level.pk, units)], reference="orders")


@pytest.fixture
def selling(tenant_a, catalog):
    """TX1 sells 2 a day and is nearly out; NJ1 has 500 that do not move; a second SKU sells
    nothing and sits at its reorder point."""
    nj, tx, shoe, *_ = catalog
    short = stock(tenant_a, shoe, tx, 60)
    _sell(tenant_a, short, 56)
    stock(tenant_a, shoe, nj, 500)
    idle = SKUFactory(tenant=tenant_a, code="IDLE-1")
    for wh in (nj, tx):
        level = stock(tenant_a, idle, wh, 3)
        StockLevel.objects.for_tenant(tenant_a).filter(pk=level.pk).update(reorder_point=10)
    return nj, tx, shoe


def test_replenishment_suggests_only_where_stock_sells_and_says_why(client, owner_a, selling):
    client.force_login(owner_a)
    page = client.get(reverse("admin:inventory_replenishment"))
    report = page.context["report"]
    assert [(t.sku, t.from_warehouse, t.to_warehouse) for t in report.transfers] == [
        ("SHOE-42", "NJ1", "TX1")
    ]
    assert report.reorders == []  # the transfer covers it
    [transfer] = report.transfers
    assert "TX1 sold 56 in 28 days (2/day)" in transfer.reason
    assert "NJ1 has 500 available (sold nothing in 28 days)" in transfer.reason
    body = page.content.decode()
    assert "∞" not in body
    assert "IDLE-1 at NJ1 (3 available)" in body  # listed apart, not suggested
    assert "Make this transfer" in body


def test_a_transfer_suggestion_becomes_a_transfer_in_one_click(client, owner_a, tenant_a, selling):
    nj, tx, shoe = selling
    client.force_login(owner_a)
    [transfer] = client.get(reverse("admin:inventory_replenishment")).context["report"].transfers
    done = client.post(
        reverse("admin:inventory_replenishment_transfer"),
        {
            "sku_id": transfer.sku_id,
            "from_warehouse_id": transfer.from_warehouse_id,
            "to_warehouse_id": transfer.to_warehouse_id,
            "quantity": transfer.quantity,
        },
        follow=True,
    )
    [message] = _messages(done)
    assert f"{transfer.quantity} unit(s) left NJ1 and are in transit to TX1" in message
    shipment = InboundShipment.objects.for_tenant(tenant_a).get(kind=InboundKind.TRANSFER)
    assert (shipment.state, shipment.warehouse_id, shipment.source_warehouse_id) == (
        InboundState.IN_TRANSIT,
        tx.pk,
        nj.pk,
    )
    assert StockMovement.objects.for_tenant(tenant_a).filter(reason="transfer_out", sku=shoe).exists()
    # the suggestion is gone: the units are incoming now
    assert client.get(reverse("admin:inventory_replenishment")).context["report"].transfers == []


def test_a_reorder_suggestion_becomes_a_purchase_order_in_one_click(client, owner_a, tenant_a, catalog):
    _nj, tx, shoe, *_ = catalog
    short = stock(tenant_a, shoe, tx, 60)
    _sell(tenant_a, short, 56)
    client.force_login(owner_a)
    page = client.get(reverse("admin:inventory_replenishment"))
    [reorder] = page.context["report"].reorders
    assert "Sold 56 in 28 days" in reorder.reason and "less than the 14-day lead time" in reorder.reason
    assert "Make a purchase order" in page.content.decode()
    done = client.post(
        reverse("admin:inventory_replenishment_reorder"),
        {
            "sku_id": reorder.sku_id,
            "warehouse_id": reorder.warehouse_id,
            "quantity": reorder.reorder_quantity,
        },
        follow=True,
    )
    [message] = _messages(done)
    assert f"{reorder.reorder_quantity} × SHOE-42 expected at TX1" in message
    po = InboundShipment.objects.for_tenant(tenant_a).get(kind=InboundKind.PURCHASE_ORDER)
    assert po.lines.get().quantity_expected == reorder.reorder_quantity


def test_one_click_suggestions_need_inbound_manage_and_the_tenants_rows(
    client, tenant_a, owner_a, warehouse_a, catalog
):
    nj, tx, shoe, other_wh, other_sku = catalog
    stock(tenant_a, shoe, nj, 10)
    client.force_login(warehouse_a)  # sees the report, may not buy or move stock
    page = client.get(reverse("admin:inventory_replenishment"))
    assert page.status_code == 200 and "Make a purchase order" not in page.content.decode()
    url = reverse("admin:inventory_replenishment_reorder")
    assert client.post(url, {"sku_id": shoe.pk, "warehouse_id": nj.pk, "quantity": 5}).status_code == 403
    client.force_login(owner_a)
    assert client.post(url, {"sku_id": other_sku.pk, "warehouse_id": nj.pk, "quantity": 5}).status_code == 404
    assert (
        client.post(url, {"sku_id": shoe.pk, "warehouse_id": other_wh.pk, "quantity": 5}).status_code == 404
    )
    transfer = reverse("admin:inventory_replenishment_transfer")
    forged = {"sku_id": shoe.pk, "from_warehouse_id": other_wh.pk, "to_warehouse_id": tx.pk, "quantity": 1}
    assert client.post(transfer, forged).status_code == 404
    assert not InboundShipment.objects.for_tenant(tenant_a).exists()
