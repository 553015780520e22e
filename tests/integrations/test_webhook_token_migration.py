"""The migrations behind webhook tokens: every existing account gets its own random token, and
deliveries stored before headers were scrubbed lose their signatures."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from integrations.models import ChannelAccount, InboundEvent

BEFORE = [("integrations", "0001_channel_account_and_inbound_event")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


@pytest.mark.django_db(transaction=True)
def test_existing_accounts_get_tokens_and_stored_signatures_are_scrubbed():
    _migrate(BEFORE)
    # Going back also unapplies every later migration that depends on integrations' (the tenant
    # primary keys of every app and what came after them): the models as the database now is.
    loader = MigrationLoader(connection)
    old = loader.project_state(tuple(loader.applied_migrations)).apps
    OldAccount = old.get_model("integrations", "ChannelAccount")
    OldEvent = old.get_model("integrations", "InboundEvent")
    tenant = old.get_model("oms", "Tenant")._base_manager.create(slug="old", name="Old")
    accounts = [
        OldAccount._base_manager.create(tenant_id=tenant.pk, kind=kind, name=f"acct-{n}")
        for n, kind in enumerate(["stripe", "stripe", "shopify"])
    ]
    OldEvent._base_manager.create(
        tenant_id=tenant.pk,
        account=accounts[0],
        source="stripe",
        event_id="evt_old",
        headers={"Stripe-Signature": "t=1,v1=" + "cd" * 32, "Content-Type": "application/json"},
        body="{}",
    )

    _migrate(None)

    tokens = list(ChannelAccount.objects.unscoped().values_list("webhook_token", flat=True))
    assert len(tokens) == len(set(tokens)) == 3
    assert all(len(token) >= 43 for token in tokens)
    event = InboundEvent.objects.unscoped().get(event_id="evt_old")
    assert event.headers == {"Stripe-Signature": "[scrubbed]", "Content-Type": "application/json"}
