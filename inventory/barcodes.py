"""Barcodes as scanners read them.

One GTIN is printed and read in several lengths: an EAN-13 that starts with 0 is the UPC-A
without it, and scanners (ZXing among them) report it as 12 digits; GTIN-14 pads with zeros.
`gtin_forms` gives every form a numeric code may be stored as, so a scan matches a SKU's
barcode whichever length either was written in.
"""

from __future__ import annotations

GTIN_LENGTHS = (8, 12, 13, 14)


def gtin_forms(code: str) -> set[str]:
    code = (code or "").strip()
    if not code.isdigit() or not 8 <= len(code) <= 14:
        return {code} if code else set()
    core = code.lstrip("0")
    return {code} | {core.zfill(n) for n in GTIN_LENGTHS if len(core) <= n}
