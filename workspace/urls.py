"""The workspace's pages outside the admin's URL space (the dashboard is the admin's index)."""

from django.urls import path

from workspace import views

app_name = "workspace"

urlpatterns = [
    path("exceptions/", views.exceptions_page, name="exceptions"),
]
