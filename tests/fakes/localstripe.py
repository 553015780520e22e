"""localstripe (a behavioural fake of the Stripe API) as a session-scoped pytest fixture.

Started from the virtualenv next to the running interpreter, on a free port of 127.0.0.1,
always `--from-scratch` (otherwise it loads and saves a pickle in the temp folder).
Tests point a tenant's ChannelAccount.base_url at the yielded URL; the real `stripe` SDK
does the rest.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _binary() -> str | None:
    beside = os.path.join(os.path.dirname(sys.executable), "localstripe")
    if os.path.exists(beside):
        return beside
    return shutil.which("localstripe")


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    binary = _binary()
    if binary is None:
        pytest.skip("localstripe is not installed (pip install -e '.[dev]')")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("localstripe did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
