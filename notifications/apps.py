from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from notifications.receivers import connect

        # The domain rooms send their signals inside their transactions and import nothing of
        # this room; the receivers write this room's rows and outbox rows in those transactions.
        connect()
