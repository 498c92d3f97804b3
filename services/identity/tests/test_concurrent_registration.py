"""Two agencies register the same person at the same moment, from two processes: one person,
not two. On PostgreSQL each registration would otherwise decide before seeing the other's
record (`index.lock`); on SQLite writers take turns, and this checks that they still do."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from services.identity.config import IdentitySettings
from services.identity.models import ClientRecord
from services.identity.records.schemas import RecordIn
from services.identity.records.service import clean, lock_batch, register
from services.identity.tests.conftest import record
from shared.db import Database
from shared.events.outbox import EventWriter

PEOPLE = [
    ("Oliver", "Walker", "1961-02-11"),
    ("Amelia", "Hughes", "1972-03-12"),
    ("Harry", "Patel", "1983-04-13"),
    ("Isla", "Edwards", "1994-05-14"),
    ("Jacob", "Green", "1965-06-15"),
    ("Ava", "Lewis", "1976-07-16"),
    ("Noah", "Wood", "1987-08-17"),
    ("Mia", "Harris", "1998-09-18"),
]


def _body(i: int, agency: str, local_id: str | None = None) -> RecordIn:
    given, family, born = PEOPLE[i]
    return RecordIn.model_validate(
        record(
            local_id or f"{agency}-{i}",
            given_name=given,
            family_name=family,
            birth_date=born,
            postcode="M1 4BT",
            address_line=f"{i + 1} Mill Lane",
            identifiers={},
        )
    )


def _worker(url: str, agency: str, batch: bool, step: Any) -> None:
    """Registers each person once, in step with the other process; or all of them as one
    batch, as `POST /records/batch` does, the police in the reverse order."""
    db = Database(url)
    config, events = IdentitySettings(), EventWriter("identity", "test")
    order = range(len(PEOPLE)) if agency == "housing" else reversed(range(len(PEOPLE)))
    bodies = [_body(i, agency) for i in order]
    for chunk in [bodies] if batch else [[b] for b in bodies]:
        step.wait(timeout=60)
        with db.session() as s:
            if batch:
                lock_batch(s, config, agency, [(b, clean(b, config)) for b in chunk])
            for b in chunk:
                register(s, events, config, b"k" * 32, agency=agency, body=b, actor="test")
    db.dispose()


def _at_once(target: Callable[..., None], args: list[tuple[Any, ...]]) -> None:
    """Run `target(*a, step)` for each `a` in its own process, kept in step by a barrier, and
    require each to finish cleanly."""
    spawn = multiprocessing.get_context("spawn")
    step = spawn.Barrier(len(args))
    workers = [spawn.Process(target=target, args=(*a, step)) for a in args]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
def test_the_same_person_registered_at_once_by_two_agencies_is_one_person(
    new_db: Callable[[str], Database], batch: bool
) -> None:
    # Batches writing the same people in opposite orders would deadlock if each record
    # took its own locks as it went.
    db = new_db("concurrent")
    _at_once(_worker, [(db.url, agency, batch) for agency in ("housing", "police")])
    with db.session() as s:
        rows = s.execute(select(col(ClientRecord.local_id), col(ClientRecord.person_id))).all()
    person = dict(rows)
    assert len(person) == 2 * len(PEOPLE)
    for i in range(len(PEOPLE)):
        assert person[f"housing-{i}"] == person[f"police-{i}"], PEOPLE[i]
    assert len(set(person.values())) == len(PEOPLE)


def _correct(url: str, i: int, step: Any) -> None:
    """Housing registers local id H-1 as PEOPLE[i], at the same moment as the other process."""
    db = Database(url)
    config, events = IdentitySettings(), EventWriter("identity", "test")
    step.wait(timeout=60)
    with db.session() as s:
        register(
            s,
            events,
            config,
            b"k" * 32,
            agency="housing",
            body=_body(i, "housing", "H-1"),
            actor="test",
        )
    db.dispose()


def test_one_local_id_registered_twice_at_once_is_one_record_updated(
    new_db: Callable[[str], Database],
) -> None:
    # Two versions sharing no blocking key (a record corrected wholesale): only the local id
    # makes them wait for each other; otherwise both would insert and one would fail.
    db = new_db("same_local_id")
    _at_once(_correct, [(db.url, i) for i in (0, 1)])
    with db.session() as s:
        rows = s.execute(select(col(ClientRecord.local_id), col(ClientRecord.version))).all()
    assert [tuple(r) for r in rows] == [("H-1", 2)]
