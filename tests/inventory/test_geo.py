from __future__ import annotations

from inventory.geo import geocode, haversine_km


def test_us_zip_codes_resolve_offline():
    austin = geocode("US", "78701")
    dallas = geocode("US", "75201-1234")
    assert austin is not None and dallas is not None
    assert 280 < haversine_km(austin, dallas) < 310


def test_fallbacks_city_then_country():
    assert geocode("GB", "SW1A 1AA", "London") == (51.51, -0.13)
    assert geocode("DE", "10115") == geocode("DE")
    assert geocode("US", "00000") is not None  # unknown ZIP falls back to the US centroid
    assert geocode("ZZ") is None
