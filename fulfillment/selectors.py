"""Fulfillment reads. Every selector takes the tenant."""

from __future__ import annotations

from typing import Any

from fulfillment.models import FulfillmentSettings


def fulfillment_settings_get(*, tenant: Any) -> FulfillmentSettings:
    """The tenant's settings row, or the defaults (unsaved) before staff first change them."""
    tenant_id = getattr(tenant, "pk", tenant)
    found = FulfillmentSettings.objects.for_tenant(tenant_id).first()
    return found if found is not None else FulfillmentSettings(tenant_id=tenant_id)
