"""The stated estimate models behind every figure the planner gives.

Offline there are no live fares, room rates or forecasts, so each number comes from a small, written
down model. The models are deliberately simple and documented here (and in docs/planner.md) so an
answer can say exactly what kind of number it is: an estimate, never a quote.

- Fares: round-trip economy per person = 2 x (45 + 0.085 x the first 2,000 km + 0.045 x the rest) USD
  x season, km the great-circle distance between the airports (long-haul costs less per km); season
  1.25 in Jun-Aug and December, 0.9 in Jan-Feb and November.
- Nightly rates: 110 USD x city cost index x hotel class x season (1.2 in the local summer peak),
  one room per two travellers.
- Daily spending (food, local transport, sights): 60 USD x cost index x pace, per traveller.
- Weather: the curated places' monthly climate normals (mean high, low and rain, source named in
  `data/destinations.json`); elsewhere, as a labelled fallback, a mean temperature from latitude and
  month (warmest mid-July north, mid-January south) plus a wet-month hint for the tropics. Typical
  conditions, not a forecast.
- Currencies: fixed reference rates (USD per unit), approximate and not live.
"""

from __future__ import annotations

import calendar
import math

from trip_planner.agents.places import Place, haversine_km

MONTHS: list[str] = [calendar.month_name[i] for i in range(1, 13)]

# Approximate reference rates, USD per one unit of the currency. Not live rates.
USD_PER_UNIT: dict[str, float] = {
    "USD": 1.0, "EUR": 1.08, "GBP": 1.27, "JPY": 0.0067, "CHF": 1.12, "CAD": 0.73, "AUD": 0.66,
    "NZD": 0.6, "SEK": 0.095, "NOK": 0.094, "DKK": 0.145, "CZK": 0.044, "PLN": 0.25, "HUF": 0.0028,
    "TRY": 0.03, "MXN": 0.055, "BRL": 0.19, "INR": 0.012, "CNY": 0.14, "HKD": 0.128, "SGD": 0.74,
    "THB": 0.028, "KRW": 0.00073, "ZAR": 0.054, "AED": 0.272, "MAD": 0.1, "ISK": 0.0072,
}
SYMBOLS: dict[str, str] = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

HOTEL_CLASSES: dict[str, float] = {"budget": 0.55, "mid-range": 1.0, "upscale": 1.8, "luxury": 3.2}
PACE_FACTORS: dict[str, float] = {"relaxed": 0.85, "moderate": 1.0, "packed": 1.2}
ESTIMATE_NOTE = "estimate from a stated model, not a quote"


def month_number(month: str | int | None) -> int | None:
    """1-12 for 'March', 'mar', '3' or 3; None when it is not a month."""
    if month is None:
        return None
    if isinstance(month, int):
        return month if 1 <= month <= 12 else None
    m = month.strip().lower().rstrip(".")
    if m.isdigit():
        return month_number(int(m))
    if len(m) < 3:
        return None
    for i, full in enumerate(MONTHS, start=1):
        if full.lower().startswith(m[:3]) and full.lower().startswith(m):
            return i
    return None


def convert(amount: float, from_currency: str, to_currency: str) -> float:
    """Convert with the fixed reference rates; raises KeyError for a currency we have no rate for."""
    return amount * USD_PER_UNIT[from_currency.upper()] / USD_PER_UNIT[to_currency.upper()]


def money(amount: float, currency: str) -> str:
    """'$2,000', '€1,350', '150,000 JPY' style: symbols for the common four, codes otherwise."""
    currency = currency.upper()
    rounded = f"{round(amount):,}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{rounded}" if symbol else f"{rounded} {currency}"


def season_factor_flights(month: int | None) -> float:
    if month in (6, 7, 8, 12):
        return 1.25
    if month in (1, 2, 11):
        return 0.9
    return 1.0


def _local_summer(month: int, latitude: float) -> bool:
    return month in ((6, 7, 8) if latitude >= 0 else (12, 1, 2))


def round_trip_fare_usd(origin: Place, destination: Place, month: int | None) -> tuple[float, float]:
    """(fare per person in USD, distance in km) for a round trip in economy."""
    km = haversine_km(origin.latitude, origin.longitude, destination.latitude, destination.longitude)
    fare = 2 * (45 + 0.085 * min(km, 2000.0) + 0.045 * max(0.0, km - 2000.0)) * season_factor_flights(month)
    return fare, km


def one_way_fare_usd(origin: Place, destination: Place, month: int | None) -> tuple[float, float]:
    """Half a round trip: for the legs of a multi-city itinerary."""
    fare, km = round_trip_fare_usd(origin, destination, month)
    return fare / 2, km


def flight_hours(km: float) -> float:
    """Rough block time: 800 km/h cruise plus 40 minutes for take-off and landing."""
    return km / 800 + 0.67


def nightly_rate_usd(place: Place, month: int | None, hotel_class: str = "mid-range") -> float:
    """One room, one night."""
    season = 1.2 if month and _local_summer(month, place.latitude) else 1.0
    return 110 * place.cost_index * HOTEL_CLASSES.get(hotel_class, 1.0) * season


def daily_spend_usd(place: Place, pace: str = "moderate") -> float:
    """Food, local transport and sights for one traveller for one day."""
    return 60 * place.cost_index * PACE_FACTORS.get(pace, 1.0)


def _feel(high: float) -> str:
    return "hot" if high >= 28 else "warm" if high >= 21 else "mild" if high >= 14 else "cool" if high >= 6 else "cold"


def _rain_hint(mm: float, tropical: bool) -> str:
    if tropical and mm >= 150:
        return "rainy season: expect tropical showers"
    if mm < 20:
        return "usually dry"
    if mm < 50:
        return "a few showers"
    if mm < 100:
        return "some rainy days: pack a light rain layer"
    return "a wet month: expect frequent rain"


def typical_weather(place: Place, month: int) -> dict[str, object]:
    """Typical conditions: climate normals for curated places, the latitude model (labelled) elsewhere."""
    climate = place.destination.climate if place.destination else None
    if climate is not None:
        high, low, mm = climate.high_c[month - 1], climate.low_c[month - 1], climate.rain_mm[month - 1]
        return {"avg_high_c": round(high), "avg_low_c": round(low), "rain_mm": round(mm), "description": _feel(high),
                "rain": _rain_hint(mm, abs(place.latitude) < 23.5), "basis": "climate normals",
                "source": f"monthly climate normals for {climate.station}"}
    return {**_latitude_weather(place, month), "basis": "latitude model",
            "source": "estimated from latitude and season (no climate normals for this place)"}


def _latitude_weather(place: Place, month: int) -> dict[str, object]:
    """The fallback: typical daytime conditions from latitude and season."""
    lat = abs(place.latitude)
    annual_mean = 30.0 - 0.35 * lat
    amplitude = 0.16 * lat
    phase = (month - 7) if place.latitude >= 0 else (month - 1)
    mean = annual_mean + amplitude * math.cos(2 * math.pi * phase / 12)
    high, low = round(mean + 4), round(mean - 4)
    feel = _feel(high)
    if lat < 23.5:
        wet = month in ((5, 6, 7, 8, 9, 10) if place.latitude >= 0 else (11, 12, 1, 2, 3, 4))
        rain = "rainy season: expect tropical showers" if wet else "drier season"
    else:
        rain = "some rain is possible; pack a light layer" if feel in ("mild", "cool") else (
            "mostly dry spells" if feel in ("warm", "hot") else "cold: pack warm layers")
    return {"avg_high_c": high, "avg_low_c": low, "description": feel, "rain": rain}
