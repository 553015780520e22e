"""Each tenant's order numbers from a PostgreSQL sequence of its own (orders/numbers.py), starting
after its counter row; going back, the counter rows take up where the sequences stopped."""

from django.db import migrations


def sequences_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    tenants = apps.get_model("oms", "Tenant")._meta.db_table
    counters = apps.get_model("orders", "OrderNumber")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.id, coalesce(c.last_value, 1000) FROM {tenants} t"
            f" LEFT JOIN {counters} c ON c.tenant_id = t.id"
        )
        for tenant_id, last_value in cursor.fetchall():
            cursor.execute(
                f"CREATE SEQUENCE IF NOT EXISTS orders_number_t{int(tenant_id)} START WITH {int(last_value) + 1}"
            )


def sequences_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    tenants = apps.get_model("oms", "Tenant")._meta.db_table
    counters = apps.get_model("orders", "OrderNumber")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequencename, last_value FROM pg_sequences"
            " WHERE schemaname = current_schema() AND sequencename ~ '^orders_number_t[0-9]+$'"
        )
        for name, last_value in cursor.fetchall():
            tenant_id = int(name.removeprefix("orders_number_t"))
            if last_value is not None:  # None: never used; and a tenant gone has no counter
                cursor.execute(
                    f"INSERT INTO {counters} (tenant_id, last_value)"
                    f" SELECT id, %s FROM {tenants} WHERE id = %s"
                    " ON CONFLICT (tenant_id) DO UPDATE SET last_value = greatest("
                    f"{counters}.last_value, excluded.last_value)",
                    [last_value, tenant_id],
                )
            cursor.execute(f"DROP SEQUENCE {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0010_open_lines_index"),
    ]

    operations = [migrations.RunPython(sequences_create, sequences_drop)]
