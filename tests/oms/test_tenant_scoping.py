"""The tenant guard: a query reaches the database only when it names ONE tenant.

One tenant means equality (`tenant=`, `tenant_id=`, `tenant__pk=`, `tenant__in` with a single
tenant), an equality on a relation to a row of one tenant, or a related manager / prefetch that
starts from such a row. Everything else is refused, however it is spelled.
"""

from __future__ import annotations

import pytest
from django.db.models import Prefetch, Q

from inventory.models import SKU
from oms.core.models import UnscopedQueryError
from oms.models import ApiKey, Membership, Tenant
from orders.models import Order, OrderEvent, OrderLine
from tests.inventory.factories import SKUFactory
from tests.orders.payments.factories import make_order
from tests.tenant_probe.models import ProbeParcel, ProbeParcelTag, ProbeTag


def test_unscoped_query_on_tenant_owned_model_is_refused(key_a, key_b):
    with pytest.raises(UnscopedQueryError):
        list(ApiKey.objects.all())
    with pytest.raises(UnscopedQueryError):
        ApiKey.objects.filter(name="storefront").count()
    with pytest.raises(UnscopedQueryError):
        ApiKey.objects.get(pk=key_a[0].pk)
    with pytest.raises(UnscopedQueryError):
        ApiKey.objects.filter(name="storefront").update(name="x")
    with pytest.raises(UnscopedQueryError):
        ApiKey.objects.filter(name="storefront").delete()
    # nothing changed by the refused writes
    assert sorted(ApiKey.objects.unscoped().values_list("name", flat=True)) == ["storefront", "storefront"]


def test_exclude_or_or_on_tenant_does_not_count_as_scoping(tenant_a, key_a, key_b):
    with pytest.raises(UnscopedQueryError):
        list(ApiKey.objects.exclude(tenant=tenant_a))
    with pytest.raises(UnscopedQueryError):
        list(ApiKey.objects.filter(Q(tenant=tenant_a) | Q(name="storefront")))


REFUSED = {
    "tenant__isnull=False": lambda a, b: ApiKey.objects.filter(tenant__isnull=False),
    "tenant_id__isnull=False": lambda a, b: ApiKey.objects.filter(tenant_id__isnull=False),
    "tenant_id__gt=0": lambda a, b: ApiKey.objects.filter(tenant_id__gt=0),
    "tenant__gte=a": lambda a, b: ApiKey.objects.filter(tenant__gte=a),
    "tenant__in=[a, b]": lambda a, b: ApiKey.objects.filter(tenant__in=[a, b]),
    "tenant_id__in=[a, b]": lambda a, b: ApiKey.objects.filter(tenant_id__in=[a.pk, b.pk]),
    "tenant__in=[]": lambda a, b: ApiKey.objects.filter(tenant__in=[]),
    "tenant__in=subquery": lambda a, b: ApiKey.objects.filter(tenant__in=Tenant.objects.filter(pk=a.pk)),
    "tenant__pk__gt=0": lambda a, b: ApiKey.objects.filter(tenant__pk__gt=0),
    "Q(tenant=a) | Q(tenant=b)": lambda a, b: ApiKey.objects.filter(Q(tenant=a) | Q(tenant=b)),
    "Q(tenant=a) ^ Q(tenant=b)": lambda a, b: ApiKey.objects.filter(Q(tenant=a) ^ Q(tenant=b)),
    "for_tenant(a) | for_tenant(b)": lambda a, b: ApiKey.objects.for_tenant(a) | ApiKey.objects.for_tenant(b),
    "for_tenant(a) | all()": lambda a, b: ApiKey.objects.for_tenant(a) | ApiKey.objects.all(),
    "union of two tenants": lambda a, b: ApiKey.objects.for_tenant(a).union(ApiKey.objects.for_tenant(b)),
    "tenant=None": lambda a, b: ApiKey.objects.filter(tenant=None),
}


@pytest.mark.parametrize("spelling", REFUSED)
def test_filters_that_do_not_name_one_tenant_are_refused(spelling, tenant_a, tenant_b, key_a, key_b):
    qs = REFUSED[spelling](tenant_a, tenant_b)
    with pytest.raises(UnscopedQueryError):
        list(qs)
    with pytest.raises(UnscopedQueryError):
        qs.count()


ACCEPTED = {
    "tenant=a": lambda a: ApiKey.objects.filter(tenant=a),
    "tenant_id=a.pk": lambda a: ApiKey.objects.filter(tenant_id=a.pk),
    "tenant__exact=a": lambda a: ApiKey.objects.filter(tenant__exact=a),
    "tenant__pk=a.pk": lambda a: ApiKey.objects.filter(tenant__pk=a.pk),
    "tenant__id=a.pk": lambda a: ApiKey.objects.filter(tenant__id=a.pk),
    "tenant__in=[a]": lambda a: ApiKey.objects.filter(tenant__in=[a]),
    "Q(tenant=a) | Q(tenant_id=a.pk)": lambda a: ApiKey.objects.filter(Q(tenant=a) | Q(tenant_id=a.pk)),
    "Q(tenant=a) & Q(name=...)": lambda a: ApiKey.objects.filter(Q(tenant=a) & Q(name="storefront")),
    "for_tenant(a) | for_tenant(a)": lambda a: ApiKey.objects.for_tenant(a) | ApiKey.objects.for_tenant(a),
    "for_tenant(a) & all()": lambda a: ApiKey.objects.for_tenant(a) & ApiKey.objects.all(),
}


@pytest.mark.parametrize("spelling", ACCEPTED)
def test_equality_with_one_tenant_is_scoped_and_returns_only_its_rows(spelling, tenant_a, key_a, key_b):
    assert list(ACCEPTED[spelling](tenant_a)) == [key_a[0]]


def test_for_tenant_returns_only_that_tenants_rows(tenant_a, tenant_b, key_a, key_b):
    assert list(ApiKey.objects.for_tenant(tenant_a)) == [key_a[0]]
    assert list(ApiKey.objects.for_tenant(tenant_b)) == [key_b[0]]
    assert ApiKey.objects.filter(tenant_id=tenant_a.pk, name="storefront").get() == key_a[0]


def test_for_tenant_refuses_none():
    with pytest.raises(UnscopedQueryError):
        ApiKey.objects.for_tenant(None)


# --- relations ------------------------------------------------------------------------------
@pytest.fixture
def two_orders(tenant_a, tenant_b):
    """One order per tenant, each with a line and an event."""
    orders = []
    for tenant in (tenant_a, tenant_b):
        order = make_order(tenant)
        sku = SKUFactory(tenant=tenant)
        OrderLine.objects.create(tenant=tenant, order=order, sku=sku, quantity=1, unit_price="5.00")
        OrderEvent.objects.create(tenant=tenant, order=order, type="note", message=tenant.slug)
        orders.append(order)
    return orders


def test_forward_foreign_keys_go_through_the_base_manager(owner_a):
    membership = Membership.objects.unscoped().get(user=owner_a)
    assert membership.tenant.slug == "acme"


def test_reverse_foreign_key_managers_are_scoped_to_the_row_they_start_from(two_orders):
    order_a, order_b = two_orders
    assert [line.order_id for line in order_a.lines.all()] == [order_a.pk]
    assert order_a.lines.count() == 1
    assert order_a.events.filter(message="acme").exists()
    assert not order_a.events.filter(message="globex").exists()
    assert [e.message for e in order_b.events.all()] == ["globex"]
    # writes through the related manager stay on that row's tenant too
    order_a.events.create(tenant_id=order_a.tenant_id, type="note", message="second")
    assert order_a.events.count() == 2
    assert order_b.events.count() == 1


def test_equality_on_a_relation_to_one_tenants_row_is_scoped(two_orders):
    order_a, order_b = two_orders
    assert OrderLine.objects.filter(order=order_a).count() == 1
    assert OrderLine.objects.filter(order__in=[order_a]).count() == 1
    # a reverse relation too: the orders holding this line
    line_b = OrderLine.objects.unscoped().get(order=order_b)
    assert list(Order.objects.filter(lines=line_b)) == [order_b]


def test_relations_that_reach_several_tenants_are_refused(two_orders, owner_a):
    order_a, order_b = two_orders
    with pytest.raises(UnscopedQueryError):
        list(OrderLine.objects.filter(order__in=[order_a, order_b]))
    with pytest.raises(UnscopedQueryError):
        list(OrderLine.objects.filter(order__gte=order_a))
    with pytest.raises(UnscopedQueryError):
        list(OrderLine.objects.filter(order_id=order_a.pk))  # a bare id names no tenant
    # through a model every tenant shares (the user), one membership reaches the others
    membership = Membership.objects.unscoped().get(user=owner_a)
    with pytest.raises(UnscopedQueryError):
        list(Membership.objects.filter(user__memberships=membership))
    with pytest.raises(UnscopedQueryError):
        list(owner_a.memberships.all())  # a related manager from a shared row


def test_prefetch_follows_the_rows_it_starts_from(two_orders, tenant_a, django_assert_num_queries):
    with django_assert_num_queries(4):
        orders = list(Order.objects.for_tenant(tenant_a).prefetch_related("lines__sku", "events"))
    assert [o.pk for o in orders] == [two_orders[0].pk]
    assert [line.sku.tenant_id for line in orders[0].lines.all()] == [tenant_a.pk]
    assert [e.message for e in orders[0].events.all()] == ["acme"]
    # a Prefetch with its own queryset is scoped by the rows it hangs on
    orders = list(
        Order.objects.for_tenant(tenant_a).prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.filter(quantity__gte=1), to_attr="some_lines")
        )
    )
    assert [line.order_id for line in orders[0].some_lines] == [two_orders[0].pk]
    # ...but the same queryset alone is refused
    with pytest.raises(UnscopedQueryError):
        list(OrderLine.objects.filter(quantity__gte=1))


def test_many_to_many_managers_and_prefetch_are_scoped(two_orders, tenant_a, tenant_b):
    parcels = []
    for tenant, order in zip((tenant_a, tenant_b), two_orders, strict=True):
        parcel = ProbeParcel.objects.create(tenant=tenant, order=order, label=tenant.slug)
        for name in ("fragile", "gift"):
            tag = ProbeTag.objects.create(tenant=tenant, name=f"{tenant.slug}-{name}")
            ProbeParcelTag.objects.create(tenant=tenant, parcel=parcel, tag=tag)
        parcels.append(parcel)
    parcel_a, _ = parcels

    assert sorted(parcel_a.tags.values_list("name", flat=True)) == ["acme-fragile", "acme-gift"]
    assert parcel_a.tags.count() == 2
    tag = parcel_a.tags.get(name="acme-gift")
    assert [p.label for p in tag.parcels.all()] == ["acme"]  # the reverse side

    found = ProbeParcel.objects.for_tenant(tenant_a).prefetch_related("tags").get()
    assert sorted(t.name for t in found.tags.all()) == ["acme-fragile", "acme-gift"]
    with pytest.raises(UnscopedQueryError):
        list(ProbeTag.objects.filter(name__endswith="gift"))


def test_unscoped_is_explicit_and_spreads_through_or(two_orders):
    everything = OrderLine.objects.unscoped()
    assert everything.count() == 2
    assert (everything | OrderLine.objects.filter(order=two_orders[0])).count() == 2
    assert SKU.objects.unscoped().count() == 2
