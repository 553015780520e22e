"""Webhook URLs carry a per-account token: add it and give every existing account its own.

The unique, non-null constraint comes in the next migration, in its own transaction
(PostgreSQL refuses to alter a table with updates pending in the same one).
"""

import secrets

from django.db import migrations, models


def backfill_tokens(apps, schema_editor):
    ChannelAccount = apps.get_model("integrations", "ChannelAccount")
    for account in ChannelAccount._base_manager.filter(webhook_token__isnull=True).only("pk").iterator():
        ChannelAccount._base_manager.filter(pk=account.pk).update(webhook_token=secrets.token_urlsafe(32))


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_channel_account_and_inbound_event"),
    ]

    operations = [
        migrations.AddField(
            model_name="channelaccount",
            name="webhook_token",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(backfill_tokens, migrations.RunPython.noop, elidable=True),
    ]
