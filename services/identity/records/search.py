"""Demographic search within one agency's records, by the same blocking and scoring as linking."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from services.identity import index
from services.identity.config import IdentitySettings
from services.identity.matching.blocking import query_keys
from services.identity.matching.postcodes import parse_postcode
from services.identity.matching.profile import make_profile
from services.identity.models import ClientRecord


def search(
    session: Session,
    config: IdentitySettings,
    *,
    agency: str,
    given_name: str | None,
    family_name: str | None,
    birth_date: date | None,
    postcode: str | None,
    limit: int = 20,
) -> list[tuple[ClientRecord, float]]:
    """The agency's records that score at least the lower threshold, best first."""
    parsed = parse_postcode(postcode, config.formats) if postcode else None
    probe = make_profile(
        given_name=given_name, family_name=family_name, birth_date=birth_date, postcode=parsed
    )
    found = index.candidates(session, config, query_keys(probe), agency=agency)
    if not found and parsed is not None:
        found = index.candidates_at_postcode(session, config, parsed.full, agency=agency)
    model = config.model
    scored = sorted(((c, model.score(probe, c.profile).total) for c in found), key=lambda x: -x[1])
    hits = [(c, w) for c, w in scored if w >= model.lower][:limit]
    out = []
    for cand, weight in hits:
        record = session.get(ClientRecord, cand.record_id)
        if record is not None:
            out.append((record, weight))
    return out
