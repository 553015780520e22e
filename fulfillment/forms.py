"""The warehouse pages' forms: what a picker or packer types, checked before a service sees it."""

from __future__ import annotations

from typing import Any

from django import forms

from fulfillment.states import PickListKind, ShortReason

ANY = ""


def _choices(values: list[str], any_label: str) -> list[tuple[str, str]]:
    return [(ANY, any_label), *((v, v) for v in values if v)]


class PickListCreateForm(forms.Form):
    """Which pending shipments of the warehouse go on a new pick list."""

    kind = forms.ChoiceField(
        choices=PickListKind.choices,
        initial=PickListKind.BATCH,
        widget=forms.RadioSelect,
        label="Picking",
        help_text="Single order: one shipment after another. Batch: every shipment's units by bin and SKU.",
    )
    carrier = forms.ChoiceField(required=False, label="Carrier")
    service_level = forms.ChoiceField(required=False, label="Service level")
    promised_by = forms.DateField(
        required=False,
        label="Promised on or before",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    limit = forms.IntegerField(
        min_value=1,
        max_value=500,
        initial=50,
        label="Most shipments",
        help_text="The earliest promised go first.",
    )

    def __init__(self, *args: Any, carriers: list[str], service_levels: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["carrier"].choices = _choices(carriers, "Any carrier")
        self.fields["service_level"].choices = _choices(service_levels, "Any service level")

    def filters(self) -> dict[str, Any]:
        """The filters as the pick list records them (empty ones left out)."""
        data = self.cleaned_data
        found = {
            "carrier": data.get("carrier") or None,
            "service_level": data.get("service_level") or None,
            "promised_by": data.get("promised_by"),
        }
        return {k: v for k, v in found.items() if v}


class ScanForm(forms.Form):
    """What a handheld scanner (or a camera, or a thumb) typed: a barcode or a SKU code."""

    code = forms.CharField(
        max_length=128,
        strip=True,
        label="Scan or type a barcode or SKU",
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "enterkeyhint": "go",
                "class": "scan-input",
            }
        ),
    )


class ShortPickForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, label="Missing")
    reason = forms.ChoiceField(choices=ShortReason.choices, label="Why")


class ParcelForm(forms.Form):
    """The parcel as packed: prefilled from the SKUs' data, corrected on the scale."""

    weight_grams = forms.IntegerField(min_value=1, max_value=1_000_000, label="Weight (g)")
    length_mm = forms.IntegerField(min_value=1, max_value=10_000, label="Length (mm)")
    width_mm = forms.IntegerField(min_value=1, max_value=10_000, label="Width (mm)")
    height_mm = forms.IntegerField(min_value=1, max_value=10_000, label="Height (mm)")


class LabelForm(forms.Form):
    """The rate to buy; none lets the tenant's rate policy choose."""

    rate_id = forms.CharField(max_length=64, required=False)
