"""Address rules shared by every room: ISO country codes and postal-code formats per country."""

from __future__ import annotations

import re

ISO_COUNTRIES = frozenset(
    (
        "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
        "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
        "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
        "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
        "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
        "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
        "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
        "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
        "VN VU WF WS YE YT ZA ZM ZW "
    ).split()
)

# Countries with postal codes, and the format a code must have there. Countries missing
# here accept any code up to 20 characters; those in NO_POSTAL_CODE need none.
POSTAL_CODE_FORMATS: dict[str, str] = {
    "US": r"\d{5}(-\d{4})?",
    "CA": r"[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d",
    "GB": r"[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}",
    "DE": r"\d{5}",
    "FR": r"\d{5}",
    "IT": r"\d{5}",
    "ES": r"\d{5}",
    "NL": r"\d{4} ?[A-Za-z]{2}",
    "BE": r"\d{4}",
    "AT": r"\d{4}",
    "CH": r"\d{4}",
    "DK": r"\d{4}",
    "NO": r"\d{4}",
    "SE": r"\d{3} ?\d{2}",
    "FI": r"\d{5}",
    "PL": r"\d{2}-\d{3}",
    "PT": r"\d{4}-\d{3}",
    "IE": r"[A-Za-z\d]{3} ?[A-Za-z\d]{4}",
    "AU": r"\d{4}",
    "NZ": r"\d{4}",
    "JP": r"\d{3}-?\d{4}",
    "KR": r"\d{5}",
    "CN": r"\d{6}",
    "IN": r"\d{6}",
    "SG": r"\d{6}",
    "BR": r"\d{5}-?\d{3}",
    "MX": r"\d{5}",
    "ZA": r"\d{4}",
}
NO_POSTAL_CODE = frozenset({"AE", "AG", "AO", "BS", "BZ", "FJ", "GH", "HK", "JM", "MO", "QA", "ZW"})
_COMPILED = {country: re.compile(rf"^{pattern}$") for country, pattern in POSTAL_CODE_FORMATS.items()}


def normalize_country(value: str) -> str:
    return (value or "").strip().upper()


def postal_code_error(country: str, postal_code: str) -> tuple[str, str] | None:
    """(code, message) when the postal code does not fit the country, else None."""
    country = normalize_country(country)
    postal_code = (postal_code or "").strip()
    if country not in ISO_COUNTRIES:
        return "invalid_country", f"{country!r} is not an ISO 3166-1 alpha-2 country code."
    if not postal_code:
        if country in POSTAL_CODE_FORMATS:
            return "required", f"A postal code is required for {country}."
        return None
    pattern = _COMPILED.get(country)
    if pattern is not None and not pattern.match(postal_code):
        return "invalid_postal_code", f"{postal_code!r} is not a valid postal code for {country}."
    if len(postal_code) > 20:
        return "invalid_postal_code", "A postal code has at most 20 characters."
    return None
