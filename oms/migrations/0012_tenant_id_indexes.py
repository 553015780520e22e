"""An index on `id` alone beside every primary key (tenant_id, id) made before TenantPrimaryKey
made one itself (oms/core/tenant_fk.py): Django joins foreign keys on the id alone."""

from django.db import migrations

from oms.core.tenant_fk import id_indexes_create


class Migration(migrations.Migration):
    dependencies = [
        ("oms", "0011_tenant_api_rate"),
        ("fulfillment", "0004_tenant_primary_keys"),
        ("integrations", "0009_tenant_primary_keys"),
        ("inventory", "0005_tenant_primary_keys"),
        ("notifications", "0002_tenant_primary_keys"),
        ("orders", "0009_order_list_indexes"),
        ("returns", "0002_tenant_primary_keys"),
    ]

    # Going back leaves the indexes: TenantPrimaryKey made them on a database built since, and
    # it drops them itself when its own migration is reversed.
    operations = [migrations.RunPython(id_indexes_create, migrations.RunPython.noop, elidable=True)]
