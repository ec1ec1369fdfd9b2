"""The embedded offline planner: a deterministic ADK model that needs no network and no key.

It reads the whole conversation from the request, derives the trip's facts from everything the
traveller said, calls the concierge's tools through real function calls (so ADK runs them and tracing
sees them), and writes the answer in Markdown from the tools' results.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncGenerator
from typing import Any

from google.adk.models import BaseLlm, LlmRequest, LlmResponse
from google.genai import types

from trip_planner.agents.destinations import DESTINATIONS
from trip_planner.agents.tools import MONTHS as _MONTHS
from trip_planner.models.facts import TripFacts, facts_from_messages

_WEATHER = re.compile(r"\b(weather|temperature|rain|sunny|warm|cold|climate|hot)\b", re.IGNORECASE)
_BUDGET = re.compile(r"\b(budget|cost|costs|afford|price|expensive|cheap|money|spend)\b|\$", re.IGNORECASE)
_GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b", re.IGNORECASE)


def _user_texts(contents: list[types.Content]) -> list[str]:
    texts = []
    for content in contents:
        if content.role != "user" or not content.parts:
            continue
        text = " ".join(p.text for p in content.parts if p.text)
        if text.strip():
            texts.append(text)
    return texts


def _tool_results_since_last_user_text(contents: list[types.Content]) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for content in reversed(contents):
        parts = content.parts or []
        if content.role == "user" and any(p.text for p in parts):
            break
        for part in parts:
            if part.function_response is not None:
                results[part.function_response.name or ""] = dict(part.function_response.response or {})
    return results


class OfflinePlannerModel(BaseLlm):
    model: str = "offline-planner"

    @classmethod
    def supported_models(cls) -> list[str]:
        return [r"offline-planner"]

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        contents = list(llm_request.contents or [])
        texts = _user_texts(contents)
        latest = texts[-1] if texts else ""
        facts = facts_from_messages(texts)
        results = _tool_results_since_last_user_text(contents)
        wanted = self._tools_for(latest, facts)
        for name, args in wanted:
            if name not in results:
                yield _call(name, args, latest)
                return
        yield _text(self._answer(latest, facts, results), latest)

    # -- which tools a turn needs -----------------------------------------------------------------

    @staticmethod
    def _intent(latest: str) -> str:
        if _WEATHER.search(latest):
            return "weather"
        if _BUDGET.search(latest):
            return "budget"
        return "plan"

    def _tools_for(self, latest: str, facts: TripFacts) -> list[tuple[str, dict[str, Any]]]:
        if facts.destination is None:
            return []
        city = facts.destination
        budget_args: dict[str, Any] = {"city": city, "days": facts.days or 5, "travellers": facts.travellers or 1}
        if facts.budget_usd is not None:
            budget_args["budget_usd"] = facts.budget_usd
        intent = self._intent(latest)
        if intent == "weather":
            return [("get_typical_weather", {"city": city, "month": facts.month})] if facts.month else []
        if intent == "budget":
            return [("estimate_trip_budget", budget_args)]
        calls: list[tuple[str, dict[str, Any]]] = [("get_destination_overview", {"city": city})]
        if facts.month:
            calls.append(("get_typical_weather", {"city": city, "month": facts.month}))
        calls.append(("estimate_trip_budget", budget_args))
        return calls

    # -- the answer -----------------------------------------------------------------------------

    def _answer(self, latest: str, facts: TripFacts, results: dict[str, dict[str, Any]]) -> str:
        if facts.destination is None:
            if facts.unknown_place:
                known = ", ".join(sorted(d.name for d in DESTINATIONS.values())[:12])
                return (
                    f"I don't know **{facts.unknown_place}** yet. Could you pick a city I know, "
                    f"for example {known}?"
                )
            if _GREETING.match(latest):
                return "Hello! I'm your trip planner. **Where would you like to go**, and when?"
            return "Where would you like to go? Tell me a city, and when you'd like to travel."
        city = facts.destination
        when = self._when(facts)
        lines: list[str] = []
        intent = self._intent(latest)
        if intent == "weather" and not facts.month:
            return f"Which month are you thinking of for **{city}**? I'll tell you the typical weather then."
        lines.append(f"### {city}{' in ' + when if when else ''}")
        past = self._past_note(facts)
        if past:
            lines.append(past)
        overview = results.get("get_destination_overview")
        if overview and overview.get("status") == "ok":
            lines.append(
                f"- **Where:** {overview['city']}, {overview['country']} · currency {overview['currency']} · "
                f"{overview['cost_level']} by global standards"
            )
        weather = results.get("get_typical_weather")
        if weather and weather.get("status") == "ok":
            lines.append(
                f"- **Weather in {weather['month']}:** typically {weather['description']}, around "
                f"{weather['avg_high_c']}°C by day and {weather['avg_low_c']}°C at night (estimate, not a forecast)"
            )
        budget = results.get("estimate_trip_budget")
        if budget and budget.get("status") == "ok":
            lines.extend(self._budget_lines(budget))
        missing = []
        if not facts.month:
            missing.append("when you'd like to go")
        if not facts.days:
            missing.append("how many days")
        if facts.budget_usd is None:
            missing.append("your budget")
        if missing:
            lines.append(f"\nTo sharpen the plan, tell me {', '.join(missing[:-1]) + ' and ' if len(missing) > 1 else ''}{missing[-1]}.")
        return "\n".join(lines)

    @staticmethod
    def _when(facts: TripFacts) -> str:
        if facts.month and facts.year:
            return f"{facts.month} {facts.year}"
        return facts.month or ""

    @staticmethod
    def _past_note(facts: TripFacts) -> str | None:
        if not (facts.month and facts.year):
            return None
        month_num = [m.lower() for m in _MONTHS].index(facts.month.lower()) + 1
        today = dt.date.today()
        if (facts.year, month_num) >= (today.year, today.month):
            return None
        next_year = today.year if month_num > today.month else today.year + 1
        return f"_Note: {facts.month} {facts.year} has already passed; I'm assuming {facts.month} {next_year}._"

    @staticmethod
    def _budget_lines(budget: dict[str, Any]) -> list[str]:
        people = f" for {budget['travellers']} travellers" if budget["travellers"] > 1 else ""
        lines = [
            f"- **Estimated cost{people}:** about ${budget['daily_usd']:,} a day, "
            f"${budget['total_usd']:,} for {budget['days']} days (lodging, food, local transport; flights "
            "not included; an estimate, not a quote)"
        ]
        if "budget_usd" in budget:
            if budget["budget_covers_stay"]:
                spare = budget["budget_usd"] - budget["total_usd"]
                lines.append(
                    f"- **Your budget of ${budget['budget_usd']:,.0f}** covers that, leaving about ${spare:,.0f} "
                    "towards flights and extras."
                )
            else:
                lines.append(
                    f"- **Your budget of ${budget['budget_usd']:,.0f}** covers about {budget['affordable_days']} "
                    f"days at this level; consider fewer days or a cheaper area."
                )
        return lines


def _usage(prompt: str, output: str) -> types.GenerateContentResponseUsageMetadata:
    # Word counts stand in for tokens so usage metrics and traces have numbers to show.
    p, o = len(prompt.split()), len(output.split())
    return types.GenerateContentResponseUsageMetadata(
        prompt_token_count=p, candidates_token_count=o, total_token_count=p + o
    )


def _call(name: str, args: dict[str, Any], prompt: str) -> LlmResponse:
    return LlmResponse(
        content=types.Content(role="model", parts=[types.Part(function_call=types.FunctionCall(name=name, args=args))]),
        usage_metadata=_usage(prompt, name),
    )


def _text(text: str, prompt: str) -> LlmResponse:
    return LlmResponse(
        content=types.Content(role="model", parts=[types.Part(text=text)]), usage_metadata=_usage(prompt, text)
    )
