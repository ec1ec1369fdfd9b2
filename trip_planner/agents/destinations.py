"""A small embedded table of destinations (a first version; the planner issue widens it).

Numbers are inputs to stated estimate models, not quotes: `cost_index` scales a mid-range daily spend
of 100 USD per person, and temperatures come from latitude and month.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Destination:
    name: str
    country: str
    latitude: float
    longitude: float
    currency: str
    cost_index: float


DESTINATIONS: dict[str, Destination] = {
    d.name.lower(): d
    for d in (
        Destination("Paris", "France", 48.86, 2.35, "EUR", 1.35),
        Destination("London", "United Kingdom", 51.51, -0.13, "GBP", 1.5),
        Destination("Lisbon", "Portugal", 38.72, -9.14, "EUR", 0.95),
        Destination("Rome", "Italy", 41.90, 12.50, "EUR", 1.15),
        Destination("Barcelona", "Spain", 41.39, 2.17, "EUR", 1.05),
        Destination("Madrid", "Spain", 40.42, -3.70, "EUR", 1.0),
        Destination("Berlin", "Germany", 52.52, 13.40, "EUR", 1.1),
        Destination("Amsterdam", "Netherlands", 52.37, 4.90, "EUR", 1.35),
        Destination("Prague", "Czechia", 50.08, 14.44, "CZK", 0.8),
        Destination("Vienna", "Austria", 48.21, 16.37, "EUR", 1.15),
        Destination("Athens", "Greece", 37.98, 23.73, "EUR", 0.85),
        Destination("Istanbul", "Türkiye", 41.01, 28.98, "TRY", 0.7),
        Destination("Reykjavik", "Iceland", 64.15, -21.94, "ISK", 1.7),
        Destination("New York", "United States", 40.71, -74.01, "USD", 1.7),
        Destination("San Francisco", "United States", 37.77, -122.42, "USD", 1.65),
        Destination("Mexico City", "Mexico", 19.43, -99.13, "MXN", 0.65),
        Destination("Rio de Janeiro", "Brazil", -22.91, -43.17, "BRL", 0.7),
        Destination("Buenos Aires", "Argentina", -34.60, -58.38, "ARS", 0.6),
        Destination("Tokyo", "Japan", 35.68, 139.69, "JPY", 1.2),
        Destination("Kyoto", "Japan", 35.01, 135.77, "JPY", 1.1),
        Destination("Seoul", "South Korea", 37.57, 126.98, "KRW", 1.0),
        Destination("Bangkok", "Thailand", 13.76, 100.50, "THB", 0.55),
        Destination("Singapore", "Singapore", 1.35, 103.82, "SGD", 1.4),
        Destination("Bali", "Indonesia", -8.34, 115.09, "IDR", 0.55),
        Destination("Sydney", "Australia", -33.87, 151.21, "AUD", 1.4),
        Destination("Cape Town", "South Africa", -33.92, 18.42, "ZAR", 0.65),
        Destination("Marrakech", "Morocco", 31.63, -7.99, "MAD", 0.6),
        Destination("Dubai", "United Arab Emirates", 25.20, 55.27, "AED", 1.4),
    )
}
