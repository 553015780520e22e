"""oms.core.inserts beside Django's own INSERT: model by model, the rows written are the same."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, models, transaction
from django.forms.models import model_to_dict
from django.test.utils import isolate_apps
from django.utils import timezone

from inventory.models import SKU
from oms.core.inserts import insert_sql, loaded
from oms.models import AuditEvent, IdempotencyRecord, OutboxMessage
from orders.models import Order, OrderEvent, OrderLine
from orders.services import order_create
from tests.orders.conftest import order_input

pytestmark = pytest.mark.django_db

AT = timezone.now() - timedelta(days=3)


def _inserted(model, objs, returning=("id",)):
    with connection.cursor() as cursor:
        cursor.execute(*insert_sql(model, objs, returning=returning))
        found = cursor.fetchall() if returning else []
    for obj, row in zip(objs, found, strict=False):
        obj.pk = row[0]
        loaded(obj)
    return found


def _rows(model, objs, *leave_out):
    manager = getattr(model.objects, "unscoped", lambda: model.objects)()
    return [
        {k: v for k, v in model_to_dict(manager.get(pk=obj.pk)).items() if k not in ("id", *leave_out)}
        for obj in objs
    ]


@pytest.fixture
def order(tenant_a):
    SKU.objects.create(tenant=tenant_a, code="INS-1", name="Insert", price=Decimal("9.99"))
    data = order_input("W-INS", lines=[{"sku": "INS-1", "quantity": 1, "unit_price": "9.99"}])
    placed, _ = order_create(tenant=tenant_a, data=data)
    return placed


def _events(order, tag):
    return [
        OrderEvent(tenant=order.tenant, order=order, type="note", actor=f"{tag}-{i}", message="Hé ☃",
                   data={"n": i, "amount": Decimal("1.50"), "at": AT})
        for i in range(3)
    ]  # fmt: skip


def test_the_events_are_the_rows_bulk_create_writes_in_order_with_their_ids(order):
    mine, reference = _events(order, "a"), _events(order, "a")
    found = _inserted(OrderEvent, mine)
    OrderEvent.objects.bulk_create(reference)
    assert [pk for (pk,) in found] == sorted(pk for (pk,) in found)  # in the order given
    assert _rows(OrderEvent, mine, "created_at") == _rows(OrderEvent, reference, "created_at")
    assert all(e.created_at is not None and not e._state.adding for e in mine)  # auto_now_add filled


def test_lines_audit_outbox_and_idempotency_rows_are_the_orms(order, tenant_a):
    sku = order.lines.get().sku
    money = {"unit_price": Decimal("2.335"), "tax": Decimal("0.4"), "discount": Decimal("0")}
    copies = [
        OrderLine(tenant=tenant_a, order=order, sku=sku, quantity=3, position=9 + n, **money) for n in (0, 1)
    ]
    found = _inserted(OrderLine, copies[:1], returning=("id", "position"))
    assert found == [(copies[0].pk, 9)]
    copies[1].save()
    assert _rows(OrderLine, copies[:1], "position") == _rows(OrderLine, copies[1:], "position")

    audits = [AuditEvent(tenant=tenant_a, action="order.placed", object_type="order", object_id=str(order.pk),
                         after={"total": Decimal("9.99")}, created_at=AT) for _ in range(2)]  # fmt: skip
    _inserted(AuditEvent, audits[:1])
    audits[1].save()
    assert _rows(AuditEvent, audits[:1]) == _rows(AuditEvent, audits[1:])

    messages = [OutboxMessage(tenant=tenant_a, task="x.y", kwargs={"order_id": order.pk, "at": AT},
                              created_at=AT, available_at=AT) for _ in range(2)]  # fmt: skip
    _inserted(OutboxMessage, messages[:1])
    messages[1].save()
    assert _rows(OutboxMessage, messages[:1]) == _rows(OutboxMessage, messages[1:])

    answer = {"request_hash": "h", "status_code": 201, "response_body": {"id": 1}, "created_at": AT}
    records = [IdempotencyRecord(tenant=tenant_a, key=f"k{i}", scope="POST /x", **answer) for i in range(2)]
    _inserted(IdempotencyRecord, records[:1])
    records[1].save()
    assert _rows(IdempotencyRecord, records[:1], "key") == _rows(IdempotencyRecord, records[1:], "key")


def test_a_duplicate_is_the_databases_integrity_error(tenant_a):
    record = IdempotencyRecord(tenant=tenant_a, key="k", scope="POST /x", request_hash="h")
    _inserted(IdempotencyRecord, [record], returning=())
    with pytest.raises(IntegrityError), transaction.atomic():
        again = IdempotencyRecord(tenant=tenant_a, key="k", scope="POST /x")
        _inserted(IdempotencyRecord, [again], returning=())


@isolate_apps("oms")  # the model below joins no registry that makemigrations reads
def test_a_model_the_statement_cannot_write_is_refused():
    class Defaulted(models.Model):
        stamp = models.DateTimeField(db_default=models.functions.Now())

        class Meta:
            app_label = "oms"
            managed = False

        def __str__(self) -> str:
            return "defaulted"

    with pytest.raises(TypeError, match="every field from Python"):
        insert_sql(Defaulted, [Defaulted()])
    with pytest.raises(ValueError):
        insert_sql(Order, [])
