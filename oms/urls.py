from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from oms import views
from oms.api import MeApi

api_v1 = [
    path("me/", MeApi.as_view(), name="me"),
    path("", include("inventory.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("fulfillment.api.urls")),
    path("", include("returns.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularRedocView.as_view(url_name="schema"), name="api-docs"),
]

urlpatterns = [
    path("health", views.health, name="health"),  # readiness, as before the split
    path("health/live", views.health_live, name="health-live"),
    path("health/ready", views.health, name="health-ready"),
    path("metrics", views.metrics, name="metrics"),
    path("account/tenant/", views.switch_tenant, name="switch-tenant"),
    path("api/v1/", include(api_v1)),
    path("webhooks/", include("integrations.urls")),
    path("warehouse/", include("fulfillment.urls")),
    path("warehouse/", include("returns.urls")),  # the receiving pages: /warehouse/<w>/returns/
    path("workspace/", include("workspace.urls")),  # the exceptions queue (the dashboard is admin:index)
    # Password reset for staff, in the admin's look; invited staff set their first password here.
    path("admin/password_reset/", auth_views.PasswordResetView.as_view(), name="admin_password_reset"),
    path(
        "admin/password_reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"
    ),
    path(
        "account/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "account/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # the second factor after the password (oms/security): enrol, verify
    path("account/security/", include("oms.security.urls")),
    path("admin/", admin.site.urls),
]
