"""Statements PostgreSQL plans once per connection: a cursor that binds its parameters on the server.

Django's PostgreSQL cursors bind on the client (the values are written into the SQL text), so
PostgreSQL parses and plans every statement it is sent, and never keeps a plan. For a statement
a connection runs on every request and whose planning is a large part of its cost (the order
page, the list page, the stock rows a placement plans on: each about half a millisecond or more
of PostgreSQL's CPU to plan), `server_bound_cursor` gives a Django cursor (its statements
counted, logged and wrapped as any other's) over a psycopg cursor that binds on the server, so
that psycopg prepares a statement its connection has run PREPARE_THRESHOLD times and PostgreSQL
stops planning it. Settings that say how to prepare are obeyed: behind a transaction-mode pooler
nothing is prepared (DB_POOLER, oms/settings/prod.py).

Binding on the server costs PostgreSQL more for a statement it plans in no time (an INSERT of a
few values): that is why Django's own binding stays the default (bench/place.py measured half
a millisecond more per placement with every statement bound on the server).
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import connection

PREPARE_THRESHOLD = 5  # psycopg's default: a statement run this often on a connection is prepared


def server_bound_cursor() -> Any:
    """A Django cursor over a psycopg cursor that binds on the server (see the module)."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = connection.connection
    if raw.prepare_threshold is None and "prepare_threshold" not in connection.settings_dict["OPTIONS"]:
        raw.prepare_threshold = PREPARE_THRESHOLD  # Django's default None, there for its own cursors
    with connection.wrap_database_errors:
        cursor = psycopg.Cursor(raw)
    return (
        connection.make_debug_cursor(cursor) if connection.queries_logged else connection.make_cursor(cursor)
    )
