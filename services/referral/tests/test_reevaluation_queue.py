"""The re-evaluation queue's policy (real database): one referral whose person is moving must
not hold up the others, while an unreachable dependency ends the round for all."""

from __future__ import annotations

from types import SimpleNamespace

from services.referral import reevaluation
from services.referral.queries import count_pending, queue_reevaluation
from shared.db import Database
from shared.errors import Unavailable
from shared.migrations import upgrade


def queued(settings, *referral_ids: str) -> Database:
    db = Database(settings.database_url_for("referral"))
    upgrade(db, "referral")
    for referral_id in referral_ids:  # one transaction each: queued in this order
        with db.session() as s:
            queue_reevaluation(s, [referral_id], "consent.withdrawn.v1", None)
    return db


def test_a_referral_whose_person_is_moving_does_not_hold_up_the_queue(settings, monkeypatch):
    db = queued(settings, "moving", "other")
    tried: list[str] = []

    def reevaluate(_ctx, referral_id, _revision):
        tried.append(referral_id)
        if referral_id == "moving":
            raise Unavailable("merged; the referral is following", slug="retry")

    monkeypatch.setattr(reevaluation, "reevaluate", reevaluate)
    assert reevaluation.reevaluate_pending(SimpleNamespace(db=db)) == 1
    assert tried == ["moving", "other"]
    db.dispose()


def test_an_unreachable_dependency_ends_the_round_and_keeps_the_queue(settings, monkeypatch):
    db = queued(settings, "first", "second")
    tried: list[str] = []

    def reevaluate(_ctx, referral_id, _revision):
        tried.append(referral_id)
        raise Unavailable("consent is down", slug="consent-unavailable")

    monkeypatch.setattr(reevaluation, "reevaluate", reevaluate)
    assert reevaluation.reevaluate_pending(SimpleNamespace(db=db)) == 0
    assert tried == ["first"]
    with db.session() as s:
        assert count_pending(s) == 2
    db.dispose()
