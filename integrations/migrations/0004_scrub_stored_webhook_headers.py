"""Deliveries stored before headers were scrubbed keep no signatures or credentials either."""

import re

from django.db import migrations

SCRUBBED = "[scrubbed]"
SENSITIVE = re.compile(r"signature|secret|token|auth|hmac|cookie|api[-_]?key|password", re.I)


def scrub_headers(apps, schema_editor):
    InboundEvent = apps.get_model("integrations", "InboundEvent")
    rows = InboundEvent._base_manager.only("pk", "headers").order_by("pk")
    for event in rows.iterator(chunk_size=500):
        headers = event.headers if isinstance(event.headers, dict) else {}
        scrubbed = {name: SCRUBBED if SENSITIVE.search(str(name)) else value for name, value in headers.items()}
        if scrubbed != headers:
            InboundEvent._base_manager.filter(pk=event.pk).update(headers=scrubbed)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0003_channelaccount_webhook_token_unique"),
    ]

    operations = [
        migrations.RunPython(scrub_headers, migrations.RunPython.noop, elidable=True),
    ]
