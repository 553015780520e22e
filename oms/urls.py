from django.contrib import admin
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
    path("health", views.health, name="health"),
    path("account/tenant/", views.switch_tenant, name="switch-tenant"),
    path("api/v1/", include(api_v1)),
    path("webhooks/", include("integrations.urls")),
    path("warehouse/", include("fulfillment.urls")),
    path("admin/", admin.site.urls),
]
