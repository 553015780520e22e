from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    name = "returns"

    def ready(self) -> None:
        from fulfillment.signals import return_label_purchased, return_parcel_tracked
        from returns.receivers import on_return_label_purchased, on_return_parcel_tracked

        # Fulfillment buys and tracks return labels; returns moves its RMAs (fulfillment imports
        # nothing of returns).
        return_label_purchased.connect(on_return_label_purchased, dispatch_uid="returns.label_purchased")
        return_parcel_tracked.connect(on_return_parcel_tracked, dispatch_uid="returns.parcel_tracked")
