"""The warehouse pages, under /warehouse/. Every route names its warehouse, so a member who does
not work there gets a 404 before anything else is looked up (fulfillment/pages/access.py)."""

from django.urls import path

from fulfillment.pages import packing, picking

app_name = "warehouse"

SHIPMENT = "<int:warehouse_id>/shipments/<int:shipment_id>/"
PICK_LIST = "<int:warehouse_id>/pick-lists/<int:pick_list_id>/"

urlpatterns = [
    path("", picking.home, name="home"),
    path("<int:warehouse_id>/", picking.index, name="index"),
    path("<int:warehouse_id>/pick-lists/", picking.pick_list_create_page, name="pick_list_create"),
    path(PICK_LIST, picking.pick_list_page, name="pick_list"),
    path(PICK_LIST + "scan/", picking.pick_scan_page, name="pick_scan"),
    path(PICK_LIST + "lines/<int:line_id>/short/", picking.pick_short_page, name="pick_short"),
    path(SHIPMENT, packing.pack_page, name="pack"),
    path(SHIPMENT + "scan/", packing.pack_scan_page, name="pack_scan"),
    path(SHIPMENT + "pack/", packing.pack_confirm_page, name="pack_confirm"),
    path(SHIPMENT + "rates/", packing.rates_quote_page, name="rates_quote"),
    path(SHIPMENT + "label/", packing.label_buy_page, name="label_buy"),
    path(SHIPMENT + "label/print/", packing.label_file, name="label_file"),
    path(SHIPMENT + "slip/", packing.packing_slip, name="packing_slip"),
    path(SHIPMENT + "ship/", packing.ship_page, name="ship"),
]
