"""A redis-server the test owns: started on a free port, killed and restarted at will.

The server appends every write to its AOF, so SIGKILL loses no message: a drop is a broker
outage, not data loss (that would be a different fault to test). The AOF is written before each
reply and fsynced every second (Redis's default for an AOF, `appendfsync everysec`): a killed
process loses nothing the kernel already holds. With `always`, the server fsyncs between writing
a command to the AOF and replying, and a kill in that fsync left a BRPOP's pop on disk with its
reply unsent: the message was gone from the queue and never reached the worker (seen in 2 of 3
runs of tests/e2e/test_broker_drop.py; oms/core/broker.py says what window is left).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

REDIS_SERVER = shutil.which("redis-server")
# Tests that need it skip without the binary, except where it is required (.ci/run sets this).
needs_redis_server = pytest.mark.skipif(
    not REDIS_SERVER and not os.environ.get("OMS_FAULT_TESTS_REQUIRED"),
    reason="needs the redis-server binary (CI installs it)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=2)

    def start(self, timeout: float = 15) -> None:
        assert REDIS_SERVER, "redis-server is not installed"
        assert self.process is None or self.process.poll() is not None, "already running"
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--dir", str(self.directory)]
        command += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
        command += ["--logfile", str(self.directory / "redis.log")]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.RedisError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"redis-server did not start:\n{self._log()}")

    def kill(self) -> None:
        """The broker drops: SIGKILL, no goodbye to any client."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _log(self) -> str:
        log = self.directory / "redis.log"
        return log.read_text()[-2000:] if log.exists() else ""
