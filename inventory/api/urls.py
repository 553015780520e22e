from django.urls import path

from inventory.api import views

urlpatterns = [
    path("warehouses/", views.WarehouseListApi.as_view(), name="warehouse-list"),
    path("warehouses/<str:code>/", views.WarehouseDetailApi.as_view(), name="warehouse-detail"),
    path("skus/", views.SkuListApi.as_view(), name="sku-list"),
    path("skus/<str:code>/", views.SkuDetailApi.as_view(), name="sku-detail"),
    path("skus/<str:code>/availability/", views.SkuAvailabilityApi.as_view(), name="sku-availability"),
    path("stock/", views.StockListApi.as_view(), name="stock-list"),
    path("stock/adjustments/", views.StockAdjustmentApi.as_view(), name="stock-adjustment"),
    path("reservations/", views.ReservationCreateApi.as_view(), name="reservation-create"),
    path(
        "reservations/<id:reservation_id>/", views.ReservationDetailApi.as_view(), name="reservation-detail"
    ),
    path("replenishment/", views.ReplenishmentApi.as_view(), name="replenishment"),
]
