from django.apps import AppConfig


class SecurityConfig(AppConfig):
    """Installed after django_otp and axes: its admin replaces theirs with tenant-scoped pages."""

    name = "oms.security"
    label = "oms_security"
    verbose_name = "Staff sign-in security"
