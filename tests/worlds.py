"""A tenant with one row of every kind the admin shows, every text marked with the tenant's tag.

Used by the admin sweep (both tenants' rows present, only one's visible) and the role matrix.
"""

from __future__ import annotations

from typing import Any

from integrations.inbox import inbound_event_reject
from inventory.allocation import ShipTo
from inventory.services import inbound_create, reservation_create
from oms.core.audit import audit_record
from oms.models import Membership, Role
from oms.services import api_key_create
from orders.payments.services import payment_authorize
from orders.services import order_create, order_hold
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.oms.factories import UserFactory
from tests.orders.conftest import AUSTIN, order_input
from tests.orders.payments.factories import make_stripe_account


def staff(tenant: Any, role: str, email: str) -> Any:
    user = UserFactory(username=email, email=email, is_staff=True)
    Membership.objects.create(tenant=tenant, user=user, role=role)
    return user


def build_world(tenant: Any, tag: str) -> dict[str, Any]:
    """One row of every admin'd model for `tenant`; `tag` (e.g. "GLOBEX") is in every row's text."""
    low = tag.lower()
    warehouse = WarehouseFactory(tenant=tenant, code=f"{tag}-WH", name=f"{tag} depot", postal_code="75201")
    sku = SKUFactory(tenant=tenant, code="SKU-123", name=f"{tag} shoe")
    stock(tenant, sku, warehouse, 10)
    order, _ = order_create(
        tenant=tenant,
        data=order_input(
            f"{tag}-ORDER",
            customer={"email": f"buyer@{low}.test", "name": f"{tag} buyer"},
            ship_to={**AUSTIN, "name": f"{tag} buyer"},
        ),
    )
    order_hold(tenant=tenant, order_id=order.pk, kind="fraud", reason=f"{tag} review")
    payment = payment_authorize(tenant=tenant, order=order, provider="sandbox", payment_method="pm_card_visa")
    reservation = reservation_create(
        tenant=tenant,
        lines=[(sku.pk, 1)],
        ship_to=ShipTo(country="US", postal_code="78701"),
        ttl_seconds=600,
        reference=f"{tag}-cart",
    )
    inbound = inbound_create(
        tenant=tenant, warehouse_id=warehouse.pk, lines=[(sku.pk, 5)], reference=f"{tag}-PO"
    )
    audit_record(tenant=tenant, actor=None, action=f"{low}.event", object_type="x", object_id="1")
    account = make_stripe_account(tenant, "http://127.0.0.1:9", name=f"{tag} stripe")
    event = inbound_event_reject(
        account=account, headers={}, body=f'{{"id": "{tag}-evt"}}', error="signature"
    )
    owner = staff(tenant, Role.OWNER, f"owner@{low}.test")
    api_key_create(tenant=tenant, name=f"{tag} storefront", role=Role.MANAGER)
    return {
        "tenant": tenant,
        "warehouse": warehouse,
        "sku": sku,
        "order": order,
        "payment": payment,
        "reservation": reservation,
        "inbound": inbound,
        "account": account,
        "event": event,
        "owner": owner,
    }
