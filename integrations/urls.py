"""Mounted at /webhooks/: every connector's deliveries arrive at /webhooks/<kind>/<token>/."""

from django.urls import path

from integrations.webhooks import webhook_receive

app_name = "integrations"

urlpatterns = [
    path("<slug:kind>/<str:token>/", webhook_receive, name="webhook"),
]
