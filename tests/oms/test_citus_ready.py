"""The schema a database distributed by tenant (Citus) can hold (oms/core/citus.py, docs/scaling.md).

Every tenant-owned table's primary key, unique constraints and indexes, and foreign keys carry
tenant_id, or the table is a listed reference or local table. The rule is read off the models
and off the live PostgreSQL catalog, and each reading is shown to catch a table that breaks it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import IntegrityError, connection, models, transaction
from django.test.utils import isolate_apps

from integrations import webhooks
from integrations.models import ChannelAccount, ChannelOrder, tenant_of_webhook_token
from integrations.services import channel_account_rotate_webhook_token
from oms.core.citus import (
    LOCAL_TABLES,
    REFERENCE_TABLES,
    citus_plan,
    database_violations,
    distributed_models,
    model_violations,
    reference_models,
)
from oms.core.models import TenantOwned, is_tenant_table
from oms.core.tenant_fk import id_index_name, tenant_keyed_tables
from tests.orders.payments.factories import make_order, make_stripe_account
from tests.tenant_probe.models import ProbeParcel, ProbeTag

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL holds the keys")


def test_every_tenant_owned_model_follows_the_rule():
    assert model_violations() == []


def test_the_exceptions_are_few_and_say_why():
    assert set(REFERENCE_TABLES) == {"oms.ApiKey", "oms.Membership"}
    assert set(LOCAL_TABLES) == {"oms.OutboxMessage"}
    assert all(len(reason) > 40 for reason in [*REFERENCE_TABLES.values(), *LOCAL_TABLES.values()])
    assert [m._meta.label for m in reference_models()] == [
        "auth.User",
        "oms.Tenant",
        "oms.ApiKey",
        "oms.Membership",
    ]


def test_the_plan_distributes_every_other_tenant_owned_table_by_tenant_all_co_located():
    plan = citus_plan()
    distributed = [line for line in plan if "create_distributed_table" in line]
    tenant_tables = [m for m in apps.get_models() if is_tenant_table(m)]
    assert len(distributed) == len(tenant_tables) - len(REFERENCE_TABLES) >= 50
    anchor = distributed_models()[0]._meta.db_table
    assert (
        distributed[0]
        == f"SELECT create_distributed_table('{anchor}', 'tenant_id', colocate_with => 'none');"
    )
    assert all(line.endswith(f"'tenant_id', colocate_with => '{anchor}');") for line in distributed[1:])
    assert "SELECT create_reference_table('oms_tenant');" in plan
    # A table comes after every table it points at, as create_distributed_table needs.
    order = [line.split("'")[1] for line in distributed]
    for model in distributed_models():
        for field in model._meta.local_concrete_fields:
            target = field.related_model if field.is_relation else None
            if target in distributed_models():
                assert order.index(target._meta.db_table) <= order.index(model._meta.db_table), field


def test_docs_scaling_names_the_tables_the_code_lists():
    text = (Path(settings.BASE_DIR) / "docs" / "scaling.md").read_text()
    for model in [*reference_models(), *(apps.get_model(label) for label in LOCAL_TABLES)]:
        assert f"`{model._meta.db_table}`" in text, model
    for line in citus_plan()[:9]:  # the plan's head, as printed
        assert line in text, line


def test_manage_py_citus_plan_prints_the_plan(capsys):
    call_command("citus_plan")
    assert capsys.readouterr().out.splitlines() == citus_plan()


@isolate_apps("tests.tenant_probe")
def test_a_model_that_breaks_the_rule_is_reported():
    class BadParcel(TenantOwned):
        code = models.CharField(max_length=10, unique=True)
        twin = models.OneToOneField(ProbeParcel, on_delete=models.CASCADE, db_constraint=False)
        tag = models.ForeignKey(ProbeTag, on_delete=models.CASCADE)  # db_constraint left on
        kind = models.ForeignKey(ContentType, on_delete=models.CASCADE)

        class Meta:
            app_label = "tenant_probe"
            constraints = [models.UniqueConstraint(fields=["tag", "code"], name="badparcel_unique")]

    assert model_violations([BadParcel]) == [
        "tenant_probe.BadParcel: unique field code (code) lacks tenant_id",
        "tenant_probe.BadParcel: unique field twin (twin_id) lacks tenant_id",
        "tenant_probe.BadParcel: unique constraint badparcel_unique (tag_id, code) lacks tenant_id",
        "tenant_probe.BadParcel.tag: a foreign key on tag_id alone",
        "tenant_probe.BadParcel.kind: points at contenttypes.ContentType, not a reference table",
    ]


@pytest.mark.postgres
@postgres_only
def test_the_database_follows_the_rule(db):
    assert database_violations(connection) == []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND conname LIKE '%%_tenant_pk'"
            " AND array_length(conkey, 1) = 2"
        )
        assert cursor.fetchone()[0] == len([m for m in apps.get_models() if is_tenant_table(m)])


@pytest.mark.postgres
@postgres_only
def test_every_table_keyed_by_tenant_has_an_index_on_its_id_alone(db):
    """Django joins a foreign key on the id alone (select_related, `order__state`): without an
    index of its own, each such join would read the whole table, the key being led by tenant."""
    keyed = tenant_keyed_tables(connection)
    assert len(keyed) == len([m for m in apps.get_models() if is_tenant_table(m)])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.relname FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
            " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]"
            " WHERE i.indnatts = 1 AND a.attname = 'id' AND i.indpred IS NULL"
        )
        indexed = {table for (table,) in cursor.fetchall()}
    assert sorted(set(keyed) - indexed) == []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the tables are near empty here
        cursor.execute("EXPLAIN SELECT * FROM orders_customer WHERE id = 1")
        plan = " ".join(row for (row,) in cursor.fetchall())
    assert id_index_name("orders_customer") in plan


@pytest.mark.postgres
@postgres_only
def test_a_table_that_breaks_the_rule_is_reported_and_fails_the_check(db):
    call_command("check", databases=["default"], fail_level="ERROR")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE citus_bad (id bigint PRIMARY KEY, tenant_id bigint NOT NULL,"
                " code text UNIQUE, kind_id int REFERENCES django_content_type (id))"
            )
            cursor.execute(
                "CREATE TABLE citus_local (id bigint PRIMARY KEY, t bigint, parcel bigint,"
                " FOREIGN KEY (t, parcel) REFERENCES tenant_probe_probeparcel (tenant_id, id))"
            )
        found = [p for p in database_violations(connection) if p.startswith("citus_")]
        assert [p.split(" (")[0] for p in found] == [
            "citus_bad: foreign key citus_bad_kind_id_fkey",
            "citus_bad: primary key citus_bad_pkey",
            "citus_bad: unique constraint citus_bad_code_key",
            "citus_local: foreign key citus_local_t_parcel_fkey",
        ]
        assert found[-1].endswith(
            "points from a table not distributed by tenant into tenant_probe_probeparcel"
        )
        with pytest.raises(SystemCheckError, match=r"oms\.E103.*citus_bad: primary key"):
            call_command("check", databases=["default"], fail_level="ERROR")
        transaction.set_rollback(True)


@pytest.mark.postgres
@postgres_only
def test_the_composite_key_alone_refuses_a_dangling_reference(tenant_a):
    order = make_order(tenant_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE orders_order SET customer_id = customer_id + 10000 WHERE id = %s", [order.pk]
            )
            assert cursor.rowcount == 1
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


# --- the decisions the rule forced ---------------------------------------------------------------
def test_a_webhook_token_names_its_tenant_and_reaches_only_its_account(tenant_a, tenant_b):
    a, b = make_stripe_account(tenant_a), make_stripe_account(tenant_b)
    assert tenant_of_webhook_token(a.webhook_token) == tenant_a.pk
    assert tenant_of_webhook_token(b.webhook_token) == tenant_b.pk
    assert webhooks._account_for("stripe", a.webhook_token) == a
    forged = f"t{tenant_b.pk}_" + a.webhook_token.split("_", 1)[1]  # a's secret, b's tenant
    assert webhooks._account_for("stripe", forged) is None
    rotated = channel_account_rotate_webhook_token(tenant=tenant_a, account_id=a.pk)
    assert tenant_of_webhook_token(rotated.webhook_token) == tenant_a.pk
    assert rotated.webhook_token != a.webhook_token


def test_a_token_made_before_tokens_named_their_tenant_still_reaches_its_account(tenant_a):
    account = make_stripe_account(tenant_a)
    ChannelAccount.objects.for_tenant(tenant_a).filter(pk=account.pk).update(
        webhook_token="legacy-" + "x" * 40
    )
    assert tenant_of_webhook_token("legacy-" + "x" * 40) is None
    assert tenant_of_webhook_token("t12_" + "x" * 39) is None  # 43 characters: an older token
    assert webhooks._account_for("stripe", "legacy-" + "x" * 40) == account


def test_one_channel_order_per_order_still(tenant_a):
    order = make_order(tenant_a)
    account = make_stripe_account(tenant_a)
    ChannelOrder.objects.create(tenant=tenant_a, account=account, external_id="1", order=order)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChannelOrder.objects.create(tenant=tenant_a, account=account, external_id="2", order=order)
