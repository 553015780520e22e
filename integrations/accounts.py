"""Which of a tenant's channel accounts an update about an order goes to (the connectors' gateways).

The account the order came in through (its `ChannelOrder` row), else the tenant's only active
account of that kind: with two or more and no row, the order cannot be placed, and the push is
refused rather than sent to a guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integrations.models import ChannelAccount, ChannelOrder, ChannelOrderLine
from orders.channels import ChannelRefused

if TYPE_CHECKING:
    import requests


def channel_order_of(tenant: Any, kind: str, order_external_id: str) -> ChannelOrder | None:
    return (
        ChannelOrder.objects.for_tenant(tenant)
        .filter(account__kind=kind, external_id=order_external_id)
        .select_related("account", "order")
        .first()
    )


def account_for_order(
    tenant: Any, kind: str, order_external_id: str, *, row: ChannelOrder | None = None
) -> ChannelAccount:
    row = row if row is not None else channel_order_of(tenant, kind, order_external_id)
    if row is not None:
        return row.account
    accounts = list(ChannelAccount.objects.for_tenant(tenant).filter(kind=kind, active=True)[:2])
    if len(accounts) != 1:
        label = dict(ChannelAccount._meta.get_field("kind").choices).get(kind, kind)
        raise ChannelRefused(f"No {label} account is known for order {order_external_id}.")
    return accounts[0]


def channel_line_ids(account: ChannelAccount, order_external_id: str) -> dict[int, str]:
    """Our order line id -> the channel's line id it came from, for one channel order of the account
    (lines the channel gave no id, or not taken into an order line, are left out)."""
    return {
        line.order_line_id: line.channel_line_id
        for line in ChannelOrderLine.objects.for_tenant(account.tenant_id).filter(
            channel_order__account=account,
            channel_order__external_id=order_external_id,
            order_line__isnull=False,
        )
        if line.channel_line_id
    }


def has_active_account(tenant: Any, kind: str) -> bool:
    return ChannelAccount.objects.for_tenant(tenant).filter(kind=kind, active=True).exists()


class AccountGateway:
    """What a marketplace's ChannelGateway starts from: the tenant, a requests session (None: a new
    one per client), and `_account`, the account an update about an order goes to."""

    channel: str

    def __init__(self, tenant: Any, *, session: requests.Session | None = None) -> None:
        self.tenant = tenant
        self.session = session

    def _account(self, order_external_id: str) -> ChannelAccount:
        return account_for_order(self.tenant, self.channel, order_external_id)
