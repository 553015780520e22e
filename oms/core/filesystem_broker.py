"""The embedded broker (kombu's filesystem transport): messages that appear whole, taken promptly.

Whole messages. kombu writes a message by creating its file and then writing to it, so a worker
listing the folder at that moment can open the empty file, fail to decode it and stop consuming
(seen with `make run`: a backorder never allocated). Here a message is written under a name the
worker does not read and then renamed into place: `os.replace` on one filesystem is atomic, so a
worker sees no file or the whole message.

Taken by one worker. kombu takes a message by moving its file to the system's temporary folder;
when that is another filesystem (a tmpfs /tmp) the "move" is a copy and a delete, and two workers
can both copy the same file. Here the file is renamed into the processed folder beside the queue
(the same filesystem): exactly one rename succeeds.

Taken promptly. kombu's worker loop asks the broker for a message, and when it gets none, because
the folder is empty or because every pool slot is busy (prefetch), it sleeps `polling_interval`
before asking again. A slot that frees 5 ms into that sleep stayed idle for the rest of it: a
worker with 2 slots and 10 ms tasks ran 2 tasks per poll, about 19 tasks/s at a 0.1 s interval.
Here the sleep ends as soon as a message is acknowledged or rejected (a slot is free again), so a
backlog drains at the pace of the tasks; an empty folder is still looked at every
`polling_interval` (settings: the idle latency of a new message is at most that).
"""

from __future__ import annotations

import os
import threading
import uuid
from functools import cached_property
from queue import Empty
from time import monotonic, monotonic_ns
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, virtual
from kombu.transport import filesystem as kombu_filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads


class QoS(virtual.QoS):
    """Wakes the worker loop when a message is settled: its slot can take the next one now."""

    def ack(self, delivery_tag: Any) -> None:
        super().ack(delivery_tag)
        self.channel.connection.wake()

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        super().reject(delivery_tag, requeue=requeue)
        self.channel.connection.wake()


class Channel(kombu_filesystem.Channel):
    QoS = QoS

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        # Named by the system-wide monotonic clock in nanoseconds, padded: a worker takes the
        # oldest first (kombu's milliseconds put two messages of one millisecond in random order).
        name = f"{monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.partial"  # does not end in ".msg": the worker passes it over
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    @cached_property
    def _taken_folder(self) -> str:
        folder = str(self.processed_folder)
        os.makedirs(folder, exist_ok=True)  # a missing one would look like "taken by another worker"
        return folder

    def _get(self, queue: str) -> Any:
        """The oldest message of `queue`, renamed out of the folder so no other worker takes it."""
        wanted = f"{queue}.msg"
        taken_folder = self._taken_folder
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            taken = os.path.join(taken_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), taken)
            except FileNotFoundError:
                continue  # another worker took it first
            except OSError as exc:
                raise ChannelError(f"Cannot take file {name!r} from the queue") from exc
            try:
                with open(taken, "rb") as f:
                    payload = f.read()
                if not self.store_processed:
                    os.remove(taken)
            except OSError as exc:
                raise ChannelError(f"Cannot read file {taken!r} taken from the queue") from exc
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(kombu_filesystem.Transport):
    Channel = Channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._settled = threading.Event()

    def wake(self) -> None:
        self._settled.set()

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:
        """kombu's loop, whose pause after an empty poll ends early when a message is settled."""
        time_start = monotonic()
        get = self.cycle.get
        polling_interval = self.polling_interval
        if timeout and polling_interval and polling_interval > timeout:
            polling_interval = timeout
        while True:
            self._settled.clear()  # before polling: a settle during the poll ends the pause at once
            try:
                get(self._deliver, timeout=timeout)
            except Empty:
                if timeout is not None and monotonic() - time_start >= timeout:
                    raise TimeoutError() from None
                if polling_interval is not None:
                    self._settled.wait(polling_interval)
            else:
                break


def use_for_filesystem_urls() -> None:
    """Every `filesystem://` connection of this process uses this transport."""
    TRANSPORT_ALIASES["filesystem"] = f"{__name__}:Transport"
