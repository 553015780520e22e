from axes import apps as axes_apps
from django.apps import AppConfig
from django_otp.plugins.otp_totp import apps as totp_apps


class SecurityConfig(AppConfig):
    """Installed after django_otp and axes: its admin replaces theirs with tenant-scoped pages."""

    name = "oms.security"
    label = "oms_security"
    verbose_name = "Staff sign-in security"


class SignInLockoutConfig(axes_apps.AppConfig):
    """django-axes, named for the admin's index as a merchant reads it."""

    verbose_name = "Sign-in lockouts"


class SecondFactorDevicesConfig(totp_apps.DefaultConfig):
    """django-otp's TOTP devices, named for the admin's index as a merchant reads it."""

    verbose_name = "Second-factor devices"
