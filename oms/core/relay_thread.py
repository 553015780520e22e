"""A per-process background thread that takes items from many callers and handles them in batches.

The outbox hands it the rows a transaction just committed (oms/core/outbox.py: the rows
themselves when they were written leased to it, else their ids): the request only adds them to
a list and sets an Event, and the thread relays everything that
arrived since its last batch in one go. It wakes at once, so a quiet process relays a row within
a millisecond or two of its commit; a busy one relays the rows of many requests per batch.

The thread belongs to the process that started it: after a fork (gunicorn's workers, Celery's
prefork children) the child starts its own on first use. It is a daemon: rows still waiting when
the process ends are lost from memory only; their rows are committed and the beat relay sends
them. `handle` gets the batch as a list and must not raise (a raise is logged, the batch dropped).
The thread uses its own database connection (Django's are per thread) and lets Django's checks
close it when it is unusable or too old, as a request would.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)


class BatchingThread:
    """`submit(items)` from any thread; `handle(batch)` runs on the thread for what has gathered."""

    def __init__(self, name: str, handle: Callable[[list[Any]], None], *, batch_limit: int) -> None:
        self.name = name
        self.handle = handle
        self.batch_limit = batch_limit
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._waiting: list[Any] = []
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.backend_pid: int | None = None  # the thread's PostgreSQL backend (benches read its CPU)
        # After a fork the parent's thread does not run in the child, and the lock may have been
        # copied held: the child starts afresh (only the forking thread runs in it).
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._waiting, self._busy, self._stopping, self._thread = [], False, False, None

    def submit(self, items: list[Any]) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._waiting.extend(items)
        self._wake.set()

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait()
                with self._lock:
                    self._wake.clear()
                    if self._stopping and not self._waiting:
                        return
                    batch = self._waiting[: self.batch_limit]
                    del self._waiting[: self.batch_limit]
                    if self._waiting:
                        self._wake.set()  # more than one batch gathered: go round again at once
                    self._busy = bool(batch)
                if batch:
                    close_old_connections()
                    try:
                        self.handle(batch)
                    except Exception:
                        logger.exception(
                            "%s dropped %d item(s); the beat relay follows", self.name, len(batch)
                        )
                    info = getattr(connection.connection, "info", None)
                    self.backend_pid = getattr(info, "backend_pid", None)
                with self._lock:
                    self._busy = False
                    if not self._waiting:
                        self._idle.notify_all()
        finally:
            connection.close()
            self.backend_pid = None

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Until everything submitted so far is handled (tests, and a process about to exit)."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._waiting and not self._busy, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Handle what is waiting, then end the thread and close its database connection."""
        thread = self._thread
        if thread is None:
            return
        with self._lock:
            self._stopping = True
        self._wake.set()
        thread.join(timeout)
        self._thread = None
