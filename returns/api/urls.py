from django.urls import path

from returns.api import views

urlpatterns = [
    path("returns/", views.ReturnListCreateApi.as_view(), name="return-list"),
    path("returns/<id:return_id>/", views.ReturnDetailApi.as_view(), name="return-detail"),
    path("returns/<id:return_id>/receive/", views.ReturnReceiveApi.as_view(), name="return-receive"),
    path("returns/<id:return_id>/cancel/", views.ReturnCancelApi.as_view(), name="return-cancel"),
]
