"""The consumer of the identity, consent and referral topics that feeds partners."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event as sa_event
from sqlmodel import Session

from services.partner.routing.concerns import DELIVERABLE_TYPES
from services.partner.routing.fanout import route_events
from services.partner.routing.pseudonyms import Pseudonyms, identity_fetch
from shared.app import ServiceContext
from shared.events.consumer import EventConsumer
from shared.events.envelope import CloudEvent

SOURCES = ("identity", "consent", "referral")


class PartnerRouter(EventConsumer):
    """Routes each batch in one transaction; wakes the delivery worker once it commits."""

    def __init__(self, ctx: ServiceContext, wake: Callable[[], None]) -> None:
        super().__init__(
            "partner-router",
            [ctx.settings.topic(s) for s in SOURCES],
            ctx.db,
            ctx.settings,
        )
        self.pseudonyms = Pseudonyms(identity_fetch(ctx))
        self.wake = wake

    def wants(self, event_type: str) -> bool:
        return event_type in DELIVERABLE_TYPES

    def handle_batch(self, session: Session, events: list[CloudEvent]) -> None:
        if route_events(session, events, self.pseudonyms):
            sa_event.listen(session, "after_commit", lambda _s: self.wake(), once=True)
