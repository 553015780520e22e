"""The warehouse pages: pick lists, picking, packing, labels, packing slips.

Server-rendered, for members holding `Capability.FULFILLMENT_WORK`, each scoped to the
warehouses the member works in (`access.py`). Every form posts (with CSRF), the view calls one
service, shows a `DomainError`'s message, and redirects; every page works without JavaScript
but the camera (static/warehouse/scan.js adds the rest).
"""
