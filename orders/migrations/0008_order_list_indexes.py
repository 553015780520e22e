"""Indexes for the storefront order list, newest first (`ORDER BY id DESC`): a tenant's orders,
and a tenant's orders of one channel. Without them PostgreSQL reads a tenant's orders through
the tenant index and sorts them all for each page (or walks the primary key past every other
tenant's orders). Built without locking the table on PostgreSQL (CREATE INDEX CONCURRENTLY,
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
        ("orders", "0007_backorder_sweep_request"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="order",
            index=models.Index(fields=["tenant", "id"], name="order_tenant_id_idx"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="order",
            index=models.Index(fields=["tenant", "channel", "id"], name="order_channel_id_idx"),
        ),
    ]
