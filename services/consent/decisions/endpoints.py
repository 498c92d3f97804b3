"""`POST /decisions` and `GET /revision`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.consent import persons, revision
from services.consent.decisions.schemas import DecisionRequest, RevisionOut
from services.consent.decisions.service import make_decision, validate
from services.consent.models import PersonMerge
from services.consent.policy.outcome import Decision
from services.consent.refusals import refuse
from services.consent.runtime import Runtime
from shared.app import Context
from shared.auth import Principal, ServiceCaller, require_roles
from shared.db import SessionDep
from shared.errors import Conflict, Forbidden
from shared.events.envelope import utcnow

router = APIRouter(tags=["decisions"])

Asker = Annotated[Principal, Depends(require_roles("service", "caseworker", "ig_officer"))]


@router.post("/decisions", response_model=Decision)
def post_decision(
    req: DecisionRequest, user: Asker, session: SessionDep, ctx: Context, runtime: Runtime
) -> Decision:
    """May the disclosing agency share these categories about the person with the recipient,
    for this purpose, now, and on what basis? Every answer is audited."""
    recipient_type = validate(req)
    refusal = None
    if req.person_id is not None and not user.has("service"):
        refusal = Forbidden(
            "Only services may name a person by internal id.", slug="person-id-for-services"
        )
    elif not user.has("service") and user.agency != req.disclosing_agency:
        refusal = Forbidden(
            "You may ask only about sharing by your own agency.", slug="wrong-agency"
        )
    if refusal is not None:
        refuse(
            session,
            ctx,
            user,
            refusal,
            action="consent.decision",
            resource="decision",
            person_ref=req.person,
        )
    person_id = req.person_id
    if person_id is not None and session.get(PersonMerge, person_id) is not None:
        refuse(
            session,
            ctx,
            user,
            Conflict(
                "That person was merged into another; ask about the survivor.",
                slug="person-merged",
            ),
            action="consent.decision",
            resource="decision",
            person_id=person_id,
        )
    if person_id is None:
        assert req.person is not None
        try:
            person_id = persons.resolve(ctx, agency=req.disclosing_agency, pseudonym=req.person)
        except Forbidden as exc:
            refuse(
                session,
                ctx,
                user,
                exc,
                action="consent.decision",
                resource="decision",
                person_ref=req.person,
            )
    return make_decision(
        session,
        ctx.events,
        runtime,
        user,
        req,
        person_id=person_id,
        recipient_type=recipient_type,
        now=utcnow(),
    )


@router.get("/revision", response_model=RevisionOut)
def get_revision(
    user: ServiceCaller, session: SessionDep, person_id: str = Query(min_length=1, max_length=64)
) -> RevisionOut:
    """How current the policy state is, overall and for one person (P6)."""
    return RevisionOut(**revision.for_person(session, person_id))
