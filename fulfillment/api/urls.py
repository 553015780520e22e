from django.urls import path

from fulfillment.api import views

urlpatterns = [
    path("shipments/", views.ShipmentListApi.as_view(), name="shipment-list"),
    path("shipments/<id:shipment_id>/", views.ShipmentDetailApi.as_view(), name="shipment-detail"),
    path("shipments/<id:shipment_id>/rates/", views.ShipmentRatesApi.as_view(), name="shipment-rates"),
    path("shipments/<id:shipment_id>/label/", views.ShipmentLabelApi.as_view(), name="shipment-label"),
    path("shipments/<id:shipment_id>/ship/", views.ShipmentShipApi.as_view(), name="shipment-ship"),
    path("shipments/<id:shipment_id>/cancel/", views.ShipmentCancelApi.as_view(), name="shipment-cancel"),
]
