"""On PostgreSQL the database itself refuses UPDATE and DELETE on audit events.

TRUNCATE (used by test flushes and by an operator wiping a database) is not a row change
and is left alone. SQLite relies on the model and queryset guards.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION oms_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER oms_auditevent_append_only
    BEFORE UPDATE OR DELETE ON oms_auditevent
    FOR EACH ROW EXECUTE FUNCTION oms_auditevent_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS oms_auditevent_append_only ON oms_auditevent;
DROP FUNCTION IF EXISTS oms_auditevent_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("oms", "0001_tenancy_and_audit")]
    operations = [migrations.RunPython(forwards, backwards)]
