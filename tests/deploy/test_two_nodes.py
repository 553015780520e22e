"""Two nodes of the layout (each its own gunicorn, queue workers and beat, in a process group of its
own) share PostgreSQL through one PgBouncer, and the broker: Redis, then RabbitMQ.

Orders come to both nodes (each API order sent to one node, then again with the same
Idempotency-Key to the other), every Shopify webhook reaches both, stock receipts alternate
between them. While the carrier is slow to sell labels, one node is killed (SIGKILL of its
process group): the label purchases it held come back to the other node (Redis: after the
visibility timeout; RabbitMQ: when the dead connection closes). Then every effect happened
exactly once: one order per order, units allocated once, one label bought per shipment at the
carrier, one capture per payment, one tracking push per marketplace order; and one beat
scheduled at a time.
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests

from tests.deploy.actions import SHOP_SECRET
from tests.deploy.conftest import (
    AUSTIN,
    FAST_RECOVERY,
    api,
    broker_url,
    order_body,
    running_layout,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WEB_ORDERS, SHOP_ORDERS = 8, 4
SKU = "TRAIL-9"


def _unfinished(log: str) -> set[str]:
    """Tasks a worker's log shows received and not yet finished (succeeded, raised, retried)."""
    received = set(re.findall(r"\[([0-9a-f-]{36})\] received", log))
    finished = set(re.findall(r"\[([0-9a-f-]{36})\] (?:succeeded|raised|retry)", log))
    return received - finished


def _first_received(log: str, task_ids: set[str], after: datetime) -> datetime | None:
    """When a worker first received one of `task_ids` after `after` (its log's own clock, UTC).
    The layout runs production's settings: one JSON object per log line."""
    times = []
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # the pool's own lines are not ours
        found = re.fullmatch(r"Task \S+\[([0-9a-f-]{36})\] received", str(entry.get("message", "")))
        if found and found.group(1) in task_ids:
            times.append(datetime.fromisoformat(entry["timestamp"]).astimezone(UTC))
    later = [t for t in times if t > after]
    return min(later) if later else None


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_two_nodes_do_every_piece_of_work_once_and_lose_none_when_one_dies(
    broker, tmp_path, layout_db, fakes, localstripe_url, figures
):
    shop, shippo = fakes
    with running_layout(tmp_path, layout_db, broker_url(broker, layout_db)) as layout:
        started = time.monotonic()
        layout.up(nodes=2, env=FAST_RECOVERY)
        up_seconds = time.monotonic() - started
        # 6 units for 12 orders: half wait for the receipts below.
        world = layout.action(
            "seed",
            {
                "shippo_url": shippo.url,
                "shop_url": shop.url,
                "stripe_url": localstripe_url,
                "stock": {SKU: [4, 2]},
            },
        )
        key, tenant, nodes = world["api_key"], world["tenant_id"], [layout.url(1), layout.url(2)]
        for web in nodes:
            shop.add_webhook(web + world["shop_webhook_path"], secret=SHOP_SECRET)
        started = time.monotonic()

        placed = []
        for n in range(WEB_ORDERS):
            first, second = nodes[n % 2], nodes[(n + 1) % 2]
            body = order_body(f"TWO-{n}", SKU)
            answers = [api(web, key, "POST", "orders/", body, idem=f"two-{n}") for web in (first, second)]
            assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
            assert answers[0].json()["id"] == answers[1].json()["id"]  # the second is the first's replay
            placed.append(answers[0].json()["id"])
        shop_orders = [
            shop.create_order(
                line_items=[{"sku": SKU, "quantity": 1, "price": "89.00"}],
                shipping_address=AUSTIN,
                notify=True,
            )["id"]
            for _ in range(SHOP_ORDERS)
        ]
        for n in range(3):
            receipt = {"sku": SKU, "warehouse": "TX", "delta": 2, "reason": "receipt", "reference": f"PO-{n}"}
            answer = api(nodes[n % 2], key, "POST", "stock/adjustments/", receipt)
            assert answer.status_code in (200, 201), answer.text

        total = WEB_ORDERS + SHOP_ORDERS
        released = lambda: layout.states(tenant)["orders"] == ["in_fulfillment"] * total  # noqa: E731
        wait_until(released, timeout=120, what="every order allocated and released", layout=layout)
        allocated_at = time.monotonic() - started
        before = layout.action("report", world)
        assert before["allocated_units"] == before["ordered_units"] == total
        assert before["over_allocated_lines"] == []
        assert before["external_ids"][0][1] == 1  # no order made twice
        assert before["inbound_events"] == SHOP_ORDERS  # each webhook reached both nodes, stored once
        assert len(before["shipments"]) == total

        # The carrier takes 6 s to sell each label: the label workers of both nodes hold purchases
        # (the API waits up to 8 s for one, so the requests go at once).
        layout.action("pack", world)
        shippo.delay_next(total, seconds=6, method="POST", path="/transactions")
        with ThreadPoolExecutor(total) as pool:
            answers = list(
                pool.map(
                    lambda n_id: api(nodes[n_id[0] % 2], key, "POST", f"shipments/{n_id[1]}/label/", {},
                                     idem=f"label-{n_id[1]}"),
                    enumerate(before["shipments"]),
                )
            )  # fmt: skip
        assert [a.status_code for a in answers if a.status_code not in (200, 202)] == []
        holders = [
            node
            for node in (1, 2)
            if "holding the schedule lock" in (layout.var / f"node-{node}" / "beat.log").read_text()
        ]
        assert len(holders) == 1, layout.logs("*/beat.log")
        labels_2 = layout.var / "node-2" / "worker-labels.log"
        wait_until(
            lambda: "label_purchase_task[" in labels_2.read_text(), timeout=60, what="node 2 buys labels"
        )
        layout.kill_node(2)
        killed_wall = datetime.now(UTC)
        held = _unfinished(labels_2.read_text())
        assert held, "node 2 held no label purchase when it was killed: the kill tested nothing"
        killed_at = time.monotonic()
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{nodes[1]}/health", timeout=5)

        labelled = lambda: layout.states(tenant)["shipments"] == ["label_purchased"] * total  # noqa: E731
        wait_until(labelled, timeout=150, what="every label bought after the kill", layout=layout)
        recovered = time.monotonic() - killed_at
        back = _first_received((layout.var / "node-1" / "worker-labels.log").read_text(), held, killed_wall)
        assert back is not None  # node 1 received what node 2 held
        redelivered = (back - killed_wall).total_seconds()
        for shipment_id in before["shipments"]:
            shipped = api(nodes[0], key, "POST", f"shipments/{shipment_id}/ship/", {})
            assert shipped.status_code == 200, shipped.text

        def done():
            states = layout.states(tenant)
            pushed = all(shop.fulfillments_of(order) for order in shop_orders)
            return (
                states["orders"] == ["shipped"] * total and len(states["captures"]) >= WEB_ORDERS and pushed
            )

        wait_until(done, timeout=120, what="shipped, captured and pushed", layout=layout)
        elapsed = time.monotonic() - started
        time.sleep(3)  # a second capture or push, if one were coming, would land by now
        after = layout.action("report", world)
        beat_1 = (layout.var / "node-1" / "beat.log").read_text()

    assert sorted(after["captures"].values()) == [1] * WEB_ORDERS  # one capture per paid order
    assert sorted(map(str, after["captures"])) == sorted(map(str, placed))
    assert set(after["payments"].values()) == {"captured"}
    assert sorted(after["labels"].values()) == [1] * total  # one label per shipment...
    purchases = [t["metadata"] for t in shippo.transactions.values()]
    assert len(purchases) == total == len(set(purchases))  # ...bought once at the carrier
    assert [len(shop.fulfillments_of(order)) for order in shop_orders] == [1] * SHOP_ORDERS
    assert after["stock"][f"{SKU}@TX"] == {"on_hand": 0, "allocated": 0, "ledger": 0}
    assert after["stock"][f"{SKU}@NJ"] == {"on_hand": 0, "allocated": 0, "ledger": 0}
    assert "holding the schedule lock" in beat_1  # node 1's beat schedules (it did, or took over)
    figures(
        f"{broker}: 2 nodes up {up_seconds:.0f}s; {total} orders allocated {allocated_at:.0f}s; "
        f"node 2 killed holding {len(held)} label purchases, redelivered to node 1 {redelivered:.0f}s later; "
        f"every label bought {recovered:.0f}s after the kill (the dead worker's label lease runs out); "
        f"all shipped, captured, pushed {elapsed:.0f}s"
    )
