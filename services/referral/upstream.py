"""The answers referral needs now from identity and consent, over HTTP with a service token.

Any failure to get an answer is `Unavailable` (503): a referral is never created or disclosed
on a guess (fail closed, P6).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from pydantic import ValidationError

from services.referral.freshness import revision_batcher
from services.referral.identity_cache import identity_cache
from services.referral.models import Referral
from services.referral.rules import Decision
from shared.app import ServiceContext
from shared.errors import NotFound, Unavailable, Unprocessable

log = logging.getLogger(__name__)


def _get(ctx: ServiceContext, service: str, method: str, path: str, **kw: Any) -> httpx.Response:
    try:
        return ctx.call(service, method, path, **kw)
    except httpx.HTTPError as exc:
        log.warning("%s %s %s failed: %s", service, method, path, exc)
        raise Unavailable(
            f"The {service} service could not be reached; nothing was disclosed.",
            slug=f"{service}-unavailable",
        ) from exc


def _unavailable(service: str, response: httpx.Response) -> Unavailable:
    log.warning("%s answered %s: %s", service, response.status_code, response.text[:500])
    return Unavailable(
        f"The {service} service did not give an answer ({response.status_code}); "
        "nothing was disclosed.",
        slug=f"{service}-unavailable",
        upstream_status=response.status_code,
    )


def resolve_person(ctx: ServiceContext, agency: str, pseudonym: str) -> str:
    """The internal person id behind one of `agency`'s pseudonyms (the survivor after a merge)."""
    r = _get(
        ctx,
        "identity",
        "GET",
        "/internal/resolve",
        params={"agency": agency, "pseudonym": pseudonym},
    )
    if r.status_code in (404, 422):  # unknown, or not even shaped like a pseudonym
        raise NotFound("Your agency knows no person by that reference.", slug="unknown-person")
    if r.status_code != 200:
        raise _unavailable("identity", r)
    return str(r.json()["person_id"])


def resolve_person_cached(ctx: ServiceContext, agency: str, pseudonym: str) -> str:
    """`resolve_person`, answered from memory until a merge or unmerge event (see
    identity_cache). Unknown references are not remembered."""
    return identity_cache(ctx).get(
        ("resolve", agency, pseudonym), lambda: resolve_person(ctx, agency, pseudonym)
    )


def forget_resolution(ctx: ServiceContext, agency: str, pseudonym: str) -> None:
    """Drop a remembered resolution that consent showed to be out of date (a merge)."""
    identity_cache(ctx).forget(("resolve", agency, pseudonym))


def confirm_person(ctx: ServiceContext, referral: Referral) -> None:
    """Before a decision narrows a referral: identity, where merges and unmerges happen first,
    must still name the referral's person, or the decision was about someone the referral is
    moving away from (and would delete sections the recipient may still see)."""
    try:
        current = resolve_person(ctx, referral.from_agency, referral.sender_person_ref)
    except NotFound:
        return  # identity no longer knows the reference: narrowing is the safe side
    if current != referral.person_id:
        raise _person_moving()


def _person_moving() -> Unavailable:
    return Unavailable(
        "The person was merged or unmerged and the referral is following; try again.",
        slug="retry",
    )


def pseudonym_for(ctx: ServiceContext, agency: str, person_id: str) -> str:
    """How `agency` sees the person: its own pseudonym, never another's or the internal id."""
    r = _get(
        ctx,
        "identity",
        "GET",
        "/internal/pseudonym",
        params={"agency": agency, "person_id": person_id},
    )
    if r.status_code != 200:
        raise _unavailable("identity", r)
    return str(r.json()["pseudonym"])


def pseudonym_for_cached(ctx: ServiceContext, agency: str, person_id: str) -> str:
    """`pseudonym_for`, answered from memory until a merge or unmerge event."""
    return identity_cache(ctx).get(
        ("pseudonym", agency, person_id), lambda: pseudonym_for(ctx, agency, person_id)
    )


def person_revision(ctx: ServiceContext, person_id: str) -> int:
    """The consent revision of the latest change affecting this person (or any agreement),
    asked after this call began; concurrent reads share one call (see freshness)."""
    return revision_batcher(ctx, lambda persons: person_revisions(ctx, persons)).revision(person_id)


def person_revisions(ctx: ServiceContext, person_ids: list[str]) -> dict[str, int]:
    r = _get(ctx, "consent", "GET", "/revision", params={"person_id": person_ids})
    if r.status_code != 200:
        raise _unavailable("consent", r)
    try:
        answers = r.json()["person_revisions"]
        return {p: int(answers[p]) for p in person_ids}
    except (KeyError, TypeError, ValueError) as exc:
        raise _unavailable("consent", r) from exc


def decide(
    ctx: ServiceContext,
    *,
    person_id: str,
    disclosing_agency: str,
    recipient_agency: str,
    purpose: str,
    categories: list[str],
    on_refusal: str = "unavailable",
) -> Decision:
    """Ask the consent service afresh. A 4xx is the caller's mistake when creating
    (`on_refusal="unprocessable"`) but a reason to refuse disclosure when reading."""
    r = _get(
        ctx,
        "consent",
        "POST",
        "/decisions",
        json={
            "person": None,
            "person_id": person_id,
            "disclosing_agency": disclosing_agency,
            "recipient_agency": recipient_agency,
            "purpose": purpose,
            "categories": categories,
            "break_glass": None,
        },
    )
    if r.status_code == 200:
        try:
            return Decision.model_validate(r.json())
        except ValidationError as exc:
            raise _unavailable("consent", r) from exc
    if r.status_code == 409 and r.json().get("type", "").endswith(":person-merged"):
        raise _person_moving()  # consent followed a merge we have not yet
    if on_refusal == "unprocessable" and r.status_code in (400, 422):
        body = r.json() if r.headers.get("content-type", "").endswith("json") else {}
        raise Unprocessable(
            f"The consent service refused the question: {body.get('detail', r.text[:200])}",
            slug="decision-refused",
            upstream=body,
        )
    raise _unavailable("consent", r)
