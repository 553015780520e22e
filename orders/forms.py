"""Forms of the order admin's confirmation pages: each asks for what the service needs."""

from __future__ import annotations

from typing import Any

from django import forms

from orders.states import HoldKind


class HoldForm(forms.Form):
    kind = forms.ChoiceField(choices=HoldKind.choices, initial=HoldKind.MANUAL)
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept on the order and in its timeline; the customer's payment is voided or refunded.",
    )


class ReleaseForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        label="Release these holds",
        choices=HoldKind.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only the kinds ticked are lifted; an order keeps any other hold it has.",
    )
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, active_kinds: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if active_kinds is not None:
            # Offer the kinds the orders actually have; none is ticked for the user.
            labels = dict(HoldKind.choices)
            self.fields["kinds"].choices = [(kind, labels.get(kind, kind)) for kind in active_kinds]
