"""The audit mechanism itself keeps secrets out: whoever calls audit_record, a secret field of the
audited model (an EncryptedTextField, or a name in its SECRET_FIELDS) is recorded as "changed"."""

from __future__ import annotations

from integrations.models import ChannelAccount
from oms.core.audit import audit_record
from oms.core.fields import secret_field_names
from tests.inventory.factories import SKUFactory
from tests.orders.payments.factories import make_stripe_account

KEY = "sk_live_51QauditKEYzzzzzzzzzzzzzzzzzzz"


def test_encrypted_fields_and_secret_fields_lists_are_secret():
    assert secret_field_names(ChannelAccount) >= {"credentials", "webhook_secret", "webhook_token"}
    assert not {"name", "base_url", "kind"} & secret_field_names(ChannelAccount)


def test_a_secret_field_is_recorded_only_as_changed(tenant_a):
    account = make_stripe_account(tenant_a)

    event = audit_record(
        tenant=tenant_a,
        actor="test",
        action="channelaccount.changed",
        obj=account,
        before={"credentials": "sk_live_old_value_1", "name": "old"},
        after={"credentials": KEY, "webhook_token": account.webhook_token, "name": "new"},
    )

    event.refresh_from_db()
    assert event.before == {"credentials": "changed", "name": "old"}
    assert event.after == {"credentials": "changed", "webhook_token": "changed", "name": "new"}


def test_secrets_are_redacted_when_only_the_object_type_is_named(tenant_a):
    event = audit_record(
        tenant=tenant_a,
        actor="test",
        action="channelaccount.imported",
        object_type="integrations.channelaccount",
        object_id=1,
        after={"rows": [{"name": "a", "webhook_secret": "whsec_nested_secret"}]},
    )

    event.refresh_from_db()
    assert event.after == {"rows": [{"name": "a", "webhook_secret": "changed"}]}


def test_a_secret_value_written_under_another_key_is_masked(tenant_a):
    account = make_stripe_account(tenant_a)

    event = audit_record(
        tenant=tenant_a,
        actor="test",
        action="channelaccount.noted",
        obj=account,
        after={"note": f"key was {account.credentials}, secret {account.webhook_secret}"},
    )

    event.refresh_from_db()
    assert event.after == {"note": "key was changed, secret changed"}


def test_models_without_secrets_are_recorded_as_given(tenant_a):
    sku = SKUFactory(tenant=tenant_a, code="AUD-S")

    event = audit_record(
        tenant=tenant_a, actor="test", action="sku.changed", obj=sku, after={"name": "x", "credentials": "y"}
    )

    event.refresh_from_db()
    assert event.after == {"name": "x", "credentials": "y"}
