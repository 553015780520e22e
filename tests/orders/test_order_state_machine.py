"""The whole order state graph: every (state, transition) pair, allowed or refused."""

from __future__ import annotations

import pytest
from django_fsm import TransitionNotAllowed, can_proceed

from orders.models import Order
from orders.states import OrderState as S

ALL = list(S)
ALLOWED = {
    # in fulfillment: its open shipments are cancelled first (fulfillment listens)
    "hold": {S.PENDING, S.ALLOCATED, S.PARTIALLY_ALLOCATED, S.BACKORDERED, S.IN_FULFILLMENT},
    "release": {S.ON_HOLD},
    "apply_allocation": {S.PENDING, S.ALLOCATED, S.PARTIALLY_ALLOCATED, S.BACKORDERED},
    "start_fulfillment": {S.ALLOCATED, S.PARTIALLY_ALLOCATED},
    "stop_fulfillment": {S.IN_FULFILLMENT},
    "record_shipment": {
        S.ALLOCATED,
        S.PARTIALLY_ALLOCATED,
        S.IN_FULFILLMENT,
        S.PARTIALLY_SHIPPED,
        S.BACKORDERED,
    },
    "deliver": {S.SHIPPED},
    "complete": {S.DELIVERED},
    "cancel": {S.PENDING, S.ON_HOLD, S.ALLOCATED, S.PARTIALLY_ALLOCATED, S.BACKORDERED, S.IN_FULFILLMENT},
}
ARGS = {
    "apply_allocation": {"outcome": S.ALLOCATED},
    "stop_fulfillment": {"outcome": S.ALLOCATED},
    "record_shipment": {"complete": True},
    "cancel": {"reason": "x"},
}


def _order_in(state):
    order = Order(number="1", external_id="x", currency="USD")
    order.__dict__["state"] = state  # the field is protected; set the loaded value as the database would
    return order


@pytest.mark.parametrize("transition", sorted(ALLOWED))
@pytest.mark.parametrize("state", ALL)
def test_transition_is_allowed_exactly_where_the_design_says(state, transition):
    order = _order_in(state)
    method = getattr(order, transition)
    expected = state in ALLOWED[transition]
    assert can_proceed(method) is expected
    if expected:
        method(**ARGS.get(transition, {}))
        assert order.state != state or transition in {"apply_allocation", "record_shipment"}
    else:
        with pytest.raises(TransitionNotAllowed):
            method(**ARGS.get(transition, {}))
        assert order.state == state


def test_cancelled_and_completed_are_terminal():
    for state in (S.CANCELLED, S.COMPLETED):
        order = _order_in(state)
        assert not any(can_proceed(getattr(order, t)) for t in ALLOWED)
