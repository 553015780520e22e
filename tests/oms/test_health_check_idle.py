"""Kept connections are pinged before use only after being idle (oms/core/postgresql/base.py)."""

from __future__ import annotations

import pytest
from django.db import connection, connections

pytestmark = [
    pytest.mark.django_db(transaction=True),  # request_started's check closes a connection inside atomic()
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the backend of DATABASE_URL=postgres://"),
]


@pytest.fixture
def pings(monkeypatch):
    wrapper = connections["default"]
    wrapper.ensure_connection()
    monkeypatch.setattr(wrapper, "health_check_enabled", True)  # CONN_HEALTH_CHECKS, read on connect
    monkeypatch.setattr(wrapper, "close_at", None)  # kept (CONN_MAX_AGE=None), as in production
    made = []
    usable = wrapper.is_usable
    monkeypatch.setattr(wrapper, "is_usable", lambda: made.append(1) or usable())
    return made


def _request() -> None:
    """What a request does to the connection: request_started's check, then a query."""
    connection.close_if_unusable_or_obsolete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_a_connection_used_a_moment_ago_is_not_pinged_one_left_idle_is(pings, settings):
    settings.DB_HEALTH_CHECK_AFTER_IDLE = 1.0
    _request()
    _request()
    assert pings == []
    connection.used_at -= 1.5  # idle for 1.5 s
    _request()
    assert pings == [1]
    _request()
    assert pings == [1]


def test_a_connection_that_failed_is_checked_and_zero_pings_before_every_use(pings, settings):
    settings.DB_HEALTH_CHECK_AFTER_IDLE = 1.0
    _request()
    connection.errors_occurred = True  # what a failed statement leaves
    _request()
    assert pings == [1]
    settings.DB_HEALTH_CHECK_AFTER_IDLE = 0
    _request()
    _request()
    assert pings == [1, 1, 1]
