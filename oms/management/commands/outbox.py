"""Look at the outbox: what waits to be sent, what failed; relay, requeue or purge by hand."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from oms.core.outbox import (
    outbox_counts,
    outbox_oldest_pending_age,
    outbox_purge,
    outbox_relay_pending,
    outbox_retry_failed,
    outbox_unsent,
)


class Command(BaseCommand):
    help = "Show pending and failed outbox rows; --relay, --retry-failed and --purge act on them."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=50, help="Rows to list (oldest first)")
        parser.add_argument("--relay", action="store_true", help="Publish ready rows now")
        parser.add_argument(
            "--retry-failed", nargs="*", type=int, metavar="ID", help="Put failed rows (all, or these) back"
        )
        parser.add_argument("--purge", action="store_true", help="Delete sent rows past their retention")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["retry_failed"] is not None:
            count = outbox_retry_failed(ids=options["retry_failed"] or None)
            self.stdout.write(f"Requeued {count} failed row(s).")
        if options["relay"]:
            result = outbox_relay_pending()
            self.stdout.write(
                f"Relayed: {result.sent} sent, {result.retrying} retrying, {result.failed} failed."
            )
        if options["purge"]:
            self.stdout.write(f"Purged {outbox_purge()} sent row(s).")
        counts = outbox_counts()
        age = outbox_oldest_pending_age()
        oldest = "-" if age is None else f"{age:.0f}s"
        self.stdout.write(
            f"pending: {counts['pending']}  failed: {counts['failed']}  oldest pending: {oldest}"
        )
        now = timezone.now()
        for row in outbox_unsent(limit=options["limit"]):
            tenant = row.tenant.slug if row.tenant else "-"
            wait = max((row.available_at - now).total_seconds(), 0)
            self.stdout.write(
                f"#{row.pk} {row.state} {row.task} tenant={tenant} attempts={row.attempts} "
                f"next_in={wait:.0f}s created={row.created_at:%Y-%m-%d %H:%M:%S} {row.kwargs} "
                f"{row.last_error[:200]}".rstrip()
            )
