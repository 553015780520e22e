"""What the benchmarks share: their own PostgreSQL database, made afresh for a run."""

from __future__ import annotations

import argparse
import os
from typing import Any


def bench_parser(description: str | None, *, env: str, database: str, why: str) -> argparse.ArgumentParser:
    """A bench's command line with its --database-url: the `env` variable, else the local
    PostgreSQL database `database`. Never DATABASE_URL (`why` says what the bench does to it)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(env, f"postgres://postgres@127.0.0.1:5432/{database}"),
        help=f"default ${env}, else {database} (never DATABASE_URL: {why})",
    )
    return parser


def _admin_connection(database_url: str) -> tuple[Any, dict[str, Any]]:
    import psycopg
    from dj_database_url import parse

    cfg = parse(database_url)
    conn = psycopg.connect(
        host=cfg["HOST"] or "127.0.0.1",
        port=cfg["PORT"] or 5432,
        user=cfg["USER"] or "postgres",
        password=cfg["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    return conn, cfg


def is_postgres(database_url: str) -> bool:
    from dj_database_url import parse

    return "postgresql" in parse(database_url)["ENGINE"]


def recreate_database(database_url: str) -> None:
    """Drop and create the bench's database (never the one in DATABASE_URL)."""
    conn, cfg = _admin_connection(database_url)
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}"')
        conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


def ensure_database(database_url: str) -> None:
    """Create the bench's database when it is missing; keep it when it is there."""
    conn, cfg = _admin_connection(database_url)
    with conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (cfg["NAME"],)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


def copy_database(source_url: str, target_url: str) -> None:
    """Make the target database a copy of the source (CREATE DATABASE ... TEMPLATE), replacing it.

    Nobody may be connected to the source meanwhile (PostgreSQL's rule for a template).
    """
    from dj_database_url import parse

    conn, cfg = _admin_connection(target_url)
    source = parse(source_url)["NAME"]
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}"')
        conn.execute(f'CREATE DATABASE "{cfg["NAME"]}" TEMPLATE "{source}"')


def drop_database(database_url: str) -> None:
    """Drop the bench's database if it is there."""
    conn, cfg = _admin_connection(database_url)
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}"')
