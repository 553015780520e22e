"""What the warehouse page views share: rendering, and turning a service's refusal into a message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from fulfillment.carriers import CarrierUnavailable
from oms.core.errors import DomainError

T = TypeVar("T")

NOT_NOW = "Someone else changed this at the same moment: look again and retry."


def attempt(request: HttpRequest, action: Callable[[], T]) -> T | None:
    """Run a service call; a refusal becomes an error message (and None), a missing row a 404."""
    try:
        return action()
    except DomainError as refused:
        if refused.status == 404:
            raise Http404(refused.message) from refused
        messages.error(request, refused.message)
    except (ConcurrentTransition, TransitionNotAllowed):
        messages.error(request, NOT_NOW)
    except CarrierUnavailable as unreachable:
        messages.error(request, f"The carrier could not be reached: {unreachable}. Try again in a minute.")
    except ObjectDoesNotExist as missing:
        raise Http404(str(missing)) from missing
    return None


def form_errors(request: HttpRequest, form: Any) -> None:
    """A form's errors as messages (the forms on these pages are small; the field is named)."""
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)
