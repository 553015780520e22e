"""Offline geocoding for choosing the nearest warehouse, and great-circle distance.

US ZIP codes come from the `zipcodes` package (its data ships inside the package; no
network). Anything else falls back to a small table of city centroids, then country
centroids. Coordinates are good to a few kilometres for ZIPs and to a few hundred for a
country centroid, which is all "nearest warehouse" needs.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import zipcodes

EARTH_RADIUS_KM = 6371.0088

Coordinates = tuple[float, float]

# Country centroids (ISO 3166-1 alpha-2 -> latitude, longitude), rounded.
COUNTRY_CENTROIDS: dict[str, Coordinates] = {
    "US": (39.83, -98.58),
    "CA": (56.13, -106.35),
    "MX": (23.63, -102.55),
    "BR": (-14.24, -51.93),
    "AR": (-38.42, -63.62),
    "CL": (-35.68, -71.54),
    "CO": (4.57, -74.30),
    "PE": (-9.19, -75.02),
    "GB": (54.00, -2.00),
    "IE": (53.41, -8.24),
    "FR": (46.23, 2.21),
    "DE": (51.17, 10.45),
    "NL": (52.13, 5.29),
    "BE": (50.50, 4.47),
    "LU": (49.82, 6.13),
    "CH": (46.82, 8.23),
    "AT": (47.52, 14.55),
    "IT": (41.87, 12.57),
    "ES": (40.46, -3.75),
    "PT": (39.40, -8.22),
    "DK": (56.26, 9.50),
    "SE": (60.13, 18.64),
    "NO": (60.47, 8.47),
    "FI": (61.92, 25.75),
    "IS": (64.96, -19.02),
    "PL": (51.92, 19.15),
    "CZ": (49.82, 15.47),
    "SK": (48.67, 19.70),
    "HU": (47.16, 19.50),
    "RO": (45.94, 24.97),
    "BG": (42.73, 25.49),
    "GR": (39.07, 21.82),
    "HR": (45.10, 15.20),
    "SI": (46.15, 14.99),
    "EE": (58.60, 25.01),
    "LV": (56.88, 24.60),
    "LT": (55.17, 23.88),
    "UA": (48.38, 31.17),
    "TR": (38.96, 35.24),
    "IL": (31.05, 34.85),
    "AE": (23.42, 53.85),
    "SA": (23.89, 45.08),
    "EG": (26.82, 30.80),
    "ZA": (-30.56, 22.94),
    "NG": (9.08, 8.68),
    "KE": (-0.02, 37.91),
    "MA": (31.79, -7.09),
    "IN": (20.59, 78.96),
    "CN": (35.86, 104.20),
    "JP": (36.20, 138.25),
    "KR": (35.91, 127.77),
    "TW": (23.70, 120.96),
    "HK": (22.32, 114.17),
    "SG": (1.35, 103.82),
    "MY": (4.21, 101.98),
    "TH": (15.87, 100.99),
    "VN": (14.06, 108.28),
    "PH": (12.88, 121.77),
    "ID": (-0.79, 113.92),
    "AU": (-25.27, 133.78),
    "NZ": (-40.90, 174.89),
}

# A few major cities: (country, lower-case city) -> coordinates.
CITY_CENTROIDS: dict[tuple[str, str], Coordinates] = {
    ("US", "new york"): (40.71, -74.01),
    ("US", "los angeles"): (34.05, -118.24),
    ("US", "chicago"): (41.88, -87.63),
    ("US", "houston"): (29.76, -95.37),
    ("US", "dallas"): (32.78, -96.80),
    ("US", "austin"): (30.27, -97.74),
    ("US", "seattle"): (47.61, -122.33),
    ("US", "san francisco"): (37.77, -122.42),
    ("US", "miami"): (25.76, -80.19),
    ("US", "atlanta"): (33.75, -84.39),
    ("US", "denver"): (39.74, -104.99),
    ("US", "boston"): (42.36, -71.06),
    ("CA", "toronto"): (43.65, -79.38),
    ("CA", "montreal"): (45.50, -73.57),
    ("CA", "vancouver"): (49.28, -123.12),
    ("GB", "london"): (51.51, -0.13),
    ("GB", "manchester"): (53.48, -2.24),
    ("FR", "paris"): (48.86, 2.35),
    ("DE", "berlin"): (52.52, 13.40),
    ("DE", "munich"): (48.14, 11.58),
    ("DE", "hamburg"): (53.55, 9.99),
    ("NL", "amsterdam"): (52.37, 4.90),
    ("ES", "madrid"): (40.42, -3.70),
    ("IT", "milan"): (45.46, 9.19),
    ("AU", "sydney"): (-33.87, 151.21),
    ("AU", "melbourne"): (-37.81, 144.96),
    ("JP", "tokyo"): (35.68, 139.69),
    ("MX", "mexico city"): (19.43, -99.13),
    ("BR", "sao paulo"): (-23.55, -46.63),
}

_US_ZIP = re.compile(r"^\s*(\d{5})(?:[-\s]?\d{4})?\s*$")


@lru_cache(maxsize=65536)
def us_zip_coordinates(postal_code: str) -> Coordinates | None:
    match = _US_ZIP.match(postal_code or "")
    if not match:
        return None
    try:
        found = zipcodes.matching(match.group(1))
    except (ValueError, TypeError):
        return None
    for entry in found:
        try:
            return float(entry["lat"]), float(entry["long"])
        except (KeyError, TypeError, ValueError):
            continue
    return None


@lru_cache(maxsize=65536)
def geocode(country: str, postal_code: str = "", city: str = "") -> Coordinates | None:
    """Best offline coordinates for an address: ZIP, then city, then country centroid."""
    country = (country or "").strip().upper()
    if country in ("US", "PR") and postal_code:
        found = us_zip_coordinates(postal_code.strip())
        if found is not None:
            return found
    if city:
        found = CITY_CENTROIDS.get((country, city.strip().lower()))
        if found is not None:
            return found
    return COUNTRY_CENTROIDS.get(country)


def haversine_km(a: Coordinates, b: Coordinates) -> float:
    """Great-circle distance in kilometres."""
    lat1, lon1 = map(math.radians, a)
    lat2, lon2 = map(math.radians, b)
    dlat, dlon = lat2 - lat1, lon2 - lon1
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
