"""An index for the storefront order list of one channel, newest first (`ORDER BY id DESC`).
Without it PostgreSQL reads the channel's orders through another index and sorts them all for
each page. A tenant's whole list walks the primary key (tenant_id, id) backwards on PostgreSQL
(orders/0008). Built without locking the table on PostgreSQL (CREATE INDEX CONCURRENTLY,
outside a transaction); elsewhere as a plain index.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0008_tenant_primary_keys"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="order",
            index=models.Index(fields=["tenant", "channel", "id"], name="order_channel_id_idx"),
        ),
    ]
