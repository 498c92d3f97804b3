"""Re-deciding referrals an event may have restricted, so that the recipient is told at once.

The read path never depends on this (it re-checks by itself); this is what marks referrals
restricted or revoked and emits the events that tell the recipient. Referrals whose stored
decision has passed its `valid_until` are queued too, whatever the consent sweep does.
Consent being unreachable leaves the queue as it is, to be retried.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from services.referral import queries, upstream
from services.referral.enforcement import apply_decision
from services.referral.rules import DISCLOSING, restrict
from shared.app import ServiceContext
from shared.errors import Problem
from shared.events.envelope import utcnow

log = logging.getLogger(__name__)

BATCH = 100


def reevaluate_pending(ctx: ServiceContext) -> int:
    """One round over the queue; returns how many referrals it settled."""
    with ctx.db.session() as s:
        expired = queries.open_referrals_past_validity(s, utcnow(), BATCH)
        if expired:
            queries.queue_reevaluation(s, expired, "valid_until_passed", None)
    with ctx.db.session() as s:
        pending = [(p.referral_id, p.revision) for p in queries.pending_reevaluations(s, BATCH)]
    done = 0
    for referral_id, revision in pending:
        try:
            reevaluate(ctx, referral_id, revision)
        except Problem as exc:
            log.warning("re-evaluation of %s postponed: %s", referral_id, exc.detail)
            if exc.slug == "retry":
                continue  # this referral's person is moving: the others need not wait for it
            return done  # a dependency is down: the rest would fail the same way
        done += 1
    return done


def reevaluate(ctx: ServiceContext, referral_id: str, queued_revision: int | None) -> None:
    with ctx.db.session() as s:
        seen = queries.get_referral(s, referral_id)
    decision = None
    if seen is not None and seen.status in DISCLOSING and seen.shared_categories:
        decision = upstream.decide(
            ctx,
            person_id=seen.person_id,
            disclosing_agency=seen.from_agency,
            recipient_agency=seen.to_agency,
            purpose=seen.purpose,
            categories=seen.shared_categories,
        )
        if restrict(seen.shared_categories, decision).changed:
            upstream.confirm_person(ctx, seen)
    with ctx.db.session() as s:
        pending = s.get(queries.PendingReevaluation, referral_id)
        referral = queries.get_referral(s, referral_id, lock=True)
        if referral is not None and seen is not None and referral.person_id != seen.person_id:
            return  # moved by a merge meanwhile: the queued entry is re-run for the new person
        if (
            decision is not None
            and referral is not None
            and referral.status in DISCLOSING
            and decision.revision >= referral.decision_revision
        ):
            apply_decision(
                s, ctx.events, referral, decision, actor="consent-event", trigger="event"
            )
        settled = (
            decision is None or pending is None or (pending.revision or 0) <= decision.revision
        )
        if pending is not None and settled:
            s.delete(pending)


async def run_reevaluation(ctx: ServiceContext, wake: threading.Event, interval: float) -> None:
    while True:
        await asyncio.to_thread(wake.wait, interval)
        wake.clear()
        await asyncio.to_thread(reevaluate_pending, ctx)
