from django.apps import AppConfig


class OmsConfig(AppConfig):
    name = "oms"
    verbose_name = "Tenancy and audit"

    def ready(self) -> None:
        # The API key cache's invalidation, the Citus check, the OpenAPI auth extension.
        from oms.core import auth, citus, schema  # noqa: F401
        from oms.core.tenant_fk import declare_tenant_constraints

        declare_tenant_constraints()
