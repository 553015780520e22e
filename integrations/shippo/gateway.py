"""The Shippo CarrierGateway, through the real `shippo` SDK (3.9.0, pinned: the SDK is beta).

One SDK client per tenant account: its API key (ChannelAccount.credentials, encrypted at rest)
and its base URL (`effective_base_url`: a local fake or sandbox where settings allow it). The
SDK passes no timeout to `requests` and its retry_config does nothing (integrations.md 2.1), so
the client gets a session with a default timeout, and retries belong to our Celery tasks.

Errors: no answer (connection refused, reset, timeout), 5xx, 429 and answers the SDK cannot read
-> CarrierUnavailable (the outcome of a write is unknown: the caller looks it up by reference
before repeating it); any other 4xx -> CarrierRefused with Shippo's own message.

Shipment create and label purchase are synchronous (`async_=False`). Our reference travels as
the transaction's `metadata`, and `find_label` finds a purchase again by listing the rate's
transactions and matching it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import requests
import shippo
from shippo.models import components, errors, operations

from fulfillment.carriers import (
    AddressCheck,
    CarrierRefused,
    CarrierUnavailable,
    NoCarrierAccount,
    ParcelSpec,
    PostalAddress,
    PurchasedLabel,
    Rate,
    TrackingUpdate,
)
from integrations.endpoints import effective_base_url
from integrations.models import ChannelAccount, ChannelKind
from oms.metrics import VendorErrorKind, vendor_error, vendor_http_error_kind

HTTP_TIMEOUT_SECONDS = 30
LABEL_DOWNLOAD_TIMEOUT_SECONDS = 15
LABEL_MAX_BYTES = 10 * 1024 * 1024
SHIPPO_URL = "https://api.goshippo.com"
# Transactions Shippo is still working on: not found, not absent either (never buy beside one).
IN_FLIGHT = {"QUEUED", "WAITING"}
REFUNDED = {"REFUNDED", "REFUNDPENDING"}

T = TypeVar("T")


class TimeoutSession(requests.Session):
    """A requests session whose every request has a timeout (the SDK sets none)."""

    def __init__(self, timeout: float = HTTP_TIMEOUT_SECONDS) -> None:
        super().__init__()
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def shippo_account_for(tenant: Any) -> ChannelAccount:
    account = (
        ChannelAccount.objects.for_tenant(tenant)
        .filter(kind=ChannelKind.SHIPPO, active=True)
        .order_by("pk")
        .first()
    )
    if account is None or not account.credentials:
        raise NoCarrierAccount("shippo")
    return account


def shippo_gateway_for(tenant: Any) -> ShippoGateway:
    return ShippoGateway(shippo_account_for(tenant))


def _text(value: Any) -> str:
    return "" if value is None else str(getattr(value, "value", value))


def _refusal_message(status: int, body: str) -> str:
    """Shippo's own words: {"detail": ...}, {"field": ["...", ...]}, or a list of messages."""
    try:
        data = json.loads(body or "")
    except ValueError:
        data = None
    parts: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            items = value if isinstance(value, list) else [value]
            words = "; ".join(str(i.get("text", i) if isinstance(i, dict) else i) for i in items)
            parts.append(words if key in ("detail", "non_field_errors", "__all__") else f"{key}: {words}")
    elif isinstance(data, list):
        parts = [str(i.get("text", i) if isinstance(i, dict) else i) for i in data]
    message = " ".join(parts) or (body or "").strip()[:300] or f"HTTP {status}"
    return f"Shippo refused the request ({status}): {message}"[:480]


def _messages(items: Any) -> list[str]:
    return [_text(getattr(m, "text", None) or m) for m in (items or []) if getattr(m, "text", None) or m]


def carrier_token(carrier: str) -> str:
    """Shippo's carrier token for tracking ("USPS" -> "usps", "DHL Express" -> "dhl_express")."""
    return "_".join(carrier.strip().lower().split())


def _money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


class ShippoGateway:
    provider = "shippo"

    def __init__(self, account: ChannelAccount, *, timeout: float = HTTP_TIMEOUT_SECONDS) -> None:
        self.account = account
        self.session = TimeoutSession(timeout)
        self.sdk = shippo.Shippo(
            api_key_header=account.credentials,
            server_url=(effective_base_url(account) or SHIPPO_URL).rstrip("/"),
            client=self.session,
        )

    # --- error mapping ---------------------------------------------------------------------------
    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except requests.RequestException as exc:
            vendor_error("shippo", VendorErrorKind.UNREACHABLE)
            raise CarrierUnavailable(f"Shippo could not be reached: {type(exc).__name__}") from exc
        except errors.SDKError as exc:
            status = int(exc.status_code or 0)
            vendor_error(
                "shippo", vendor_http_error_kind(status) if status >= 400 else VendorErrorKind.UNREADABLE
            )
            if status >= 500 or status in (408, 409, 425, 429) or status < 400:
                # 2xx/3xx here: an answer the SDK did not expect; the outcome is unknown.
                raise CarrierUnavailable(f"Shippo answered {status or 'nothing usable'}; try again") from exc
            if status in (401, 403):
                raise CarrierRefused(
                    "Shippo refused the API key: check the Shippo account under Integrations.",
                    code="carrier_auth_failed",
                    http_status=status,
                ) from exc
            raise CarrierRefused(_refusal_message(status, exc.body), http_status=status) from exc
        except (ValueError, KeyError, AttributeError, TypeError) as exc:
            # The SDK could not read Shippo's answer (unmarshalling): we cannot tell what happened.
            vendor_error("shippo", VendorErrorKind.UNREADABLE)
            raise CarrierUnavailable(f"Shippo's answer could not be read: {type(exc).__name__}") from exc

    # --- mapping ---------------------------------------------------------------------------------------
    @staticmethod
    def _address(address: PostalAddress, *, validate: bool | None = None) -> components.AddressCreateRequest:
        return components.AddressCreateRequest(
            country=address.country,
            name=address.name or None,
            company=address.company or None,
            street1=address.line1 or None,
            street2=address.line2 or None,
            city=address.city or None,
            state=address.region or None,
            zip=address.postal_code or None,
            phone=address.phone or None,
            email=address.email or None,
            validate=validate,
        )

    @staticmethod
    def _parcel(parcel: ParcelSpec) -> components.ParcelCreateRequest:
        # Shippo needs every dimension; a parcel packed without measurements goes as a 1 mm box.
        return components.ParcelCreateRequest(
            length=str(max(parcel.length_mm, 1)),
            width=str(max(parcel.width_mm, 1)),
            height=str(max(parcel.height_mm, 1)),
            distance_unit=components.DistanceUnitEnum.MM,
            weight=str(max(parcel.weight_grams, 1)),
            mass_unit=components.WeightUnitEnum.G,
        )

    @staticmethod
    def _rate(rate: Any, shipment_id: str = "") -> Rate:
        level = rate.servicelevel
        return Rate(
            rate_id=str(rate.object_id),
            carrier=str(rate.provider),
            service=_text(getattr(level, "token", "")),
            service_name=_text(getattr(level, "name", "")),
            amount=Decimal(str(rate.amount)),
            currency=str(rate.currency),
            estimated_days=rate.estimated_days,
            carrier_shipment_id=shipment_id or str(rate.shipment or ""),
        )

    def _purchased(self, txn: Any, *, reference: str) -> PurchasedLabel:
        rate = txn.rate
        if isinstance(rate, str) or rate is None:
            rate_id = rate or ""
            found = self._call(self.sdk.rates.get, rate_id) if rate_id else None
            carrier = str(found.provider) if found else ""
            service = _text(found.servicelevel.token) if found else ""
            amount, currency = (_money(found.amount), str(found.currency)) if found else (None, "")
        else:  # a CoreRate object
            rate_id = _text(rate.object_id)
            carrier, service = _text(rate.provider), _text(rate.servicelevel_token)
            amount, currency = _money(rate.amount), _text(rate.currency)
        return PurchasedLabel(
            transaction_id=str(txn.object_id),
            reference=_text(txn.metadata) or reference,
            rate_id=rate_id,
            carrier=carrier,
            service=service,
            tracking_number=_text(txn.tracking_number),
            tracking_url=_text(txn.tracking_url_provider),
            label_url=_text(txn.label_url),
            amount=amount,
            currency=currency,
        )

    # --- CarrierGateway -----------------------------------------------------------------------------
    def validate_address(self, *, address: PostalAddress) -> AddressCheck:
        created = self._call(self.sdk.addresses.create, self._address(address, validate=True))
        results = created.validation_results
        valid = bool(results.is_valid) if results is not None and results.is_valid is not None else True
        return AddressCheck(valid=valid, messages=tuple(_messages(results.messages if results else [])))

    def rates(
        self,
        *,
        ship_from: PostalAddress,
        ship_to: PostalAddress,
        parcels: list[ParcelSpec],
        reference: str,
        is_return: bool = False,
    ) -> list[Rate]:
        # A Shippo return label is made on the outbound shipment (warehouse -> customer) with
        # `is_return`: Shippo swaps the addresses on the label. Ours name the way the parcel goes.
        if is_return:
            ship_from, ship_to = ship_to, ship_from
        request = components.ShipmentCreateRequest(
            address_from=self._address(ship_from),
            address_to=self._address(ship_to),
            parcels=[self._parcel(p) for p in parcels],
            metadata=reference,
            extra=components.ShipmentExtra(is_return=True) if is_return else None,
            async_=False,
        )
        shipment = self._call(self.sdk.shipments.create, request)
        rates = [self._rate(r, str(shipment.object_id)) for r in shipment.rates or []]
        if not rates:
            reasons = "; ".join(_messages(shipment.messages)) or "no carrier quoted this shipment"
            raise CarrierRefused(f"No rates: {reasons}"[:480], code="no_rates")
        return rates

    def buy_label(self, *, rate_id: str, reference: str, label_file_type: str = "PDF_4x6") -> PurchasedLabel:
        try:
            file_type = components.LabelFileTypeEnum(label_file_type)
        except ValueError:
            raise CarrierRefused(
                f"Shippo makes no {label_file_type!r} labels: choose another label file type in settings.",
                code="label_file_type",
            ) from None
        request = components.TransactionCreateRequest(
            rate=rate_id,
            label_file_type=file_type,
            async_=False,
            metadata=reference,
        )
        txn = self._call(self.sdk.transactions.create, request)
        status = _text(txn.status)
        if status == "SUCCESS":
            return self._purchased(txn, reference=reference)
        if status in IN_FLIGHT:
            raise CarrierUnavailable(
                f"Shippo is still making the label ({status}); it is looked up next time"
            )
        reasons = "; ".join(_messages(txn.messages)) or f"status {status or 'unknown'}"
        raise CarrierRefused(f"Shippo did not make the label: {reasons}"[:480], code="label_refused")

    def find_label(self, *, rate_id: str, reference: str) -> PurchasedLabel | None:
        page = 1
        while True:
            listing = self._call(
                self.sdk.transactions.list,
                operations.ListTransactionsRequest(rate=rate_id, page=page, results=100),
            )
            for txn in listing.results or []:
                if _text(txn.metadata) != reference:
                    continue
                status = _text(txn.status)
                if status == "SUCCESS":
                    return self._purchased(txn, reference=reference)
                if status in IN_FLIGHT:
                    raise CarrierUnavailable(f"Shippo is still making the label for {reference} ({status})")
            if not listing.next:
                return None
            page += 1

    def void_label(self, *, transaction_id: str) -> bool:
        txn = self._call(self.sdk.transactions.get, transaction_id)
        if _text(txn.status) in REFUNDED:
            return True  # asked before (our earlier attempt, or staff in Shippo's own dashboard)
        refund = self._call(self.sdk.refunds.create, transaction=transaction_id, async_=False)
        status = _text(refund.status)
        if status == "ERROR":
            raise CarrierRefused("Shippo refused to void the label.", code="void_refused")
        return status in ("QUEUED", "PENDING", "SUCCESS")

    def return_label(
        self,
        *,
        ship_from: PostalAddress,
        ship_to: PostalAddress,
        parcels: list[ParcelSpec],
        reference: str,
    ) -> PurchasedLabel:
        rates = self.rates(
            ship_from=ship_from, ship_to=ship_to, parcels=parcels, reference=reference, is_return=True
        )
        cheapest = min(rates, key=lambda r: (r.amount, r.estimated_days or 99))
        return self.buy_label(rate_id=cheapest.rate_id, reference=reference)

    def download_label(self, *, label_url: str) -> bytes:
        try:
            response = self.session.get(label_url, timeout=LABEL_DOWNLOAD_TIMEOUT_SECONDS, stream=True)
            response.raise_for_status()
            content = response.raw.read(LABEL_MAX_BYTES + 1, decode_content=True)
        except requests.RequestException as exc:
            raise CarrierUnavailable(f"The label file could not be fetched: {type(exc).__name__}") from exc
        if len(content) > LABEL_MAX_BYTES:
            raise CarrierUnavailable("The label file is larger than we keep.")
        return bytes(content)

    def track(self, *, carrier: str, tracking_number: str) -> TrackingUpdate:
        found = self._call(
            self.sdk.tracking_status.get, tracking_number=tracking_number, carrier=carrier_token(carrier)
        )
        status = found.tracking_status
        location = getattr(status, "location", None) if status is not None else None
        where = ", ".join(
            p for p in (_text(getattr(location, "city", "")), _text(getattr(location, "state", ""))) if p
        )
        history = [
            {
                "status": _text(h.status),
                "status_details": _text(h.status_details),
                "status_date": h.status_date.isoformat() if isinstance(h.status_date, datetime) else None,
                "location": _text(getattr(h.location, "city", "")) if h.location is not None else "",
            }
            for h in found.tracking_history or []
        ]
        return TrackingUpdate(
            carrier=_text(found.carrier) or carrier,
            tracking_number=_text(found.tracking_number) or tracking_number,
            status=_text(status.status) if status is not None else "UNKNOWN",
            status_details=_text(status.status_details) if status is not None else "",
            status_date=status.status_date if status is not None else None,
            location=where,
            raw={
                "tracking_history": history,
                "metadata": _text(found.metadata),
                "transaction": _text(found.transaction),
            },
        )

    def register_tracking(self, *, carrier: str, tracking_number: str, reference: str) -> None:
        self._call(
            self.sdk.tracking_status.create,
            carrier=carrier,
            tracking_number=tracking_number,
            metadata=reference,
        )
