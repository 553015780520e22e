"""Reset a person's second factor from the shell: for a superuser who lost their phone when no other
superuser can reset it in the admin. They set up a new one at their next sign-in."""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Delete a user's second-factor devices (and clear their lockout); they enrol again at sign-in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        devices, _ = TOTPDevice.objects.filter(user=user).delete()
        attempts = AxesProxyHandler.reset_attempts(username=username)
        self.stdout.write(
            f"{username}: {devices} second-factor device(s) removed, {attempts} failed sign-in record(s) "
            "cleared. They set up a new second factor at their next sign-in."
        )
