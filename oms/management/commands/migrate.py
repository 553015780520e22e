"""Django's migrate, with the autodetector makemigrations uses (Django asks for the same one)."""

from django.core.management.commands.migrate import Command as Migrate

from oms.core.tenant_fk import TenantAutodetector


class Command(Migrate):
    autodetector = TenantAutodetector
