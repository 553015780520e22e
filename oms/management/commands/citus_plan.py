"""Print the SQL that distributes this schema by tenant on Citus (docs/scaling.md).

Generated from the app registry (oms/core/citus.py), so the plan names every table a
migration adds. It only prints: run it on the coordinator once Citus is installed.
"""

from typing import Any

from django.core.management.base import BaseCommand

from oms.core.citus import citus_plan


class Command(BaseCommand):
    help = "Print the Citus distribution of the schema (reference and distributed tables)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("\n".join(citus_plan()))
