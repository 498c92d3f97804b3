"""The scheduled sweep: announces consent expiries, lapsed agreements and reviews falling due.

Decisions never depend on it (expiry is checked against the clock in every decision); the
sweep only tells the world, as events, once each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlmodel import select

from services.consent import revision
from services.consent.agreements.service import expire
from services.consent.events import AgreementReviewDue, ConsentExpired
from services.consent.models import Agreement, Consent
from services.consent.runtime import runtime_of
from shared.app import ServiceContext
from shared.db import Database
from shared.events.envelope import utcnow
from shared.events.outbox import EventWriter

log = logging.getLogger(__name__)

# Expiries announced per transaction: small, because on SQLite the sweep holds the one write
# lock that decisions wait for; a full batch means more are due and the next pass follows.
BATCH = 50


def sweep_once(
    db: Database, events: EventWriter, *, now: datetime, review_notice: timedelta
) -> dict[str, int]:
    """One pass, one transaction. Returns how many of each were announced."""
    counts = {"consents_expired": 0, "agreements_expired": 0, "reviews_due": 0}
    with db.session() as session:
        due = session.exec(
            select(Consent)
            .where(
                Consent.status == "active",
                Consent.expires_at <= now,  # type: ignore[arg-type]
                Consent.expiry_announced_at.is_(None),  # type: ignore[union-attr]
            )
            .limit(BATCH)
        ).all()
        for head in due:
            rev = revision.bump(session, person_id=head.person_id)
            head.expiry_announced_at = now
            session.add(head)
            events.emit(
                session,
                ConsentExpired(
                    consent_id=head.id,
                    version=head.version,
                    person_id=head.person_id,
                    expired_at=head.expires_at,
                    revision=rev,
                ),
                key=head.person_id,
            )
            counts["consents_expired"] += 1
        lapsed = session.exec(
            select(Agreement).where(
                Agreement.status.in_(["active", "suspended"]),  # type: ignore[attr-defined]
                Agreement.ends_at <= now,  # type: ignore[arg-type]
            )
        ).all()
        for agreement in lapsed:
            expire(session, events, agreement, now=now)
            counts["agreements_expired"] += 1
        reviews = session.exec(
            select(Agreement).where(
                Agreement.status.in_(["active", "suspended"]),  # type: ignore[attr-defined]
                Agreement.review_at <= now + review_notice,  # type: ignore[arg-type]
            )
        ).all()
        for agreement in reviews:
            if agreement.review_announced_for == agreement.review_at:
                continue
            agreement.review_announced_for = agreement.review_at
            agreement.revision = revision.bump(session, agreements=True)
            session.add(agreement)
            events.emit(
                session,
                AgreementReviewDue(
                    agreement_id=agreement.id,
                    review_at=agreement.review_at,
                    parties=agreement.parties,
                    revision=agreement.revision,
                ),
                key=agreement.id,
            )
            counts["reviews_due"] += 1
    return counts


def sweeper(ctx: ServiceContext) -> Callable[[], Awaitable[None]]:
    """The background job: sweep at the configured interval, for as long as the service runs."""

    async def run() -> None:
        own = runtime_of(ctx).own
        while True:
            try:
                counts = await asyncio.to_thread(
                    sweep_once,
                    ctx.db,
                    ctx.events,
                    now=utcnow(),
                    review_notice=timedelta(days=own.review_notice_days),
                )
                if any(counts.values()):
                    log.info("sweep announced %s", counts)
                if counts["consents_expired"] == BATCH:
                    # More are due: go on soon, but leave the write lock to decisions most of
                    # the time (a pass takes tens of milliseconds; ~100 announcements a second).
                    await asyncio.sleep(0.5)
                    continue
            except Exception:
                log.exception("consent sweep failed; will retry")
            await asyncio.sleep(own.sweep_interval_seconds)

    return run
