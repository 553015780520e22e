"""The production layout, up from the script: orders placed through gunicorn's API are allocated by
the queue workers, get labels from the (fake) carrier and ship; a second beat does not schedule;
`down` leaves nothing running."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests

from tests.deploy.conftest import (
    LAYOUT,
    ROOT,
    api,
    broker_url,
    order_body,
    running_layout,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_layout_places_allocates_and_ships_orders_and_runs_one_beat(
    tmp_path, layout_db, fakes, localstripe_url, figures
):
    shop, shippo = fakes
    with running_layout(tmp_path, layout_db, broker_url("redis", layout_db)) as layout:
        started = time.monotonic()
        layout.up(nodes=1)
        up_seconds = time.monotonic() - started
        started = time.monotonic()
        world = layout.action(
            "seed",
            {
                "shippo_url": shippo.url,
                "shop_url": shop.url,
                "stripe_url": localstripe_url,
                "stock": {"TRAIL-9": [5, 5]},
            },
        )
        key, web = world["api_key"], layout.url(1)
        health = requests.get(f"{web}/health", timeout=10).json()
        assert health["status"] == "ok", health
        assert {q for w in health["workers"]["alive"] for q in w["queues"]} == {
            "default", "ingest", "allocation", "labels", "sync", "notifications",
        }  # fmt: skip

        for n in range(3):
            placed = api(web, key, "POST", "orders/", order_body(f"SMOKE-{n}", "TRAIL-9"), idem=f"smoke-{n}")
            assert placed.status_code == 201, placed.text

        # The operator's view of the same node: liveness, and /metrics behind the layout's token
        # summing the node's gunicorn workers (each order counted once, whichever worker took it).
        assert requests.get(f"{web}/health/live", timeout=10).status_code == 200
        token = json.loads((layout.var / "secrets.json").read_text())["METRICS_TOKEN"]
        assert requests.get(f"{web}/metrics", timeout=10).status_code in (401, 403)
        scrape = requests.get(f"{web}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert scrape.status_code == 200, scrape.text
        placed = sum(
            float(line.rsplit(" ", 1)[1])
            for line in scrape.text.splitlines()
            if line.startswith("oms_orders_placed_total{")
        )
        assert placed == 3, scrape.text

        tenant = world["tenant_id"]
        released = lambda: layout.states(tenant)["orders"] == ["in_fulfillment"] * 3  # noqa: E731
        wait_until(released, timeout=90, what="three orders allocated and released", layout=layout)
        report = layout.action("report", world)
        assert report["allocated_units"] == 3 and report["over_allocated_lines"] == []
        layout.action("pack", world)
        for shipment_id in report["shipments"]:
            bought = api(
                web, key, "POST", f"shipments/{shipment_id}/label/", {}, idem=f"smoke-label-{shipment_id}"
            )
            assert bought.status_code in (200, 202), bought.text

        labelled = lambda: layout.states(tenant)["shipments"] == ["label_purchased"] * 3  # noqa: E731
        wait_until(labelled, timeout=90, what="labels bought", layout=layout)
        for shipment_id in report["shipments"]:
            shipped = api(web, key, "POST", f"shipments/{shipment_id}/ship/", {})
            assert shipped.status_code == 200, shipped.text

        captured = lambda: layout.states(tenant)["captures"] == ["succeeded"] * 3  # noqa: E731
        wait_until(captured, timeout=90, what="payments captured", layout=layout)
        elapsed = time.monotonic() - started
        report = layout.action("report", world)
        assert [o["state"] for o in report["orders"].values()] == ["shipped"] * 3
        assert set(report["captures"].values()) == {1}
        assert len(shippo.transactions) == 3  # one label bought per shipment, at the carrier
        assert report["stock"]["TRAIL-9@TX"]["on_hand"] == 2 == report["stock"]["TRAIL-9@TX"]["ledger"]

        # The web app and the workers went through PgBouncer, in transaction mode.
        pools = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(layout.pgbouncer_port), "-U", "postgres", "-At",
             "pgbouncer", "-c", "SHOW POOLS"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert layout_db.rpartition("/")[2] in pools.stdout and "|transaction" in pools.stdout, pools

        # A second beat waits for the first one's lock: it schedules nothing.
        second = tmp_path / "beat-2.log"
        with second.open("w") as out:
            beat = subprocess.Popen(
                [*LAYOUT, "run", "--var", str(layout.var), "--", sys.executable, "-m", "celery", "-A", "oms",
                 "beat", "--loglevel", "INFO", "--schedule", str(tmp_path / "beat-2"), "--max-interval", "1"],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            wait_until(
                lambda: "waiting to take over" in second.read_text(), timeout=60, what="second beat waits"
            )
            first = layout.var / "node-1" / "beat.log"
            sent_before = first.read_text().count("Sending due task")
            time.sleep(8)  # the relay is due every 2 s: the first beat sends it ~4 times meanwhile
            assert first.read_text().count("Sending due task") > sent_before
            assert "Sending due task" not in second.read_text()
        finally:
            beat.terminate()
            beat.wait(timeout=30)

        layout.down()
        state = layout.state()
        groups = [state["pgbouncer_pid"]] + [n["pid"] for n in state["nodes"].values()]
        leftover = subprocess.run(["ps", "-o", "pid=,stat=,args=", "-g", ",".join(map(str, groups))],
                                  capture_output=True, text=True)  # fmt: skip
        running = [line for line in leftover.stdout.splitlines() if line.split()[1][0] != "Z"]
        assert running == []  # (a zombie only waits for init to reap it)
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{web}/health", timeout=5)
    figures(f"layout up {up_seconds:.1f}s; seed + 3 orders placed to shipped and captured {elapsed:.1f}s")
