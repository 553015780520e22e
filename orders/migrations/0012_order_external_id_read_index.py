"""An index for the storefront's read of its own order by `?external_id=` (GET /api/v1/orders/,
without `channel`): the unique key (tenant, channel, external_id) cannot serve it, and PostgreSQL
read the whole table for it (17 ms at 100,000 orders, growing with the table). Built without
locking the table on PostgreSQL (CREATE INDEX CONCURRENTLY, outside a transaction); elsewhere as
a plain index.

The model declares it (`Order.Meta.indexes`); the database gets it through RunPython, the
state through AddIndex. Going back drops it.
"""

from django.db import migrations, models

INDEX = "order_external_id_idx"
TABLE = "orders_order"


def create(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f"CREATE INDEX {concurrently}IF NOT EXISTS {INDEX} ON {TABLE} (tenant_id, external_id)"
    )


def drop(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0011_order_number_sequences"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(create, drop, elidable=False)],
            state_operations=[
                migrations.AddIndex(
                    model_name="order",
                    index=models.Index(fields=["tenant", "external_id"], name="order_external_id_idx"),
                )
            ],
        )
    ]
