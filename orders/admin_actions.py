"""The order admin's actions that ask before they act, and the order page's own buttons.

Cancel asks for a reason on a confirmation page; release asks which kinds of hold and why;
the order page holds, releases and cancels one order (each page declares its capability). A
new ship-to that leaves units backordered says why and offers the choices (`ship_to_outcome`).
`OrderAdmin` mixes this in; every change goes through `orders.services`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from inventory.models import Warehouse
from oms.core.admin import capability_action, requires_capability
from oms.core.errors import DomainError
from oms.core.roles import Capability, request_has
from orders import services
from orders.errors import OrderErrorCode
from orders.forms import CancelForm, HoldForm, ReleaseForm
from orders.models import Hold, Order
from orders.states import CANCELLABLE, HOLDABLE, HoldKind, OrderState

C = Capability


def run_each(
    model_admin: Any, request: HttpRequest, rows: Any, verb: str, noun: str, call: Any, *, label: Any
) -> None:
    """Run a service per selected row; report what was done and, row by row, what a rule refused."""
    done, failed = 0, []
    for row in rows:
        try:
            call(row)
            done += 1
        except DomainError as exc:
            failed.append(f"{label(row)}: {exc.message}")
    if done:
        model_admin.message_user(request, f"{verb} {done} {noun}.", messages.SUCCESS)
    if failed:
        model_admin.message_user(request, "Not changed: " + "; ".join(failed), messages.WARNING)


class OrderActionsMixin:
    """For OrderAdmin: bulk cancel and release with their questions, and one order's hold,
    release and cancel pages (`<id>/hold/`, `<id>/release/`, `<id>/cancel/`)."""

    admin_site: Any
    model: Any
    get_object: Any
    message_user: Any
    _apply: Any

    @capability_action(C.ORDERS_HOLD, description="Release holds on the selected orders…")
    def release_orders(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        orders = list(queryset.select_related(None).select_related("tenant"))
        active = active_hold_kinds(orders)
        if not any(active.values()):
            self.message_user(request, "None of the selected orders has an active hold.", messages.WARNING)
            return None
        kinds = sorted({kind for found in active.values() for kind in found})
        form = ReleaseForm(request.POST if "apply" in request.POST else None, active_kinds=kinds)
        if form.is_bound and form.is_valid():
            self._release(request, orders, active, form.cleaned_data["kinds"], form.cleaned_data["reason"])
            return None
        return self._confirm_page(
            request,
            title="Release holds",
            intro="Release the ticked kinds of hold. An order with no hold left is allocated again.",
            orders=orders,
            form=form,
            submit="Release holds",
            action="release_orders",
            holds=hold_labels(active),
        )

    @capability_action(C.ORDERS_CANCEL, description="Cancel the selected orders…")
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        form = CancelForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._apply(request, queryset, "Cancelled", services.order_cancel, **form.cleaned_data)
            return None
        return self._confirm_page(
            request,
            title="Cancel orders",
            intro="Cancelling gives back their stock, cancels open shipments and voids or refunds "
            "their payments. It cannot be undone.",
            orders=list(queryset),
            form=form,
            submit="Yes, cancel these orders",
            action="cancel_orders",
        )

    # --- one order, from its page ----------------------------------------------------------
    def _order_buttons(self, request: HttpRequest, order: Order | None) -> dict[str, bool]:
        if order is None:
            return {}
        held = order.state == OrderState.ON_HOLD or bool(active_hold_kinds([order])[order.pk])
        return {
            "can_hold": request_has(request, C.ORDERS_HOLD)
            and order.state in (*HOLDABLE, OrderState.ON_HOLD),
            "can_release": request_has(request, C.ORDERS_HOLD) and held,
            "can_cancel": request_has(request, C.ORDERS_CANCEL) and order.state in CANCELLABLE,
        }

    def _order_or_404(self, request: HttpRequest, object_id: str) -> Order:
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404("No such order")
        return order

    def _confirm_page(
        self,
        request: HttpRequest,
        *,
        title: str,
        intro: str,
        orders: list[Order],
        form: Any,
        submit: str,
        **extra: Any,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "orders": orders,
            "form": form,
            "submit_label": submit,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            **extra,
        }
        return TemplateResponse(request, "admin/orders/order/confirm.html", context)

    def _one(
        self, request: HttpRequest, order: Order, form: Any, verb: str, call: Callable[[], Order]
    ) -> bool:
        """Run one service for one order; say the state it is in now, or put the refusal on the form."""
        try:
            after = call()
        except DomainError as exc:
            form.add_error(None, exc.message)
            return False
        self.message_user(
            request, f"{verb} order #{order.number}: it is now {after.get_state_display().lower()}."
        )
        return True

    def _back_to(self, order: Order) -> HttpResponse:
        return redirect(reverse("admin:orders_order_change", args=[order.pk]))

    @requires_capability(C.ORDERS_HOLD)
    def order_hold_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self._order_or_404(request, object_id)
        form = HoldForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data

            def call() -> Order:
                return services.order_hold(tenant=order.tenant, order_id=order.pk, actor=request.user, **data)

            if self._one(request, order, form, "Held", call):
                return self._back_to(order)
        return self._confirm_page(
            request,
            title=f"Put order #{order.number} on hold",
            intro="A held order keeps its allocation and does not ship until every hold is released.",
            orders=[order],
            form=form,
            submit="Put on hold",
            order=order,
        )

    @requires_capability(C.ORDERS_HOLD)
    def order_release_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self._order_or_404(request, object_id)
        active = active_hold_kinds([order])
        if not active[order.pk]:
            self.message_user(request, f"Order #{order.number} has no active hold.", messages.WARNING)
            return self._back_to(order)
        form = ReleaseForm(request.POST or None, active_kinds=active[order.pk])
        if request.method == "POST" and form.is_valid():
            kinds, reason = form.cleaned_data["kinds"], form.cleaned_data["reason"]

            def call() -> Order:
                with transaction.atomic():  # every ticked kind, or none
                    for kind in kinds:
                        after = services.order_release(
                            tenant=order.tenant,
                            order_id=order.pk,
                            kind=kind,
                            reason=reason,
                            actor=request.user,
                        )
                return after

            if self._one(request, order, form, "Released holds on", call):
                return self._back_to(order)
        return self._confirm_page(
            request,
            title=f"Release holds on order #{order.number}",
            intro="Release the ticked kinds of hold. With no hold left the order is allocated again.",
            orders=[order],
            form=form,
            submit="Release holds",
            order=order,
            holds=hold_labels(active),
        )

    @requires_capability(C.ORDERS_CANCEL)
    def order_cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self._order_or_404(request, object_id)
        form = CancelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            reason = form.cleaned_data["reason"]

            def call() -> Order:
                return services.order_cancel(
                    tenant=order.tenant, order_id=order.pk, reason=reason, actor=request.user
                )

            if self._one(request, order, form, "Cancelled", call):
                return self._back_to(order)
        return self._confirm_page(
            request,
            title=f"Cancel order #{order.number}",
            intro="Cancelling gives back its stock, cancels open shipments and voids or refunds its "
            "payments. It cannot be undone.",
            orders=[order],
            form=form,
            submit="Yes, cancel this order",
            order=order,
        )

    def _release(
        self,
        request: HttpRequest,
        orders: list[Order],
        active: dict[int, list[str]],
        kinds: list[str],
        reason: str,
    ) -> None:
        labels = dict(HoldKind.choices)

        def call(order: Order) -> None:
            chosen = [kind for kind in kinds if kind in active[order.pk]]
            if not chosen:
                wanted = " or ".join(labels[k].lower() for k in kinds)
                raise DomainError(OrderErrorCode.NO_ACTIVE_HOLD, f"no {wanted} hold")
            with transaction.atomic():  # every chosen kind of this order, or none
                for kind in chosen:
                    services.order_release(
                        tenant=order.tenant, order_id=order.pk, kind=kind, reason=reason, actor=request.user
                    )

        run_each(self, request, orders, "Released holds on", "order(s)", call, label=lambda o: f"#{o.number}")


def active_hold_kinds(orders: list[Order]) -> dict[int, list[str]]:
    """order pk -> the kinds of its active holds, in one query."""
    found: dict[int, list[str]] = {order.pk: [] for order in orders}
    if not orders:
        return found
    rows = (
        Hold.objects.for_tenant(orders[0].tenant_id)
        .filter(order__in=[order.pk for order in orders], released_at__isnull=True)
        .order_by("kind")
        .values_list("order_id", "kind")
    )
    for order_id, kind in rows:
        found[order_id].append(kind)
    return found


def hold_labels(active: dict[int, list[str]]) -> dict[int, list[str]]:
    """The kinds of each order's holds as the merchant reads them ("Fraud review")."""
    labels = dict(HoldKind.choices)
    return {pk: [str(labels.get(kind, kind)) for kind in kinds] for pk, kinds in active.items()}


def ship_to_outcome(request: HttpRequest, order: Order) -> tuple[int, str]:
    """What a new ship-to did to the order, in words, with the choices when it cannot ship."""
    address = str(order.ship_to)
    state = order.get_state_display().lower()
    if order.state == OrderState.ON_HOLD:
        return messages.SUCCESS, (
            f"Order #{order.number} now ships to {address}; it stays on hold and is allocated "
            "from the warehouses nearest the new address when its holds are released."
        )
    if order.state not in (OrderState.BACKORDERED, OrderState.PARTIALLY_ALLOCATED):
        return messages.SUCCESS, f"Order #{order.number} now ships to {address}; re-allocated: it is {state}."
    country = (order.ship_to.country or "").upper()
    serving = [
        code
        for code, ships_to in Warehouse.objects.for_tenant(order.tenant_id)
        .filter(active=True)
        .order_by("code")
        .values_list("code", "ships_to")
        if not ships_to or country in [str(c).upper() for c in ships_to]
    ]
    backordered = sum(line.quantity_backordered for line in order.lines.all())
    if serving:
        why = f"the warehouses that ship to {country} ({', '.join(serving)}) do not have the stock"
    else:
        why = f"no warehouse ships to {country}"
    choices = []
    if request_has(request, C.ORDERS_EDIT):
        url = reverse("admin:orders_order_ship_to", args=[order.pk])
        choices.append(format_html('<a href="{}">change the address again</a>', url))
    if request_has(request, C.ORDERS_HOLD):
        url = reverse("admin:orders_order_hold", args=[order.pk])
        choices.append(format_html('<a href="{}">put it on hold</a> while you ask the customer', url))
    if request_has(request, C.ORDERS_CANCEL):
        url = reverse("admin:orders_order_cancel", args=[order.pk])
        choices.append(format_html('<a href="{}">cancel it</a>', url))
    choices.append(format_html("leave it {} until stock arrives", state))
    return messages.WARNING, format_html(
        "Order #{} now ships to {}, but {}: {} unit(s) are backordered and the order is {}. You can {}.",
        order.number,
        address,
        why,
        backordered,
        state,
        format_html_join(", or ", "{}", ((choice,) for choice in choices)),
    )
