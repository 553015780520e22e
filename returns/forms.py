"""The forms of the receiving page: the scan box and one receipt of a line."""

from __future__ import annotations

from django import forms

from fulfillment.forms import ScanForm
from returns.states import Condition, Disposition


class ReturnScanForm(ScanForm):
    """An RMA number (from the packing note or the label) or the return label's tracking barcode."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["code"].label = "Scan the RMA or the return label"


class ReceiptForm(forms.Form):
    """Units of one line that arrived, in one condition, given one disposition."""

    line = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    quantity = forms.IntegerField(min_value=1, max_value=100000, label="Units")
    condition = forms.ChoiceField(choices=Condition.choices, label="Condition")
    disposition = forms.ChoiceField(
        choices=Disposition.choices, label="Disposition", widget=forms.RadioSelect, initial="restock"
    )
