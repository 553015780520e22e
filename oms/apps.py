from django.apps import AppConfig


class OmsConfig(AppConfig):
    name = "oms"
    verbose_name = "Tenancy and audit"

    def ready(self) -> None:
        from oms.core import auth, schema  # noqa: F401  (the API key cache's invalidation; the OpenAPI auth extension)
        from oms.core.tenant_fk import declare_tenant_constraints

        declare_tenant_constraints()
