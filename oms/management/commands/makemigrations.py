"""Django's makemigrations, writing the tenant wall's constraints as AddTenantConstraint."""

from django.core.management.commands.makemigrations import Command as MakeMigrations

from oms.core.tenant_fk import TenantAutodetector


class Command(MakeMigrations):
    autodetector = TenantAutodetector
