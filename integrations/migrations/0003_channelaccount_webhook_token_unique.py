"""Every account now has a webhook token: make it required and unique."""

from django.db import migrations, models

import integrations.models


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_channelaccount_webhook_token"),
    ]

    operations = [
        migrations.AlterField(
            model_name="channelaccount",
            name="webhook_token",
            field=models.CharField(
                default=integrations.models.new_webhook_token,
                editable=False,
                help_text="The unguessable part of this account's webhook URL. Rotate it if the URL leaks.",
                max_length=64,
                unique=True,
            ),
        ),
        migrations.AlterField(
            model_name="channelaccount",
            name="base_url",
            field=models.CharField(
                blank=True,
                help_text="Blank: the vendor's real address. Another address (a sandbox, a local fake) is "
                "accepted only where VENDOR_BASE_URL_HOSTS allows its host.",
                max_length=300,
            ),
        ),
    ]
