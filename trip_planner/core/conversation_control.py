"""Conversation control from any platform: trip commands, "forget me", and feedback (reactions
and buttons) on the bot's answers.

Part of `TripPlannerRunner` (a base class of it, for the size of one module).
"""

from __future__ import annotations

import logging

from trip_planner.core import replies
from trip_planner.core.erasure import find_user_ids, forget_locked
from trip_planner.core.messages import Reaction, ReactionOutcome
from trip_planner.core.turns import Turns

log = logging.getLogger(__name__)

# How long a reaction waits for the same user's answer to finish posting (see PostingGate).
DELIVERY_WAIT_S = 15.0

THUMBS_UP = {"+1", "thumbsup", "👍"}
THUMBS_DOWN = {"-1", "thumbsdown", "👎"}


def reaction_kind(emoji: str) -> str | None:
    """Normalise platform emoji names: '+1::skin-tone-3' and '👍🏽' are both a thumbs-up."""
    base = emoji.split("::", 1)[0].strip(":")
    base = "".join(ch for ch in base if not 0x1F3FB <= ord(ch) <= 0x1F3FF)  # skin tone modifiers
    if base in THUMBS_UP:
        return "satisfied"
    if base in THUMBS_DOWN:
        return "unsatisfied"
    return None


class ConversationControl(Turns):
    async def end_conversation(self, user_id: str, feedback: str | None = "satisfied") -> bool:
        async with self.locks.hold(user_id):
            return await self.sessions.end_conversation(user_id, feedback) is not None

    async def new_conversation(self, user_id: str) -> str:
        async with self.locks.hold(user_id):
            await self.sessions.create_new_session(user_id)
            record = await self.sessions.current_conversation(user_id)
            assert record is not None
            return record.conversation_id

    async def command(self, user_id: str, word: str) -> str:
        """A trip command from any platform ("new" or "end"), answered with the words to show."""
        if word == "new":
            async with self.locks.hold(user_id):
                return (await self._restart(user_id)).text
        ended = await self.end_conversation(user_id, "satisfied")
        return replies.SATISFIED if ended else replies.NOTHING_TO_END

    async def forget(self, patterns: list[str]) -> str:
        """Erase a person ("forget me"): every session user id matching their platform identity's
        `patterns`, ours and ADK's rows in one transaction under their locks, then their Opik threads.
        Returns the words to confirm it."""
        engine, app_name = self.sessions.engine, self.settings.app_name
        user_ids = await find_user_ids(engine, patterns, app_name=app_name)
        erased = await forget_locked(self.locks, engine, user_ids, app_name=app_name)
        traces_erased = await self.tracer.delete_threads(list(erased.conversation_ids))
        log.info("Erased a person on request: %d ids, %d conversations", len(erased.user_ids), len(erased.conversation_ids))
        if not traces_erased:
            log.warning("Erased conversations still in Opik: %s", ", ".join(erased.conversation_ids))
            return replies.FORGOTTEN_TRACES_LEFT
        return replies.FORGOTTEN

    async def remember_answer(self, *, user_id: str, conversation_id: str, message_ref: str) -> None:
        """Adapters call this with each platform message that carries an answer, for reactions."""
        await self.sessions.store.remember_message(
            message_ref=message_ref, conversation_id=conversation_id, user_id=user_id
        )

    async def conversation_of(self, message_ref: str, *, user_id: str | None = None) -> str | None:
        """The conversation a remembered platform message belongs to (None when unknown).

        With `user_id`, answers that user is being sent in this process are recorded first: a person
        can react to (or reply under) an answer before the adapter has stored its message id.
        """
        if user_id is not None and not await self.deliveries.gate.settled(user_id, timeout_s=DELIVERY_WAIT_S):
            log.warning("An answer to %s is still being posted; looking up %s without it", user_id, message_ref)
        return await self.sessions.store.conversation_for_message(message_ref=message_ref)

    async def react(self, reaction: Reaction, *, button: bool = False) -> ReactionOutcome:
        """A thumbs-up ends the conversation as satisfied; a thumbs-down records it and keeps it open.

        Only the conversation's own user, on one of the bot's answers in the current conversation.
        Feedback buttons (`button=True`) take the same path, and two more rules, because a click is
        not a toggle the platform keeps like an emoji: a stranger's click is "not_owner" (the adapter
        tells them, privately), and the same button clicked again on the same answer is "ignored".
        """
        kind = reaction_kind(reaction.emoji)
        if kind is None:
            return "ignored"
        if button:
            owner = await self._owner(reaction)
            if owner is None:
                return "ignored"
            if owner != reaction.user_id:
                return "not_owner"
        conversation_id = await self.conversation_of(reaction.message_ref, user_id=reaction.user_id)
        if conversation_id is None:
            return "ignored"
        async with self.locks.hold(reaction.user_id):
            current = await self.sessions.current_conversation(reaction.user_id)
            if current is None or current.conversation_id != conversation_id:
                return "ignored"
            if button and not await self.sessions.store.claim_feedback(
                message_ref=reaction.message_ref, kind=kind, conversation_id=conversation_id, user_id=reaction.user_id
            ):
                return "ignored"
            if kind == "satisfied":
                await self.sessions.end_conversation(reaction.user_id, "satisfied")
                self.metrics.feedback_given(reaction.user_id, "satisfied")
                return "satisfied"
            await self.sessions.record_feedback(conversation_id, "unsatisfied")
            self.metrics.feedback_given(reaction.user_id, "unsatisfied")
            return "unsatisfied"

    async def _owner(self, reaction: Reaction) -> str | None:
        """The session user id whose conversation the reacted-to answer belongs to (None: unknown)."""
        if not await self.deliveries.gate.settled(reaction.user_id, timeout_s=DELIVERY_WAIT_S):
            log.warning("An answer is still being posted; looking up %s without it", reaction.message_ref)
        found = await self.sessions.store.owner_of_message(message_ref=reaction.message_ref)
        return found[1] if found is not None else None
