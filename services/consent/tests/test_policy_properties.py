"""Properties of the decision that must hold for any terms (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.consent.policy.decide import decide
from services.consent.policy.vocab import covered
from services.consent.tests.factories import NOW, consent, objection, question, state
from shared.vocabulary import load_vocabulary

V = load_vocabulary()
CATS = [c.id for c in V.categories]
AGENCIES = [a.id for a in V.agencies]
PURPOSES = [p.id for p in V.purposes]

consents = st.builds(
    lambda cats, recips, purposes, sources, days, status: consent(
        categories=tuple(cats),
        recipients=frozenset(recips),
        purposes=frozenset(purposes),
        source_agencies=frozenset(sources),
        expires_at=NOW + timedelta(days=days),
        status=status,
    ),
    st.lists(st.sampled_from(CATS), min_size=1, max_size=3),
    st.lists(st.sampled_from(AGENCIES), min_size=1, max_size=3),
    st.lists(st.sampled_from(PURPOSES), min_size=1, max_size=2),
    st.lists(st.sampled_from(AGENCIES), min_size=1, max_size=2),
    st.integers(min_value=-5, max_value=5),
    st.sampled_from(["active", "withdrawn"]),
)
questions = st.builds(
    lambda cats, d, r, p: question(
        categories=tuple(dict.fromkeys(cats)),
        disclosing_agency=d,
        recipient_agency=r,
        recipient_type=V.agency(r).type,  # type: ignore[union-attr]
        purpose=p,
    ),
    st.lists(st.sampled_from(CATS), min_size=1, max_size=4),
    st.sampled_from(AGENCIES),
    st.sampled_from(AGENCIES),
    st.sampled_from([*PURPOSES, None]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(consents, max_size=3), questions, st.booleans())
def test_nothing_is_permitted_beyond_a_current_basis(cs, q, objected):
    cs = [replace(c, consent_id=f"c{i}") for i, c in enumerate(cs)]
    s = state(consents=cs, objections=[objection()] if objected else [])
    d = decide(q, s, now=NOW)
    assert set(d.permitted) | {w.category for w in d.withheld} == set(q.categories)
    assert not set(d.permitted) & {w.category for w in d.withheld}
    if q.purpose is None or objected:
        assert d.permitted == []
    by_id = {c.consent_id: c for c in cs}
    for b in d.bases:
        c = by_id[b.consent_id]  # only consents in this test
        assert c.status == "active" and NOW < c.expires_at
        assert q.purpose in c.purposes and q.recipient_agency in c.recipients
        assert q.disclosing_agency in c.source_agencies
        for cat in b.categories:
            assert covered(c.categories, cat)
    assert d.decision == ("permit" if not d.withheld else "deny" if not d.permitted else "partial")
