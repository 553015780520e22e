"""Demo integrations for `manage.py seed_demo`: a Shippo account that talks to the local fake.

`make run` (scripts/run_dev.sh) starts the fake Shippo server (integrations/shippo/fake_server.py)
on OMS_SHIPPO_PORT (8025) and points its `track_updated` webhooks at this account's webhook URL,
whose path is written to var/shippo-webhook-path.txt (the token in it is a secret: mode 0600).
Labels bought in the demo are real PDFs from the fake; their parcels move on by themselves.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

from integrations.models import ChannelAccount, ChannelKind

SHIPPO_WEBHOOK_PATH_FILE = "shippo-webhook-path.txt"
DEMO_SHIPPO_KEY = "shippo_test_demo"


def shippo_fake_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('OMS_SHIPPO_PORT', '8025')}"


def seed(tenant: Any, stdout: Any) -> None:
    account, _ = ChannelAccount.objects.for_tenant(tenant).get_or_create(
        tenant=tenant,
        kind=ChannelKind.SHIPPO,
        name="Shippo (local fake)",
        defaults={"base_url": shippo_fake_url(), "credentials": DEMO_SHIPPO_KEY},
    )
    path = settings.VAR_DIR / SHIPPO_WEBHOOK_PATH_FILE
    path.write_text(account.webhook_path + "\n")
    path.chmod(0o600)
    stdout.write(f"Demo Shippo account: the local fake at {account.base_url}")
