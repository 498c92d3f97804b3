"""Agreement endpoints: information governance officers keep the register."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from services.consent.agreements import service
from services.consent.agreements.schemas import AgreementIn, AgreementOut
from shared.app import Events
from shared.auth import IgOfficer, Principal, require_roles
from shared.db import SessionDep
from shared.events.envelope import utcnow

router = APIRouter(prefix="/agreements", tags=["agreements"])

Reader = Annotated[
    Principal, Depends(require_roles("ig_officer", "caseworker", "auditor", "service"))
]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AgreementOut)
def register_agreement(body: AgreementIn, officer: IgOfficer, session: SessionDep) -> AgreementOut:
    """Register a draft agreement your agency is a party to."""
    return service.to_out(session, service.register(session, officer, body, now=utcnow()))


@router.get("", response_model=list[AgreementOut])
def list_agreements(
    user: Reader, session: SessionDep, status_: str | None = Query(default=None, alias="status")
) -> list[AgreementOut]:
    """The register (agreements name agencies, not people: any staff role may read it)."""
    from sqlmodel import select

    from services.consent.models import Agreement

    query = select(Agreement).order_by(Agreement.created_at)  # type: ignore[arg-type]
    if status_:
        query = query.where(Agreement.status == status_)
    return [service.to_out(session, a) for a in session.exec(query).all()]


@router.get("/{agreement_id}", response_model=AgreementOut)
def read_agreement(agreement_id: str, user: Reader, session: SessionDep) -> AgreementOut:
    return service.to_out(session, service.get(session, agreement_id))


@router.post("/{agreement_id}/approve", response_model=AgreementOut)
def approve_agreement(agreement_id: str, officer: IgOfficer, session: SessionDep) -> AgreementOut:
    """Approve on behalf of your agency; approved once every party has."""
    agreement = service.approve(session, officer, service.get(session, agreement_id), now=utcnow())
    return service.to_out(session, agreement)


def _transition(action: str):  # type: ignore[no-untyped-def]
    def endpoint(
        agreement_id: str, officer: IgOfficer, session: SessionDep, events: Events
    ) -> AgreementOut:
        agreement = service.transition(
            session, events, officer, service.get(session, agreement_id), action, now=utcnow()
        )
        return service.to_out(session, agreement)

    endpoint.__name__ = f"{action}_agreement"
    endpoint.__doc__ = f"{action.capitalize()} the agreement (an ig_officer of a party)."
    return endpoint


for _action in ("activate", "suspend", "reinstate", "retire"):
    router.add_api_route(
        f"/{{agreement_id}}/{_action}",
        _transition(_action),
        methods=["POST"],
        response_model=AgreementOut,
    )
