from django.apps import AppConfig


class OmsConfig(AppConfig):
    name = "oms"
    verbose_name = "Tenancy and audit"

    def ready(self) -> None:
        from oms.core import citus, schema  # noqa: F401  (the Citus check; the OpenAPI auth extension)
        from oms.core.tenant_fk import declare_tenant_constraints

        declare_tenant_constraints()
