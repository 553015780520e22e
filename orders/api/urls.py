from django.urls import path

from orders.api import views

urlpatterns = [
    path("orders/", views.OrderListCreateApi.as_view(), name="order-list"),
    path("orders/<id:order_id>/", views.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<id:order_id>/cancel/", views.OrderCancelApi.as_view(), name="order-cancel"),
    path("orders/<id:order_id>/hold/", views.OrderHoldApi.as_view(), name="order-hold"),
    path("orders/<id:order_id>/release/", views.OrderReleaseApi.as_view(), name="order-release"),
    path("orders/<id:order_id>/events/", views.OrderEventsApi.as_view(), name="order-events"),
]
