from django.urls import path

from oms.security import views

app_name = "security"

urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("enrol/", views.enrol, name="enrol"),
]
