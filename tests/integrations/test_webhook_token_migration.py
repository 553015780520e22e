"""The migration that adds webhook tokens gives every existing account its own random token."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from integrations.models import ChannelAccount

BEFORE = [("integrations", "0001_channel_account_and_inbound_event")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


@pytest.mark.django_db(transaction=True)
def test_existing_accounts_get_distinct_random_tokens():
    old = _migrate(BEFORE).loader.project_state(BEFORE).apps
    tenant = old.get_model("oms", "Tenant").objects.create(slug="old", name="Old")
    OldAccount = old.get_model("integrations", "ChannelAccount")
    for n, kind in enumerate(["stripe", "stripe", "shopify"]):
        OldAccount._base_manager.create(tenant=tenant, kind=kind, name=f"acct-{n}")

    _migrate(None)

    tokens = list(ChannelAccount.objects.unscoped().values_list("webhook_token", flat=True))
    assert len(tokens) == len(set(tokens)) == 3
    assert all(len(token) >= 43 for token in tokens)
