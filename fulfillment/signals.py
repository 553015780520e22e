"""Signals fulfillment sends about return labels. Fulfillment knows no return model; returns listens.

Both are sent inside a transaction of fulfillment's (the label's or the tracking update's).
Receivers only enqueue work (`oms.core.tasks.enqueue_on_commit`): they must not take locks out
of the house order (a return's order comes before any shipment or label).
"""

from __future__ import annotations

import django.dispatch

# A return label was bought (`fulfillment.labels.return_label_request`, then the purchase task).
# kwargs: tenant_id=int, label_id=int.
return_label_purchased = django.dispatch.Signal()

# The carrier said something about a return label's parcel (`tracking.return_label_tracking_apply`).
# kwargs: tenant_id=int, label_id=int, status=str (TrackingStatus), details=str, source=str.
return_parcel_tracked = django.dispatch.Signal()
