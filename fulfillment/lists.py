"""A pick list follows its shipments: done when nothing on it is left to pick, cancelled when no
shipment is left on it. Called inside the transaction that changed a shipment or a line."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone

from fulfillment.models import PickList, Shipment, ShipmentLine
from fulfillment.states import PickListState, ShipmentState


def pick_list_refresh(*, tenant: Any, pick_list_id: int | None) -> str | None:
    """Close an open list when nothing on it is left to pick (a cancelled shipment has left its list
    already; a shipped or packed one counts as picked). Returns the list's new state, if it
    changed. A guarded UPDATE: two scans finishing the list at once close it once."""
    if pick_list_id is None:
        return None
    shipments = Shipment.objects.for_tenant(tenant).filter(pick_list_id=pick_list_id)
    if not shipments.exists():
        state = PickListState.CANCELLED
    elif (
        ShipmentLine.objects.for_tenant(tenant)
        .filter(
            shipment__pick_list_id=pick_list_id,
            shipment__state=ShipmentState.PICKING,
            quantity__gt=F("quantity_picked"),
        )
        .exists()
    ):
        return None
    else:
        state = PickListState.DONE
    changed = (
        PickList.objects.for_tenant(tenant)
        .filter(pk=pick_list_id, state=PickListState.OPEN)
        .update(state=state, completed_at=timezone.now())
    )
    return state if changed else None
