"""Returns in the admin: the queue by state, bulk authorize, inspect-and-refund, opening a return for
a customer, and the return-rate report, each for the staff member's own tenant only."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse

from oms.models import Role
from returns.models import ReturnPolicy, ReturnRequest
from tests.returns.factories import authorized_return, line_of, open_return, receive_all, shipped_order
from tests.worlds import staff

CHANGELIST = "admin:returns_returnrequest_changelist"


def test_the_queue_shows_open_returns_by_state(client, tenant_a, tenant_b):
    owner = staff(tenant_a, Role.OWNER, "owner@acme.test")
    order = shipped_order(tenant_a, delivered_days_ago=1)
    requested = open_return(order, ("RET-1", 1, "wrong_size"))
    cancelled = open_return(order, ("RET-2", 1, "defective"))
    cancelled_ret = ReturnRequest.objects.for_tenant(tenant_a).filter(pk=cancelled.pk)
    cancelled_ret.update(state="cancelled")
    theirs = open_return(shipped_order(tenant_b, delivered_days_ago=1))
    client.force_login(owner)

    page = client.get(reverse(CHANGELIST), {"state": "open"})
    rows = [r.pk for r in page.context["cl"].result_list]
    assert rows == [requested.pk]
    assert theirs.pk not in rows and theirs.tenant_id != tenant_a.pk
    by_state = client.get(reverse(CHANGELIST), {"state": "cancelled"})
    assert [r.pk for r in by_state.context["cl"].result_list] == [cancelled.pk]
    assert "Return rate report" in page.content.decode()


def test_bulk_authorize_authorizes_each_and_names_the_refusals(client, tenant_a):
    agent = staff(tenant_a, Role.AGENT, "agent@acme.test")
    first = open_return(shipped_order(tenant_a, delivered_days_ago=1))
    second = open_return(shipped_order(tenant_a, delivered_days_ago=1))
    already = authorized_return(shipped_order(tenant_a, delivered_days_ago=1))
    client.force_login(agent)

    response = client.post(
        reverse(CHANGELIST),
        {"action": "authorize_selected", "_selected_action": [first.pk, second.pk, already.pk]},
        follow=True,
    )

    text = response.content.decode()
    assert "Authorized 2 return(s)." in text
    assert (
        f"{already.rma_number}: Return {already.rma_number} is authorized: it cannot be authorized." in text
    )
    states = dict(ReturnRequest.objects.for_tenant(tenant_a).values_list("pk", "state"))
    assert states[first.pk] == states[second.pk] == "authorized"


def test_resolve_inspects_and_refunds(client, tenant_a, django_capture_on_commit_callbacks):
    manager = staff(tenant_a, Role.MANAGER, "manager@acme.test")
    ret = receive_all(
        authorized_return(shipped_order(tenant_a, delivered_days_ago=1), ("RET-2", 1, "defective"))
    )
    client.force_login(manager)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse(CHANGELIST), {"action": "resolve_selected", "_selected_action": [ret.pk]})

    ret.refresh_from_db()
    assert ret.state == "refunded" and ret.refund_amount == Decimal("10.00")
    page = client.get(reverse("admin:returns_returnrequest_change", args=[ret.pk])).content.decode()
    assert "Refunded" in page and "succeeded" in page.lower()


def test_reject_asks_for_a_reason_then_rejects(client, tenant_a):
    owner = staff(tenant_a, Role.OWNER, "owner@acme.test")
    ret = open_return(shipped_order(tenant_a, delivered_days_ago=1))
    client.force_login(owner)

    form = client.post(reverse(CHANGELIST), {"action": "reject_selected", "_selected_action": [ret.pk]})
    assert form.status_code == 200 and "Reject returns" in form.content.decode()
    client.post(
        reverse(CHANGELIST),
        {"action": "reject_selected", "_selected_action": [ret.pk], "apply": "1", "reason": "worn"},
    )
    ret.refresh_from_db()
    assert (ret.state, ret.staff_note) == ("rejected", "worn")


def test_staff_open_a_return_for_a_customer(client, tenant_a, tenant_b):
    agent = staff(tenant_a, Role.AGENT, "agent@acme.test")
    order = shipped_order(tenant_a, delivered_days_ago=1)
    theirs = shipped_order(tenant_b, delivered_days_ago=1)
    line = line_of(order, "RET-1")
    client.force_login(agent)
    add = reverse("admin:returns_returnrequest_add")

    assert "No order" in client.get(add, {"order": theirs.number + "9"}).content.decode()
    page = client.get(add, {"order": order.number})
    assert "RET-1 · Rain jacket (2 shipped)" in page.content.decode()
    response = client.post(
        add,
        {
            "order": order.number,
            f"qty_{line.pk}": "1",
            f"reason_{line.pk}": "wrong_size",
            "note": "by phone",
            f"qty_{line_of(order, 'RET-2').pk}": "0",
            f"reason_{line_of(order, 'RET-2').pk}": "other",
        },
    )

    ret = ReturnRequest.objects.for_tenant(tenant_a).get()
    assert response.status_code == 302
    assert (ret.source, ret.customer_note, ret.lines.get().quantity) == ("admin", "by phone", 1)


def test_the_window_is_refused_on_the_add_page_too(client, tenant_a):
    ReturnPolicy.objects.create(tenant=tenant_a, window_days=10)
    agent = staff(tenant_a, Role.AGENT, "agent@acme.test")
    order = shipped_order(tenant_a, delivered_days_ago=11)
    line = line_of(order, "RET-2")
    client.force_login(agent)

    response = client.post(
        reverse("admin:returns_returnrequest_add"),
        {
            "order": order.number,
            f"qty_{line.pk}": "1",
            f"reason_{line.pk}": "other",
            f"qty_{line_of(order, 'RET-1').pk}": "0",
            f"reason_{line_of(order, 'RET-1').pk}": "other",
        },
    )

    assert response.status_code == 200
    assert "returns are accepted for 10 days" in response.content.decode()
    assert not ReturnRequest.objects.for_tenant(tenant_a).exists()


def test_the_report_shows_return_rate_by_sku_and_reason(client, tenant_a, tenant_b):
    owner = staff(tenant_a, Role.OWNER, "owner@acme.test")
    open_return(shipped_order(tenant_a, delivered_days_ago=1), ("RET-1", 2, "wrong_size"))
    open_return(shipped_order(tenant_a, delivered_days_ago=1), ("RET-1", 1, "defective"))
    cancelled = open_return(shipped_order(tenant_a, delivered_days_ago=1), ("RET-2", 1, "defective"))
    ReturnRequest.objects.for_tenant(tenant_a).filter(pk=cancelled.pk).update(state="cancelled")
    open_return(shipped_order(tenant_b, delivered_days_ago=1), ("RET-2", 1, "defective"))
    client.force_login(owner)

    response = client.get(reverse("admin:returns_returnrequest_report"))

    rows = {row.sku: row for row in response.context["rows"]}
    assert (rows["RET-1"].shipped, rows["RET-1"].returned) == (6, 3)
    assert rows["RET-1"].by_reason == {"Defective or broken": 1, "Wrong size or fit": 2}
    assert (rows["RET-2"].shipped, rows["RET-2"].returned) == (3, 0)  # cancelled, and B's, not counted
    assert '<td class="rate">50%</td>' in response.content.decode()
