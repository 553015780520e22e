"""The embedded broker (oms/core/filesystem_broker.py): a freed slot takes the next message at once, and
two workers never take the same message."""

from __future__ import annotations

import threading
from pathlib import Path

from kombu import Connection, Consumer, Exchange, Producer, Queue

from oms.core import filesystem_broker
from oms.core.filesystem_broker import use_for_filesystem_urls


def _queue(name: str) -> Queue:
    # A name of its own per test: kombu remembers the bindings it declared per process, not per folder.
    return Queue(name, Exchange(name, type="direct"), routing_key=name)


def _connection(folder: Path, *, polling_interval: float) -> Connection:
    use_for_filesystem_urls()
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    connection = Connection(
        "filesystem://",
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "polling_interval": polling_interval,
        },
    )
    assert type(connection.transport) is filesystem_broker.Transport
    return connection


def _publish(folder: Path, queue: Queue, bodies: list[int]) -> None:
    with _connection(folder, polling_interval=0.1) as connection:
        producer = Producer(connection.default_channel)
        for body in bodies:
            producer.publish(body, exchange=queue.exchange, routing_key=queue.routing_key, declare=[queue])


def test_a_worker_whose_slot_frees_takes_the_next_message_without_waiting_for_its_next_poll(tmp_path):
    queue = _queue("slot")
    _publish(tmp_path, queue, [1, 2])
    received = []
    with _connection(tmp_path, polling_interval=120) as connection:
        channel = connection.default_channel
        channel.basic_qos(0, 1, False)  # one slot, as with -c 1
        consumer = Consumer(channel, [queue], callbacks=[lambda body, message: received.append(message)])
        with consumer:
            connection.drain_events(timeout=10)
            assert [m.payload for m in received] == [1]
            # The slot is busy: the next poll finds nothing it may take and the loop waits
            # (up to 120 s). The task ends and acks: the loop takes message 2 now.
            second = threading.Thread(target=connection.drain_events, daemon=True)
            second.start()
            threading.Timer(0.3, received[0].ack).start()
            second.join(timeout=30)
            assert not second.is_alive(), "the freed slot waited for the next poll"
    assert [m.payload for m in received] == [1, 2]


def test_two_workers_never_take_the_same_message(tmp_path):
    queue = _queue("two")
    bodies = list(range(200))
    _publish(tmp_path, queue, bodies)
    taken: list[list[int]] = [[], []]

    def worker(index: int) -> None:
        with _connection(tmp_path, polling_interval=0.01) as connection:
            channel = connection.default_channel
            while True:
                message = channel.basic_get(queue.name, no_ack=True)
                if message is None:
                    return
                taken[index].append(message.payload)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(taken[0] + taken[1]) == bodies
    assert not list((tmp_path / "queue").iterdir())
    assert not list((tmp_path / "processed").iterdir())  # read, then removed (store_processed off)
