"""A local fake of the Shippo API: what the tests and `make run`'s demo talk to instead of Shippo.

It speaks the documented API as the real `shippo==3.9.0` SDK needs it (../shared/integrations.md
section 2): 201 on creates, 200 on reads and on POST /tracks, the fields the SDK's dataclasses
require, `created_by: null` on transactions. It keeps state: addresses (validated: no street,
city or postal code, or the postal code 00000, is invalid), shipments with six rates from three
carriers (each rate-shopping policy picks a different one), transactions (label purchases; the
`metadata` we send is our reference, and `GET /transactions?rate=` lists them so a purchase is
found again by it), refunds (voids), tracks, webhooks, and the label files themselves (a small
real PDF, or PNG, served from here: `label_url` points at this server).

Tests start it in a thread on a free port::

    fake = FakeShippo().start()          # fake.url -> "http://127.0.0.1:PORT"
    fake.fail_next(2, status=503)        # the next two API requests answer 503
    fake.drop_next(1, method="POST", path="/transactions", after=True)  # buy, then hang up
    fake.purchases                       # labels bought so far
    fake.advance("9400...", "TRANSIT")   # move a parcel; POSTs track_updated to the webhooks
    fake.stop()

`make run` starts it as a process (scripts/run_dev.sh)::

    python -m integrations.shippo.fake_server --port 8025 --webhook-url URL --auto-advance 20

and the same controls answer over HTTP, without authentication, under /_control/:
GET state, POST reset, POST faults {fail, status, drop, after, delay, method, path},
POST advance {tracking_number, status, status_details, city, state, zip, country},
POST webhooks {url, secret}. A page per parcel, GET /track/{carrier}/{number}, stands in for
the carrier's tracking site (`tracking_url_provider`).

Stdlib only: no Django, no SDK, so it runs anywhere the project's Python does.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from integrations.fakes.base import base_arguments, serve_forever
from integrations.signing import hmac_sha256_hex

OWNER = "demo@shippo.fake"
GRAMS_PER_LB = Decimal("453.59237")
MM_PER_IN = Decimal("25.4")


@dataclass(frozen=True)
class Service:
    provider: str
    token: str
    name: str
    base: Decimal
    per_lb: Decimal
    days: int
    account: str


# Six service levels of three carriers. With any weight: Ground Advantage is the cheapest, the two
# one-day services the fastest (Priority Mail Express the cheaper of them), and each delivery
# window (5, 4, 3, 2, 1 days) has a different cheapest rate.
SERVICES = [
    Service(
        "USPS", "usps_ground_advantage", "Ground Advantage", Decimal("5.50"), Decimal("0.50"), 5, "ca_usps"
    ),
    Service("USPS", "usps_priority", "Priority Mail", Decimal("8.90"), Decimal("0.80"), 3, "ca_usps"),
    Service("UPS", "ups_ground", "Ground", Decimal("9.75"), Decimal("0.85"), 4, "ca_ups"),
    Service("UPS", "ups_second_day_air", "2nd Day Air", Decimal("18.40"), Decimal("1.50"), 2, "ca_ups"),
    Service(
        "USPS",
        "usps_priority_express",
        "Priority Mail Express",
        Decimal("27.50"),
        Decimal("2.00"),
        1,
        "ca_usps",
    ),
    Service(
        "FedEx",
        "fedex_standard_overnight",
        "Standard Overnight",
        Decimal("34.20"),
        Decimal("2.40"),
        1,
        "ca_fedex",
    ),
]

# What auto-advance (and a bare `advance`) does next to a parcel.
NEXT_STATUS = {
    "UNKNOWN": ("PRE_TRANSIT", "The shipping label has been created; the carrier awaits the item."),
    "PRE_TRANSIT": ("TRANSIT", "Your shipment has been accepted at the origin facility."),
    "TRANSIT": ("DELIVERED", "Your shipment has been delivered."),
}
FINAL = {"DELIVERED", "RETURNED", "FAILURE"}
DETAILS = {
    "UNKNOWN": "The carrier has not yet reported this tracking number.",
    "PRE_TRANSIT": "The shipping label has been created; the carrier awaits the item.",
    "TRANSIT": "Your shipment is on its way.",
    "DELIVERED": "Your shipment has been delivered.",
    "RETURNED": "Your shipment is being returned to the sender.",
    "FAILURE": "The carrier could not deliver your shipment.",
}


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _pounds(parcel: dict[str, Any]) -> Decimal:
    weight = Decimal(str(parcel.get("weight") or "0"))
    unit = str(parcel.get("mass_unit") or "lb").lower()
    factor = {"lb": Decimal(1), "oz": Decimal(1) / 16, "g": 1 / GRAMS_PER_LB, "kg": 1000 / GRAMS_PER_LB}
    return weight * factor.get(unit, Decimal(1))


# --- a label file: a small, real PDF (or PNG) --------------------------------------------------------
def label_pdf(lines: list[str]) -> bytes:
    """A one-page 4x6 in PDF that prints `lines` (ASCII), with a correct cross-reference table."""
    safe = [
        re.sub(r"[^\x20-\x7e]", "?", s).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        for s in lines
    ]
    text = ["BT", "/F1 14 Tf", "24 400 Td", "18 TL"]
    for i, s in enumerate(safe):
        text.append(f"({s}) Tj" if i == 0 else f"T* ({s}) Tj")
    text.append("ET")
    stream = "\n".join(text).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def label_png(seed: str) -> bytes:
    """A 200x300 grey-scale PNG with a barcode-like stripe pattern derived from `seed`."""
    width, height = 200, 300
    digest = hashlib.sha256(seed.encode()).digest()
    stripes = bytes(0 if digest[(x // 4) % len(digest)] & (1 << (x % 8)) else 255 for x in range(width))
    blank = bytes([255]) * width
    raw = b"".join(b"\x00" + (stripes if 40 <= y < 140 else blank) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# --- faults ---------------------------------------------------------------------------------------
@dataclass
class Fault:
    kind: str  # "fail" (answer `status`), "drop" (close the connection unanswered), "delay"
    remaining: int
    status: int = 503
    seconds: float = 0.0
    after: bool = False  # drop: handle the request first (the outcome happened, the caller never hears)
    method: str = ""
    path: str = ""

    def matches(self, method: str, path: str) -> bool:
        return (not self.method or self.method == method) and (not self.path or path.startswith(self.path))


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


@dataclass
class Hook:
    url: str
    secret: str = ""
    object_id: str = ""
    event: str = "track_updated"


@dataclass
class Delivery:
    url: str
    status: int | None
    error: str = ""
    body: dict[str, Any] = field(default_factory=dict)


class FakeShippo:
    """The fake's state and its HTTP server. Thread-safe: one lock around the state."""

    title = "Fake Shippo"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        webhook_urls: list[str] | tuple[str, ...] = (),
        webhook_secret: str = "",
        auto_advance: float | None = None,
    ) -> None:
        self.api_key = api_key  # None: any "ShippoToken shippo_..." key is accepted
        self.auto_advance = auto_advance
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._advancer: threading.Thread | None = None
        self._stopping = threading.Event()
        self._port = 0
        self.reset()
        for url in webhook_urls:
            self.add_webhook(url, secret=webhook_secret)

    # --- lifecycle ------------------------------------------------------------------------------
    def reset(self) -> None:
        with getattr(self, "lock", threading.RLock()):
            self.addresses: dict[str, dict[str, Any]] = {}
            self.shipments: dict[str, dict[str, Any]] = {}
            self.rates: dict[str, dict[str, Any]] = {}
            self.transactions: dict[str, dict[str, Any]] = {}
            self.refunds: dict[str, dict[str, Any]] = {}
            self.tracks: dict[tuple[str, str], dict[str, Any]] = {}
            self.hooks: list[Hook] = []
            self.deliveries: list[Delivery] = []
            self.requests: list[dict[str, Any]] = []
            self.faults: list[Fault] = []
            self.purchases = 0

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("the fake Shippo server is not running")
        return f"http://127.0.0.1:{self._port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeShippo:
        """Listen (port 0: a free one; or the port it had before a `stop`) and serve in a thread."""
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        server = ThreadingHTTPServer((host, port or self._port), Handler)
        server.daemon_threads = True
        self._server = server
        self._port = server.server_address[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=server.serve_forever, name="fake-shippo", daemon=True)
        self._thread.start()
        if self.auto_advance and self._advancer is None:
            self._advancer = threading.Thread(
                target=self._advance_loop, name="fake-shippo-advance", daemon=True
            )
            self._advancer.start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until `start()` again (same port, same state)."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._advancer is not None:
            self._advancer.join(5)
            self._advancer = None

    def __enter__(self) -> FakeShippo:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- fault injection --------------------------------------------------------------------------
    def fail_next(self, n: int = 1, *, status: int = 503, method: str = "", path: str = "") -> None:
        """The next `n` API requests (matching method/path prefix, if given) answer `status`."""
        with self.lock:
            self.faults.append(Fault("fail", n, status=status, method=method.upper(), path=path))

    def drop_next(self, n: int = 1, *, after: bool = False, method: str = "", path: str = "") -> None:
        """The next `n` requests get their connection closed without an answer. With `after`, the
        request is carried out first (a label is bought) and only the answer is lost."""
        with self.lock:
            self.faults.append(Fault("drop", n, after=after, method=method.upper(), path=path))

    def delay_next(self, n: int = 1, *, seconds: float, method: str = "", path: str = "") -> None:
        with self.lock:
            self.faults.append(Fault("delay", n, seconds=seconds, method=method.upper(), path=path))

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    self.faults = [f for f in self.faults if f.remaining > 0]
                    return fault
        return None

    # --- webhooks -------------------------------------------------------------------------------------
    def add_webhook(self, url: str, *, secret: str = "", event: str = "track_updated") -> Hook:
        with self.lock:
            hook = Hook(url=url, secret=secret, object_id=self._id("wh"), event=event)
            self.hooks.append(hook)
            return hook

    def webhook_payload(self, carrier: str, tracking_number: str) -> dict[str, Any]:
        """The `track_updated` body Shippo would POST for this parcel now."""
        with self.lock:
            track = self.tracks[(carrier.lower(), tracking_number)]
            return {"event": "track_updated", "test": True, "data": json.loads(json.dumps(track))}

    @staticmethod
    def sign(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
        """`Shippo-Auth-Signature: t=<ts>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>` (integrations.md)."""
        ts = int(time.time()) if timestamp is None else timestamp
        return f"t={ts},v1={hmac_sha256_hex(secret, f'{ts}.'.encode() + body)}"

    def emit(self, payload: dict[str, Any]) -> list[Delivery]:
        """POST `payload` to every registered webhook (outside the lock); what each answered."""
        with self.lock:
            hooks = [h for h in self.hooks if h.event in (payload.get("event"), "all")]
        body = json.dumps(payload).encode()
        results = []
        for hook in hooks:
            headers = {"Content-Type": "application/json", "User-Agent": "Shippo-Webhook/fake"}
            if hook.secret:
                headers["Shippo-Auth-Signature"] = self.sign(body, hook.secret)
            request = urllib.request.Request(hook.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    delivery = Delivery(hook.url, response.status, body=payload)
            except urllib.error.HTTPError as exc:
                delivery = Delivery(hook.url, exc.code, error=str(exc), body=payload)
            except (OSError, ValueError) as exc:
                delivery = Delivery(hook.url, None, error=str(exc), body=payload)
            results.append(delivery)
        with self.lock:
            self.deliveries.extend(results)
        return results

    # --- tracking ------------------------------------------------------------------------------------
    def advance(
        self,
        tracking_number: str,
        status: str | None = None,
        *,
        carrier: str | None = None,
        status_details: str = "",
        location: dict[str, str] | None = None,
        emit: bool = True,
    ) -> dict[str, Any]:
        """Give a parcel a new tracking status (default: the next one) and, with `emit`, POST the
        `track_updated` webhook. Returns the webhook payload."""
        with self.lock:
            key = self._track_key(tracking_number, carrier)
            track = self.tracks[key]
            current = track["tracking_status"]["status"]
            if status is None:
                status, default_details = NEXT_STATUS.get(current, (current, DETAILS.get(current, "")))
            else:
                status = status.upper()
                default_details = DETAILS.get(status, status)
            self._track_status(track, status, status_details or default_details, location)
            payload = {"event": "track_updated", "test": True, "data": json.loads(json.dumps(track))}
        if emit:
            self.emit(payload)
        return payload

    def _track_key(self, tracking_number: str, carrier: str | None) -> tuple[str, str]:
        if carrier:
            return (carrier.lower(), tracking_number)
        for key in self.tracks:
            if key[1] == tracking_number:
                return key
        raise KeyError(tracking_number)

    def _track_status(
        self, track: dict[str, Any], status: str, details: str, location: dict[str, str] | None
    ) -> None:
        moment = _now()
        last = track["tracking_status"]
        if last is not None and last.get("status_date"):
            # Strictly later than the last status, even within one millisecond.
            previous = datetime.fromisoformat(last["status_date"].replace("Z", "+00:00"))
            moment = max(moment, previous + timedelta(seconds=1))
        where = location or (track["address_to"] if status == "DELIVERED" else track["address_from"]) or {}
        entry = {
            "object_id": self._id("ts"),
            "object_created": _iso(moment),
            "object_updated": _iso(moment),
            "status": status,
            "status_details": details,
            "status_date": _iso(moment),
            "substatus": None,
            "location": {k: where.get(k, "") for k in ("city", "state", "zip", "country")},
        }
        track["tracking_status"] = entry
        track["tracking_history"].append(entry)
        transaction = self.transactions.get(track.get("transaction") or "")
        if transaction is not None:
            transaction["tracking_status"] = status

    def _advance_loop(self) -> None:
        """`make run`: every `auto_advance` seconds, each parcel of a bought label moves one step on."""
        assert self.auto_advance
        while not self._stopping.wait(self.auto_advance):
            with self.lock:
                moving = [
                    (carrier, number)
                    for (carrier, number), track in self.tracks.items()
                    if track.get("transaction")
                    and track["tracking_status"]["status"] not in FINAL
                    and self.transactions[track["transaction"]]["status"] == "SUCCESS"
                ]
            for carrier, number in moving:
                try:
                    self.advance(number, carrier=carrier)
                except KeyError:
                    continue

    # --- objects ----------------------------------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        return f"{prefix}_{uuid.uuid4().hex}"

    def _address(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            try:
                return self.addresses[data]
            except KeyError:
                raise ApiError(400, {"address": [f"Address {data} not found."]}) from None
        if not isinstance(data, dict) or not data.get("country"):
            raise ApiError(400, {"country": ["This field is required."]})
        now = _iso(_now())
        address = {
            "object_id": self._id("adr"),
            "object_created": now,
            "object_updated": now,
            "object_owner": OWNER,
            "is_complete": True,
            "is_residential": None,
            "test": True,
            "metadata": "",
            **{
                k: data.get(k, "") or ""
                for k in (
                    "name",
                    "company",
                    "street1",
                    "street2",
                    "street3",
                    "street_no",
                    "city",
                    "state",
                    "zip",
                    "phone",
                    "email",
                )
            },
            "country": str(data["country"]).upper(),
        }
        problems = self._address_problems(address)
        address["is_complete"] = not problems
        address["validation_results"] = (
            {"is_valid": not problems, "messages": problems} if data.get("validate") else {}
        )
        self.addresses[address["object_id"]] = address
        return address

    @staticmethod
    def _address_problems(address: dict[str, Any]) -> list[dict[str, str]]:
        problems = []

        def problem(code: str, text: str) -> None:
            problems.append(
                {"source": "Shippo Address Validator", "code": code, "text": text, "type": "address_error"}
            )

        if not address.get("street1"):
            problem("street_missing", "The street address is missing.")
        if not address.get("city"):
            problem("city_missing", "The city is missing.")
        postal = str(address.get("zip") or "")
        if not postal:
            problem("postal_code_missing", "The postal code is missing.")
        elif set(postal.replace("-", "")) == {"0"}:
            problem("postal_code_invalid", f"The postal code {postal} does not exist.")
        return problems

    def _parcel(self, data: Any) -> dict[str, Any]:
        required = ("length", "width", "height", "distance_unit", "weight", "mass_unit")
        if not isinstance(data, dict):
            raise ApiError(400, {"parcels": ["Send each parcel as an object."]})
        missing = [k for k in required if data.get(k) in (None, "")]
        if missing:
            raise ApiError(400, {k: ["This field is required."] for k in missing})
        try:
            if Decimal(str(data["weight"])) <= 0:
                raise ApiError(400, {"weight": ["Ensure this value is greater than 0."]})
        except ArithmeticError:
            raise ApiError(400, {"weight": ["A valid number is required."]}) from None
        now = _iso(_now())
        parcel = {
            "object_id": self._id("prc"),
            "object_state": "VALID",
            "object_created": now,
            "object_updated": now,
            "object_owner": OWNER,
            "template": None,
            "extra": {},
            "metadata": "",
            "test": True,
            **{k: str(data[k]) for k in required},
        }
        return parcel

    def _shipment(self, body: dict[str, Any]) -> dict[str, Any]:
        for key in ("address_from", "address_to", "parcels"):
            if not body.get(key):
                raise ApiError(400, {key: ["This field is required."]})
        address_from = self._address(body["address_from"])
        address_to = self._address(body["address_to"])
        parcels = [self._parcel(p) for p in body["parcels"]]
        extra = body.get("extra") or {}
        now = _iso(_now())
        shipment_id = self._id("shp")
        problems = [{**p, "text": f"Recipient: {p['text']}"} for p in self._address_problems(address_to)] + [
            {**p, "text": f"Sender: {p['text']}"} for p in self._address_problems(address_from)
        ]
        rates = []
        if not problems:
            pounds = sum((_pounds(p) for p in parcels), Decimal(0))
            pounds = max(pounds, Decimal("0.1"))
            for service in SERVICES:
                amount = _money(service.base + service.per_lb * pounds)
                rate = {
                    "object_id": self._id("rate"),
                    "object_created": now,
                    "object_owner": OWNER,
                    "shipment": shipment_id,
                    "attributes": [],
                    "amount": amount,
                    "currency": "USD",
                    "amount_local": amount,
                    "currency_local": "USD",
                    "provider": service.provider,
                    "provider_image_75": "",
                    "provider_image_200": "",
                    "servicelevel": {"name": service.name, "token": service.token, "terms": ""},
                    "estimated_days": service.days,
                    "arrives_by": None,
                    "duration_terms": f"Delivery in {service.days} business day(s).",
                    "messages": [],
                    "carrier_account": service.account,
                    "test": True,
                    "zone": "4",
                }
                rates.append(rate)
            cheapest = min(rates, key=lambda r: Decimal(r["amount"]))
            fastest = min(rates, key=lambda r: (r["estimated_days"], Decimal(r["amount"])))
            cheapest["attributes"].append("CHEAPEST")
            fastest["attributes"].append("FASTEST")
            for rate in rates:
                self.rates[rate["object_id"]] = rate
        shipment = {
            "object_id": shipment_id,
            "object_created": now,
            "object_updated": now,
            "object_owner": OWNER,
            "status": "ERROR" if problems else "SUCCESS",
            "metadata": str(body.get("metadata") or ""),
            "address_from": address_from,
            "address_to": address_to,
            "address_return": address_from,
            "parcels": parcels,
            "rates": rates,
            "carrier_accounts": [],
            "messages": problems,
            "extra": extra,
            "shipment_date": body.get("shipment_date") or now,
            "customs_declaration": None,
            "test": True,
        }
        self.shipments[shipment_id] = shipment
        return shipment

    @staticmethod
    def _tracking_number(provider: str) -> str:
        """Random, so a restarted fake never hands out a number it gave before."""
        if provider == "UPS":
            return f"1Z999AA1{secrets.randbelow(10**10):010d}"
        if provider == "FedEx":
            return f"7{secrets.randbelow(10**11):011d}"
        return f"9400{secrets.randbelow(10**18):018d}"

    def _transaction(self, body: dict[str, Any]) -> dict[str, Any]:
        rate_id = body.get("rate")
        if not rate_id:
            raise ApiError(400, {"rate": ["This field is required."]})
        rate = self.rates.get(str(rate_id))
        if rate is None:
            raise ApiError(400, {"rate": [f"Rate {rate_id} not found."]})
        shipment = self.shipments[rate["shipment"]]
        file_type = str(body.get("label_file_type") or "PDF_4x6")
        now = _iso(_now())
        transaction_id = self._id("txn")
        number = self._tracking_number(rate["provider"])
        carrier = rate["provider"].lower()
        suffix = "png" if file_type.startswith("PNG") else "pdf"
        transaction = {
            "object_id": transaction_id,
            "object_state": "VALID",
            "object_created": now,
            "object_updated": now,
            "object_owner": OWNER,
            "created_by": None,
            "test": True,
            "status": "SUCCESS",
            "rate": rate["object_id"],
            "tracking_number": number,
            "tracking_status": "PRE_TRANSIT",
            "tracking_url_provider": f"{self.url}/track/{carrier}/{number}",
            "eta": None,
            "label_url": f"{self.url}/labels/{transaction_id}.{suffix}",
            "label_file_type": file_type,
            "commercial_invoice_url": None,
            "qr_code_url": None,
            "messages": [],
            "metadata": str(body.get("metadata") or ""),
            "parcel": shipment["parcels"][0]["object_id"],
        }
        self.transactions[transaction_id] = transaction
        self.purchases += 1
        track = {
            "carrier": carrier,
            "tracking_number": number,
            "transaction": transaction_id,
            "metadata": transaction["metadata"],
            "eta": None,
            "original_eta": None,
            "servicelevel": rate["servicelevel"],
            "address_from": {
                k: shipment["address_from"].get(k, "") for k in ("city", "state", "zip", "country")
            },
            "address_to": {k: shipment["address_to"].get(k, "") for k in ("city", "state", "zip", "country")},
            "tracking_status": None,
            "tracking_history": [],
            "messages": [],
        }
        self._track_status(track, "PRE_TRANSIT", DETAILS["PRE_TRANSIT"], None)
        self.tracks[(carrier, number)] = track
        return transaction

    def _refund(self, body: dict[str, Any]) -> dict[str, Any]:
        transaction = self.transactions.get(str(body.get("transaction") or ""))
        if transaction is None:
            raise ApiError(400, {"transaction": ["Transaction not found."]})
        if transaction["status"] in ("REFUNDED", "REFUNDPENDING"):
            raise ApiError(400, {"transaction": ["A refund for this label has already been requested."]})
        if transaction["status"] != "SUCCESS":
            raise ApiError(400, {"transaction": ["Only a purchased label can be refunded."]})
        track = self.tracks.get(
            (self.rates[transaction["rate"]]["provider"].lower(), transaction["tracking_number"])
        )
        if track is not None and track["tracking_status"]["status"] not in ("PRE_TRANSIT", "UNKNOWN"):
            raise ApiError(
                400, {"transaction": ["This label has been scanned by the carrier and cannot be refunded."]}
            )
        now = _iso(_now())
        refund = {
            "object_id": self._id("ref"),
            "object_created": now,
            "object_updated": now,
            "object_owner": OWNER,
            "status": "SUCCESS",
            "transaction": transaction["object_id"],
            "test": True,
        }
        transaction["status"] = "REFUNDED"
        transaction["object_updated"] = now
        self.refunds[refund["object_id"]] = refund
        return refund

    def _track(self, carrier: str, number: str, metadata: str | None = None) -> dict[str, Any]:
        key = (carrier.lower(), number)
        track = self.tracks.get(key)
        if track is None:
            track = {
                "carrier": carrier.lower(),
                "tracking_number": number,
                "transaction": None,
                "metadata": metadata or "",
                "eta": None,
                "original_eta": None,
                "servicelevel": None,
                "address_from": None,
                "address_to": None,
                "tracking_status": None,
                "tracking_history": [],
                "messages": [],
            }
            # Shippo's test numbers (carrier "shippo"): SHIPPO_TRANSIT, SHIPPO_DELIVERED, ...
            status = number.removeprefix("SHIPPO_") if carrier.lower() == "shippo" else "UNKNOWN"
            status = status if status in DETAILS else "UNKNOWN"
            self._track_status(track, status, DETAILS[status], None)
            self.tracks[key] = track
        elif metadata is not None:
            track["metadata"] = metadata
        return track

    # --- the API: (method, path) -> (status, body) ---------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        with self.lock:
            if method == "POST" and path == "/addresses":
                return 201, self._address(body or {})
            if m := re.fullmatch(r"/addresses/([\w-]+)(/validate)?", path):
                address = self.addresses.get(m.group(1))
                if address is None or method != "GET":
                    raise ApiError(404, {"detail": "Not found."})
                if m.group(2):
                    problems = self._address_problems(address)
                    address["validation_results"] = {"is_valid": not problems, "messages": problems}
                return 200, address
            if method == "POST" and path == "/shipments":
                return 201, self._shipment(body or {})
            if method == "GET" and (m := re.fullmatch(r"/shipments/([\w-]+)(/rates)?", path)):
                shipment = self.shipments.get(m.group(1))
                if shipment is None:
                    raise ApiError(404, {"detail": "Not found."})
                if m.group(2):
                    return 200, {
                        "count": len(shipment["rates"]),
                        "next": None,
                        "previous": None,
                        "results": shipment["rates"],
                    }
                return 200, shipment
            if method == "GET" and (m := re.fullmatch(r"/rates/([\w-]+)", path)):
                if m.group(1) not in self.rates:
                    raise ApiError(404, {"detail": "Not found."})
                return 200, self.rates[m.group(1)]
            if method == "POST" and path == "/transactions":
                return 201, self._transaction(body or {})
            if method == "GET" and path == "/transactions":
                found = list(self.transactions.values())
                if rate := (query.get("rate") or [""])[0]:
                    found = [t for t in found if t["rate"] == rate]
                if status := (query.get("object_status") or [""])[0]:
                    found = [t for t in found if t["status"] == status]
                size = int((query.get("results") or ["25"])[0])
                page = int((query.get("page") or ["1"])[0])
                chunk = found[(page - 1) * size : page * size]
                more = len(found) > page * size
                return 200, {
                    "next": f"{self.url}/transactions?page={page + 1}&results={size}" if more else None,
                    "previous": None,
                    "results": chunk,
                }
            if method == "GET" and (m := re.fullmatch(r"/transactions/([\w-]+)", path)):
                if m.group(1) not in self.transactions:
                    raise ApiError(404, {"detail": "Not found."})
                return 200, self.transactions[m.group(1)]
            if method == "POST" and path == "/refunds":
                return 201, self._refund(body or {})
            if method == "GET" and path == "/refunds":
                return 200, {"next": None, "previous": None, "results": list(self.refunds.values())}
            if method == "GET" and (m := re.fullmatch(r"/refunds/([\w-]+)", path)):
                if m.group(1) not in self.refunds:
                    raise ApiError(404, {"detail": "Not found."})
                return 200, self.refunds[m.group(1)]
            if method == "POST" and path == "/tracks":
                body = body or {}
                if not body.get("carrier") or not body.get("tracking_number"):
                    raise ApiError(400, {"tracking_number": ["carrier and tracking_number are required."]})
                return 200, self._track(body["carrier"], body["tracking_number"], body.get("metadata"))
            if method == "GET" and (m := re.fullmatch(r"/tracks/([\w-]+)/([\w-]+)", path)):
                return 200, self._track(m.group(1), m.group(2))
            if method == "POST" and path == "/webhooks":
                body = body or {}
                if not body.get("url") or not body.get("event"):
                    raise ApiError(400, {"url": ["url and event are required."]})
                hook = self.add_webhook(body["url"], event=body["event"])
                return 201, self._webhook_json(hook)
            if method == "GET" and path == "/webhooks":
                return 200, {
                    "next": None,
                    "previous": None,
                    "results": [self._webhook_json(h) for h in self.hooks],
                }
        raise ApiError(404, {"detail": "Not found."})

    @staticmethod
    def _webhook_json(hook: Hook) -> dict[str, Any]:
        return {
            "object_id": hook.object_id,
            "event": hook.event,
            "url": hook.url,
            "active": True,
            "is_test": True,
        }

    def label_file(self, name: str) -> tuple[str, bytes] | None:
        transaction_id, _, suffix = name.rpartition(".")
        with self.lock:
            transaction = self.transactions.get(transaction_id)
            if transaction is None:
                return None
            rate = self.rates[transaction["rate"]]
            lines = [
                "FAKE SHIPPO TEST LABEL - NOT FOR MAILING",
                f"{rate['provider']} {rate['servicelevel']['name']}",
                f"Tracking: {transaction['tracking_number']}",
                f"Reference: {transaction['metadata']}",
                f"Status: {transaction['status']}",
            ]
        if suffix == "png":
            return "image/png", label_png(transaction_id)
        return "application/pdf", label_pdf(lines)

    def tracking_page(self, carrier: str, number: str) -> str | None:
        with self.lock:
            track = self.tracks.get((carrier.lower(), number))
            if track is None:
                return None
            rows = "".join(
                f"<tr><td>{html.escape(e['status_date'])}</td><td>{html.escape(e['status'])}</td>"
                f"<td>{html.escape(e['status_details'])}</td>"
                f"<td>{html.escape((e.get('location') or {}).get('city') or '')}</td></tr>"
                for e in reversed(track["tracking_history"])
            )
        return (
            "<!doctype html><meta charset=utf-8><title>Tracking</title>"
            f"<h1>{html.escape(carrier.upper())} {html.escape(number)}</h1>"
            "<p>Fake Shippo tracking page (local demo).</p>"
            "<table border=1><tr><th>When</th><th>Status</th><th>Details</th><th>Where</th></tr>"
            f"{rows}</table>"
        )

    # --- the control API ---------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "purchases": self.purchases,
                "transactions": len(self.transactions),
                "refunds": len(self.refunds),
                "shipments": len(self.shipments),
                "tracks": len(self.tracks),
                "requests": len(self.requests),
                "webhooks": [h.url for h in self.hooks],
                "deliveries": [{"url": d.url, "status": d.status, "error": d.error} for d in self.deliveries],
                "faults": [f.__dict__ for f in self.faults],
            }

    def control(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if method == "GET" and path == "/_control/state":
            return 200, self.state()
        if method == "POST" and path == "/_control/reset":
            hooks = list(self.hooks)
            self.reset()
            if not body.get("webhooks"):
                self.hooks = hooks
            return 200, self.state()
        if method == "POST" and path == "/_control/faults":
            target = {"method": str(body.get("method") or ""), "path": str(body.get("path") or "")}
            if body.get("clear"):
                self.clear_faults()
            if body.get("fail"):
                self.fail_next(int(body["fail"]), status=int(body.get("status") or 503), **target)
            if body.get("drop"):
                self.drop_next(int(body["drop"]), after=bool(body.get("after")), **target)
            if body.get("delay"):
                self.delay_next(int(body.get("count") or 1), seconds=float(body["delay"]), **target)
            return 200, self.state()
        if method == "POST" and path == "/_control/advance":
            location = {k: str(body[k]) for k in ("city", "state", "zip", "country") if body.get(k)}
            try:
                payload = self.advance(
                    str(body.get("tracking_number") or ""),
                    body.get("status") or None,
                    carrier=body.get("carrier") or None,
                    status_details=str(body.get("status_details") or ""),
                    location=location or None,
                    emit=body.get("emit", True) is not False,
                )
            except KeyError:
                return 404, {"detail": "No such tracking number."}
            return 200, payload
        if method == "POST" and path == "/_control/webhooks":
            if not body.get("url"):
                return 400, {"url": ["This field is required."]}
            hook = self.add_webhook(str(body["url"]), secret=str(body.get("secret") or ""))
            return 201, self._webhook_json(hook)
        return 404, {"detail": "Not found."}

    def authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("ShippoToken "):
            return False
        key = header.removeprefix("ShippoToken ")
        return key == self.api_key if self.api_key is not None else key.startswith("shippo_")


class _Handler(BaseHTTPRequestHandler):
    fake: FakeShippo
    protocol_version = "HTTP/1.0"  # one request per connection: a stopped fake refuses at once

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _hang_up(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _dispatch(self) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        method = self.command
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(400, {"detail": "The body is not JSON."})
            return
        if path.startswith("/_control/"):
            status, payload = fake.control(method, path, body if isinstance(body, dict) else {})
            self._send(status, payload)
            return
        if method == "GET" and (m := re.fullmatch(r"/labels/([\w.-]+)", path)):
            found = fake.label_file(m.group(1))
            if found is None:
                self._send(404, {"detail": "Not found."})
            else:
                self._send(200, found[1], found[0])
            return
        if method == "GET" and (m := re.fullmatch(r"/track/([\w-]+)/([\w-]+)", path)):
            page = fake.tracking_page(m.group(1), m.group(2))
            if page is None:
                self._send(404, {"detail": "Not found."})
            else:
                self._send(200, page.encode(), "text/html; charset=utf-8")
            return
        with fake.lock:
            fake.requests.append(
                {
                    "method": method,
                    "path": self.path,
                    "body": body,
                    "api_version": self.headers.get("SHIPPO-API-VERSION"),
                }
            )
        fault = fake._take_fault(method, path)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        elif fault is not None and fault.kind == "fail":
            self._send(fault.status, {"detail": f"Fake Shippo answered {fault.status} (injected fault)."})
            return
        elif fault is not None and fault.kind == "drop" and not fault.after:
            self._hang_up()
            return
        if not fake.authorized(self.headers.get("Authorization")):
            self._send(401, {"detail": "Invalid token."})
            return
        try:
            status, payload = fake.handle(method, path, query, body)
        except ApiError as exc:
            status, payload = exc.status, exc.body
        if fault is not None and fault.kind == "drop":  # after: done, but the caller never hears
            self._hang_up()
            return
        self._send(status, payload)

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch


def main(argv: list[str] | None = None) -> None:
    parser = base_arguments("A local fake of the Shippo API (development and tests).", port=8025)
    parser.add_argument("--api-key", default=None, help="accept only this key (default: any shippo_... key)")
    parser.add_argument("--webhook-url", action="append", default=[], help="POST track_updated here")
    parser.add_argument(
        "--webhook-url-file", default="", help="a file holding a webhook URL (read if present)"
    )
    parser.add_argument("--webhook-secret", default="", help="sign webhooks (Shippo-Auth-Signature)")
    parser.add_argument(
        "--auto-advance", type=float, default=0, help="every N seconds, move each bought label's parcel on"
    )
    args = parser.parse_args(argv)
    urls = list(args.webhook_url)
    if args.webhook_url_file:
        try:
            with open(args.webhook_url_file) as handle:
                urls += [line.strip() for line in handle if line.strip()]
        except FileNotFoundError:
            pass
    fake = FakeShippo(
        api_key=args.api_key,
        webhook_urls=urls,
        webhook_secret=args.webhook_secret,
        auto_advance=args.auto_advance or None,
    )
    serve_forever(fake, args, note=f" (webhooks: {', '.join(urls) or 'none'})")


if __name__ == "__main__":
    main()
