from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from oms.core.audit import audit_record
from oms.models import AuditEvent


@pytest.fixture
def event(tenant_a, owner_a):
    return audit_record(
        tenant=tenant_a,
        actor=owner_a,
        action="thing.done",
        object_type="thing",
        object_id=7,
        before={"a": 1},
        after={"a": 2},
    )


def test_audit_record_captures_actor_and_change(event, owner_a):
    assert event.actor == "user:owner@acme.test"
    assert event.actor_user == owner_a
    assert (event.before, event.after) == ({"a": 1}, {"a": 2})


def test_audit_events_cannot_be_edited_through_the_model(event):
    event.action = "tampered"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    assert AuditEvent.objects.unscoped().get(pk=event.pk).action == "thing.done"


def test_audit_events_cannot_be_edited_through_querysets(event, tenant_a):
    with pytest.raises(PermissionError):
        AuditEvent.objects.for_tenant(tenant_a).update(action="tampered")
    with pytest.raises(PermissionError):
        AuditEvent.objects.for_tenant(tenant_a).delete()
    assert AuditEvent.objects.unscoped().filter(pk=event.pk, action="thing.done").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the database trigger exists on PostgreSQL")
def test_database_refuses_raw_update_and_delete(event):
    for sql in ("UPDATE oms_auditevent SET action = 'x'", "DELETE FROM oms_auditevent"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.unscoped().get(pk=event.pk).action == "thing.done"


def test_admin_offers_no_edit_or_delete(client, owner_a, event):
    client.force_login(owner_a)
    change = client.get(f"/admin/oms/auditevent/{event.pk}/change/")
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert client.post(f"/admin/oms/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/oms/auditevent/add/").status_code == 403
    assert AuditEvent.objects.unscoped().filter(pk=event.pk).exists()
