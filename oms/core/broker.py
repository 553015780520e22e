"""The Redis broker transport: kombu's, with the fixes a worker needs to survive a broker drop.

Tried with celery / kombu 5.7.0 and redis 8.1.0, killing Redis while a worker holds messages
(tests/e2e/test_broker_drop.py). No other release set does better: 5.6 and 5.5 lose the same
messages and then stop consuming. Three defects, three fixes:

1. The worker exits (`Unrecoverable error: AttributeError("'NoneType' object has no attribute
   'hostname'")`) and stays dead. Celery first collects the broken connection (the channel's
   close fails half-way on the dead socket, and the transport forgets its connection settings),
   then closes it again: the channel drops its connection pools and puts the messages it held
   back on their queues through a new pool built from the forgotten settings. Fix: a channel
   keeps the settings it was opened with, so that put-back succeeds or fails as a connection
   error, which Celery handles by reconnecting.
2. A message is lost. Redis's BRPOP takes a message off its queue; the channel then records it
   in the "unacked" hash, which is what lets it come back if the worker dies. When Redis drops
   between the two, the message exists only in this process and kombu drops it. Fix: such a
   message is kept and pushed back on its queue as soon as this process reaches Redis again.
3. The messages the worker held when Redis dropped wait in the unacked hash for the visibility
   timeout (10 minutes) because putting them back failed. Fix: the put-back is retried as soon
   as this process reaches Redis again (if a task acknowledged its message meanwhile, nothing
   is left to put back).

What 2 and 3 keep lives in this process's memory: if the worker also dies before Redis returns,
the messages of 3 still come back after the visibility timeout; those of 2 (a message in flight
at the very moment Redis dropped) would be lost with it. Proven by tests/e2e/test_broker_drop.py.

A window no client can close remains: Redis writes a BRPOP's pop to its append-only file before
it sends the reply, so when it dies between the two the message is gone from the queue and never
reached this process. With `appendfsync always` the window is the fsync itself, milliseconds:
tests/e2e/test_broker_drop.py lost one of 200 messages that way in 2 of 3 runs (the pop, the last
command before the kill, in the AOF), and its server now runs `everysec`, Redis's default, where
the window is a write() call. Closing it takes a queue that moves the message instead of popping
it (BLMOVE into a per-consumer list), which kombu's Redis transport does not do; RabbitMQ, which
keeps a message until it is acknowledged, has no such window.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis

logger = logging.getLogger(__name__)

# ("message", raw payload, exchange, routing key) or ("tag", delivery tag): see 2 and 3 above.
_stranded: deque[tuple[Any, ...]] = deque()


class QoS(kombu_redis.QoS):
    def append(self, message: Any, delivery_tag: str) -> None:
        try:
            super().append(message, delivery_tag)
        except self.channel.connection_errors:
            delivery = message.delivery_info
            _stranded.append(("message", message._raw, delivery["exchange"], delivery["routing_key"]))
            logger.warning("broker dropped while taking message %s: kept to put back", delivery_tag)
            raise

    def restore_unacked(self, client: Any = None) -> None:
        tags = list(self._delivered)
        try:
            super().restore_unacked(client)
        except self.channel.connection_errors:
            _stranded.extend(("tag", tag) for tag in tags)
            logger.warning("broker dropped: %d held message(s) go back once Redis answers", len(tags))
            raise


class Channel(kombu_redis.Channel):
    QoS = QoS

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        # `connection` is the transport; its `client` holds the URL, credentials and options.
        self._opened_with = connection.client
        super().__init__(connection, **kwargs)  # raises a connection error unless Redis answers
        self._put_back_stranded()

    def _put_back_stranded(self) -> None:
        if not _stranded:
            return
        count = len(_stranded)
        with self.conn_or_acquire() as client:
            while _stranded:
                item = _stranded[0]
                if item[0] == "tag":
                    self.qos.restore_by_tag(item[1], client=client)
                else:
                    _, payload, exchange, routing_key = item
                    with client.pipeline() as pipe:
                        self._do_restore_message(payload, exchange, routing_key, pipe)
                        pipe.execute()
                _stranded.popleft()
        logger.warning("broker back: %d message(s) held when it dropped are back on their queues", count)

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        transport = self.connection
        if transport.client is not None or self._opened_with is None:
            return super()._connparams(asynchronous=asynchronous)
        transport.client = self._opened_with
        try:
            return super()._connparams(asynchronous=asynchronous)
        finally:
            transport.client = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.closed:
                # A pool opened after the channel dropped its own (to put messages back) goes too.
                self._disconnect_pools()


class Transport(kombu_redis.Transport):
    Channel = Channel


def use_for_redis_urls() -> None:
    """Every `redis://` and `rediss://` connection of this process uses this transport (web,
    workers, beat, and a test that points Celery at another broker URL)."""
    TRANSPORT_ALIASES["redis"] = TRANSPORT_ALIASES["rediss"] = f"{__name__}:Transport"
