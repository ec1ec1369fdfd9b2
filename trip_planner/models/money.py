"""Money in a message: amounts with symbols or currency words, in any common number format
("€1.500", "2.500,50 €", "2,5k GBP", "300,000 yen"), a budget raised or cut by an amount, and the
currency the traveller wants prices in.

Why `price-parser` for the number: it reads both decimal conventions; the bounded patterns here only
find where an amount is and which currency it is in.
"""

from __future__ import annotations

import re
from typing import Any

from trip_planner.agents import estimates as est
from trip_planner.models.window import before as _before

CURRENCY_WORDS = {
    "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "quid": "GBP", "jpy": "JPY", "yen": "JPY", "chf": "CHF",
    "franc": "CHF", "francs": "CHF", "cad": "CAD", "aud": "AUD", "nzd": "NZD", "sek": "SEK", "nok": "NOK",
    "dkk": "DKK", "czk": "CZK", "pln": "PLN", "huf": "HUF", "try": "TRY", "mxn": "MXN", "brl": "BRL",
    "inr": "INR", "rupees": "INR", "cny": "CNY", "yuan": "CNY", "hkd": "HKD", "sgd": "SGD", "thb": "THB",
    "baht": "THB", "krw": "KRW", "won": "KRW", "zar": "ZAR", "rand": "ZAR", "aed": "AED", "dirhams": "AED",
    "isk": "ISK", "reais": "BRL", "real": "BRL", "pesos": "MXN", "lira": "TRY", "forint": "HUF", "zloty": "PLN",
    "zlotys": "PLN", "koruna": "CZK", "crowns": "CZK", "kronor": "SEK", "kroner": "NOK",
}

DOLLAR_KINDS = {"canadian": "CAD", "australian": "AUD", "new zealand": "NZD", "singapore": "SGD", "hong kong": "HKD"}

SYMBOLS = {"US$": "USD", "A$": "AUD", "C$": "CAD", "NZ$": "NZD", "S$": "SGD", "HK$": "HKD", "R$": "BRL", "$": "USD",
            "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW", "฿": "THB"}

CODE_ALT = "|".join(sorted(CURRENCY_WORDS, key=len, reverse=True))

# "1 500 €", "2 000 000 KRW": thousands grouped with (narrow) spaces, as in French and Nordic usage.
_GROUPED = r"\d{1,3}(?:[ \u00a0\u202f]\d{3}){1,4}(?:[.,]\d{1,2})?(?!\d)"
# Upper-case ISO codes before the number ("CHF 2000"); case-sensitive, so "try 2 days" is not lira.
_ISO_ALT = "USD|EUR|GBP|CHF|CAD|AUD|NZD|JPY|SEK|NOK|DKK|CZK|PLN|HUF|MXN|BRL|INR|CNY|HKD|SGD|THB|KRW|ZAR|AED|ISK|TRY"
MONEY = re.compile(
    r"(?P<sym>US\$|A\$|C\$|NZ\$|S\$|HK\$|R\$|\$|€|£|¥|₹|₩|฿)\s?(?P<num1>\d[\d,.]{0,15})(?P<k1>\s?k\b)?"
    rf"|(?<![\d,.])(?P<num2>{_GROUPED}|\d[\d,.]{{0,15}})(?P<k2>\s?k\b)?\s?(?P<kind>(?:canadian|australian|new zealand|singapore|hong kong)\s{{1,3}})?(?P<code>{CODE_ALT})\b"
    rf"|(?<![\d,.])(?P<num3>{_GROUPED}|\d[\d,.]{{0,15}})(?P<k3>\s?k)?\s?(?P<sym3>€|£|\$|¥)"
    rf"|(?-i:\b(?P<code4>{_ISO_ALT}))\s?(?P<num4>{_GROUPED}|\d[\d,.]{{0,15}})(?P<k4>\s?k\b)?",
    re.IGNORECASE,
)

BARE_BUDGET = re.compile(r"\bbudget\b(?:\s+(?:of|is|to|at|around|about|be|was))*\s+(?P<num>\d[\d,.]{0,15})(?P<k>\s?k\b)?", re.IGNORECASE)

PREF_CURRENCY = re.compile(
    rf"\b(?:prices?|costs?|amounts?|everything|numbers?|figures?)\s+in\s+(?P<a>{CODE_ALT})\b"
    rf"|\b(?:my currency is|convert (?:it |everything )?(?:to|into)|use|in)\s+(?P<b>{CODE_ALT})\s*(?:please|instead|from now on|\.|!|$)",
    re.IGNORECASE,
)

def parse_amount(raw: str, k: str | None) -> float | None:
    from price_parser import Price

    value = Price.fromstring(raw.rstrip(".,")).amount_float
    if value is None:
        return None
    return value * 1000 if k else value


def budget(text: str, trip: dict[str, Any], prefs: dict[str, Any]) -> tuple[float, str] | None:
    current = trip.get("budget") or {}
    default_currency = current.get("currency") or prefs.get("currency") or "USD"
    mentions = []
    for m in MONEY.finditer(text):
        if re.match(r"\s*(per|a|an|each)\s+(night|day|person)\b", text[m.end():], re.IGNORECASE):
            continue
        if m.group("sym"):
            amount = parse_amount(m.group("num1"), m.group("k1"))
            currency = SYMBOLS[m.group("sym").upper()]
        elif m.group("sym3"):
            amount = parse_amount(m.group("num3"), m.group("k3"))
            currency = SYMBOLS[m.group("sym3")]
        elif m.group("code4"):
            amount = parse_amount(m.group("num4"), m.group("k4"))
            currency = m.group("code4")
        else:
            amount = parse_amount(m.group("num2"), m.group("k2"))
            word = m.group("code").lower()
            currency = CURRENCY_WORDS[word]
            if currency == "USD" and m.group("kind"):
                currency = DOLLAR_KINDS.get(m.group("kind").strip().lower(), "USD")
        if amount:
            mentions.append((amount, currency, m.start()))
    if not mentions:
        bare = BARE_BUDGET.search(text)
        if bare:
            amount = parse_amount(bare.group("num"), bare.group("k"))
            if amount:
                mentions.append((amount, default_currency, bare.start()))
    if not mentions:
        if re.search(r"\bdouble (my|our|the) budget\b", text, re.IGNORECASE) and current:
            return current["amount"] * 2, current["currency"]
        return None
    amount, currency, start = mentions[-1]
    before = _before(text, start)
    if current and re.search(r"\b(increase|raise|add|up|bump|extend|more)\b.*\bby\s+$|\bextra\s+$|\badd(ing)?\s+(another\s+)?$",
                             before, re.IGNORECASE):
        return current["amount"] + est.convert(amount, currency, current["currency"]), current["currency"]
    if current and re.search(r"\b(reduce|cut|lower|decrease|drop|less)\b.*\bby\s+$", before, re.IGNORECASE):
        return max(1.0, current["amount"] - est.convert(amount, currency, current["currency"])), current["currency"]
    return amount, currency
