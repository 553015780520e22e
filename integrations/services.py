"""Writes on channel accounts that are not plain admin edits."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from integrations.models import ChannelAccount, new_webhook_token, webhook_token_for
from oms.core.audit import audit_record


def channel_account_rotate_webhook_token(
    *, tenant: Any, account_id: int, actor: Any = None
) -> ChannelAccount:
    """Give the account a new webhook URL; the old one stops working at once.

    The vendor must be told the new URL (the admin shows it). The audit records that the
    token changed, never the token.
    """
    with transaction.atomic():
        account = ChannelAccount.objects.for_tenant(tenant).select_for_update().get(pk=account_id)
        account.webhook_token = webhook_token_for(account.tenant_id, new_webhook_token())
        account.save(update_fields=["webhook_token", "updated_at"])
        audit_record(
            tenant=account.tenant,
            actor=actor,
            action="channelaccount.webhook_token_rotated",
            obj=account,
            after={"webhook_token": account.webhook_token},
        )
    return account
