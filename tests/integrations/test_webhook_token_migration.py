"""The migration that adds webhook tokens gives every existing account its own random token."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from integrations.models import ChannelAccount
from tests.oms.factories import TenantFactory

BEFORE = [("integrations", "0001_channel_account_and_inbound_event")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


@pytest.mark.django_db(transaction=True)
def test_existing_accounts_get_distinct_random_tokens():
    OldAccount = (
        _migrate(BEFORE).loader.project_state(BEFORE).apps.get_model("integrations", "ChannelAccount")
    )
    tenant = TenantFactory(slug="old")  # only integrations went back; the tenant table is today's
    for n, kind in enumerate(["stripe", "stripe", "shopify"]):
        OldAccount._base_manager.create(tenant_id=tenant.pk, kind=kind, name=f"acct-{n}")

    _migrate(None)

    tokens = list(ChannelAccount.objects.unscoped().values_list("webhook_token", flat=True))
    assert len(tokens) == len(set(tokens)) == 3
    assert all(len(token) >= 43 for token in tokens)
