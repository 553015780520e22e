"""Closed-loop HTTP clients for the benches: each sends its next request when the last one is answered.

Two kinds, the same requests (a `Make` gives method, path, JSON body and the status expected):
- "processes" (the default): one forked process a client, each with one kept-alive
  http.client connection. A client's clock runs around the request alone, in a process of its
  own, so what it measures is the server's answer time plus the socket's.
- "threads": one process, a thread a client with a `requests` Session (bench/api.py's client
  until 2026-11-27). The threads share one interpreter lock: a client whose answer has arrived
  waits for the lock (up to sys.getswitchinterval(), 5 ms, behind a thread running Python)
  before it stops its clock, and the requests library spends about a third of a millisecond of
  that process's CPU per request. Its latencies are the server's plus that wait: kept to compare.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# index of the client, number of its request -> (method, path with query, JSON body or None, status)
Make = Callable[[int, int], tuple[str, str, Any, int]]
KINDS = ("processes", "threads")
TIMEOUT = 30.0


@dataclass
class Outcome:
    latencies: list[float]  # seconds, every request's
    errors: int
    wall: float  # seconds from the start line to the last client's end


def run_clients(kind: str, base: str, key: str, make: Make, *, clients: int, seconds: float) -> Outcome:
    if kind == "processes":
        return _with_processes(base, key, make, clients, seconds)
    if kind == "threads":
        return _with_threads(base, key, make, clients, seconds)
    raise ValueError(f"client kind {kind!r}: one of {KINDS}")


def _body(body: Any) -> bytes | None:
    return None if body is None else json.dumps(body).encode()


# --- processes -----------------------------------------------------------------------------------
def _process_client(
    index: int, base: str, key: str, make: Make, seconds: float, start: Any, out: Any
) -> None:
    import http.client

    random.seed(os.getpid() ^ time.time_ns())  # forked: each client its own choices
    where = urlsplit(base)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=TIMEOUT)
    latencies: list[float] = []
    errors = n = 0
    start.wait()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        method, path, body, expect = make(index, n)
        payload = _body(body)
        started = time.perf_counter()
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            response.read()
            ok = response.status == expect
        except (OSError, http.client.HTTPException):  # a timeout or a dropped connection: an error
            connection.close()
            connection = http.client.HTTPConnection(where.hostname, where.port, timeout=TIMEOUT)
            ok = False
        latencies.append(time.perf_counter() - started)
        errors += 0 if ok else 1
        n += 1
    connection.close()
    out.send((latencies, errors))
    out.close()


def _with_processes(base: str, key: str, make: Make, clients: int, seconds: float) -> Outcome:
    context = multiprocessing.get_context("fork")
    start = context.Event()
    pipes, workers = [], []
    for index in range(clients):
        receive, send = context.Pipe(duplex=False)
        worker = context.Process(target=_process_client, args=(index, base, key, make, seconds, start, send))
        worker.start()
        send.close()
        pipes.append(receive)
        workers.append(worker)
    began = time.monotonic()
    start.set()
    latencies: list[float] = []
    errors = 0
    for receive in pipes:  # each answers once, at its end
        found, failed = receive.recv()
        latencies.extend(found)
        errors += failed
    wall = time.monotonic() - began
    for worker in workers:
        worker.join(10)
    return Outcome(latencies, errors, wall)


# --- threads (the former client) ------------------------------------------------------------------
def _with_threads(base: str, key: str, make: Make, clients: int, seconds: float) -> Outcome:
    import requests

    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        nonlocal errors
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        n = 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            method, path, body, expect = make(index, n)
            try:
                response = session.request(method, base + path, json=body, timeout=TIMEOUT)
                ok = response.status_code == expect
            except requests.RequestException:
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                errors += 0 if ok else 1
            n += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Outcome(latencies, errors, time.monotonic() - began)
