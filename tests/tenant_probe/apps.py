from django.apps import AppConfig


class TenantProbeConfig(AppConfig):
    name = "tests.tenant_probe"
    label = "tenant_probe"
    verbose_name = "Tenant wall probe (tests only)"
