"""The receiving pages, under /warehouse/<w>/returns/ (beside fulfillment's warehouse pages). Every
route names its warehouse: a member who does not work there gets a 404 first."""

from django.urls import path

from returns import pages

app_name = "receiving"

RETURN = "<int:warehouse_id>/returns/<int:return_id>/"

urlpatterns = [
    path("<int:warehouse_id>/returns/", pages.receiving_page, name="index"),
    path("<int:warehouse_id>/returns/scan/", pages.scan_page, name="scan"),
    path(RETURN, pages.return_page, name="return"),
    path(RETURN + "receive/", pages.receive_page, name="receive"),
]
