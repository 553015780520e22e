"""The fake Shippo's own controls, its webhook emitter, and the demo account that points at it."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from fulfillment.carriers import CarrierUnavailable, ParcelSpec, PostalAddress
from integrations import demo
from integrations.models import ChannelAccount, ChannelKind
from integrations.shippo.fake_server import label_pdf
from integrations.shippo.gateway import ShippoGateway
from tests.fulfillment.conftest import make_shippo_account, shippo, shippo_server  # noqa: F401

HOME = PostalAddress(
    name="A", line1="1 Main St", city="Austin", region="TX", postal_code="78701", country="US"
)
WAREHOUSE = PostalAddress(
    name="W", line1="9 Dock Rd", city="Dallas", region="TX", postal_code="75201", country="US"
)


@pytest.fixture
def receiver():
    """A local HTTP endpoint that keeps what is POSTed to it."""
    received: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def _gateway(tenant, fake):
    account = ChannelAccount.objects.for_tenant(tenant).filter(kind=ChannelKind.SHIPPO).first()
    return ShippoGateway(account or make_shippo_account(tenant, fake.url))


def _bought(tenant, fake):
    gateway = _gateway(tenant, fake)
    rates = gateway.rates(
        ship_from=WAREHOUSE, ship_to=HOME, parcels=[ParcelSpec(500, 100, 100, 100)], reference="r"
    )
    return gateway.buy_label(rate_id=rates[0].rate_id, reference="acme:shp9:L1")


def test_advance_posts_a_signed_track_updated_webhook(tenant_a, shippo, receiver):  # noqa: F811
    url, received = receiver
    shippo.add_webhook(url, secret="whsec_shippo")
    label = _bought(tenant_a, shippo)

    answer = requests.post(
        f"{shippo.url}/_control/advance",
        json={"tracking_number": label.tracking_number, "status": "TRANSIT", "city": "Waco"},
        timeout=10,
    )

    assert answer.status_code == 200
    ((headers, body),) = received
    payload = json.loads(body)
    assert payload["event"] == "track_updated"
    assert payload["data"]["tracking_number"] == label.tracking_number
    assert payload["data"]["metadata"] == "acme:shp9:L1"
    assert payload["data"]["tracking_status"]["status"] == "TRANSIT"
    assert payload["data"]["tracking_status"]["location"]["city"] == "Waco"
    assert [h["status"] for h in payload["data"]["tracking_history"]] == ["PRE_TRANSIT", "TRANSIT"]
    ts, v1 = (part.split("=", 1)[1] for part in headers["Shippo-Auth-Signature"].split(","))
    expected = hmac.new(b"whsec_shippo", f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert v1 == expected
    assert shippo.state()["deliveries"] == [{"url": url, "status": 200, "error": ""}]


def test_a_bare_advance_moves_the_parcel_one_step_and_later_than_before(tenant_a, shippo):  # noqa: F811
    label = _bought(tenant_a, shippo)
    first = shippo.advance(label.tracking_number, emit=False)["data"]["tracking_status"]
    second = shippo.advance(label.tracking_number, emit=False)["data"]["tracking_status"]
    assert (first["status"], second["status"]) == ("TRANSIT", "DELIVERED")
    assert second["status_date"] > first["status_date"]
    assert shippo.transactions[next(iter(shippo.transactions))]["tracking_status"] == "DELIVERED"


def test_faults_and_state_over_http(tenant_a, shippo):  # noqa: F811
    requests.post(f"{shippo.url}/_control/faults", json={"fail": 1, "status": 503}, timeout=10)
    gateway = _gateway(tenant_a, shippo)
    with pytest.raises(CarrierUnavailable, match="503"):
        gateway.validate_address(address=HOME)
    assert gateway.validate_address(address=HOME).valid
    _bought(tenant_a, shippo)
    state = requests.get(f"{shippo.url}/_control/state", timeout=10).json()
    assert state["purchases"] == 1 and state["faults"] == []
    assert (
        requests.post(
            f"{shippo.url}/_control/advance", json={"tracking_number": "nope"}, timeout=10
        ).status_code
        == 404
    )


def test_the_api_wants_a_shippo_token(shippo):  # noqa: F811
    assert requests.post(f"{shippo.url}/shipments", json={}, timeout=10).status_code == 401
    answer = requests.post(
        f"{shippo.url}/shipments", json={}, headers={"Authorization": "ShippoToken shippo_test_x"}, timeout=10
    )
    assert answer.status_code == 400
    assert answer.json() == {"address_from": ["This field is required."]}


def test_the_label_file_and_tracking_page_are_served(tenant_a, shippo):  # noqa: F811
    label = _bought(tenant_a, shippo)
    pdf = requests.get(label.label_url, timeout=10)
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content.endswith(b"%%EOF\n")
    page = requests.get(label.tracking_url, timeout=10)
    assert label.tracking_number in page.text and "PRE_TRANSIT" in page.text


def test_the_pdf_cross_reference_points_at_its_objects():
    pdf = label_pdf(["Tracking: 9400 (test)"])
    xref_at = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[xref_at:].startswith(b"xref\n0 6\n")
    offsets = [int(line[:10]) for line in pdf[xref_at:].split(b"\n")[3:8]]
    assert [pdf[o : o + 8] for o in offsets] == [f"{n} 0 obj\n".encode()[:8] for n in range(1, 6)]
    assert b"(Tracking: 9400 \\(test\\)) Tj" in pdf


def test_the_demo_tenant_gets_a_shippo_account_at_the_local_fake(tenant_a, settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("OMS_SHIPPO_PORT", "8099")

    demo.seed(tenant_a, io.StringIO())
    demo.seed(tenant_a, io.StringIO())

    account = ChannelAccount.objects.for_tenant(tenant_a).get(kind=ChannelKind.SHIPPO)
    assert account.base_url == "http://127.0.0.1:8099"
    assert account.credentials.startswith("shippo_test_")
    written = tmp_path / demo.SHIPPO_WEBHOOK_PATH_FILE
    assert written.read_text().strip() == account.webhook_path
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
