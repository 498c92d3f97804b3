"""The candidate query against a real index (the test run's database, SQLite or PostgreSQL):
cached profiles are reused only for the version they were built from, each cap keeps what its
caller needs, both databases pick the same candidates, and the index size the thresholds
rise with is counted once per refresh, of active persons only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from services.identity import index
from services.identity.config import IdentitySettings
from services.identity.matching.blocking import blocking_keys
from services.identity.merges import merge_persons
from services.identity.records.schemas import RecordIn
from services.identity.records.search import search
from services.identity.records.service import Registration, register
from services.identity.tests.conftest import record
from shared.db import Database
from shared.events.outbox import EventWriter

CONFIG = IdentitySettings()
AGENCIES = ["housing", "police", "school", "council-asc", "nhs-mh", "probation"]
Registrar = Callable[..., Registration]


@pytest.fixture
def db(new_db: Callable[[str], Database]) -> Database:
    return new_db("index")


@pytest.fixture
def registered(db: Database) -> Registrar:
    """registered(local_id, config=..., agency=..., **fields): one record, committed."""
    events = EventWriter("identity", "test")

    def register_one(
        local_id: str, config: IdentitySettings = CONFIG, agency: str = "housing", **fields: object
    ) -> Registration:
        body = RecordIn.model_validate(record(local_id, **fields))
        with db.session() as s:
            return register(s, events, config, b"k" * 32, agency=agency, body=body, actor="test")

    return register_one


def test_candidates_use_the_current_version_of_a_cached_record(
    db: Database, registered: Registrar
) -> None:
    def found() -> list[tuple[str, str, str | None]]:
        keys = blocking_keys(index.profile_of(CONFIG, one.record))
        with db.session() as s:
            cands = index.candidates(s, CONFIG, keys, exclude_record="probe")
        return [(c.record_id, c.person_id, c.profile.address) for c in cands]

    one = registered("L-1")
    other = registered("L-2", given_name="Jon")
    index.clear_profile_cache()
    cold = found()  # every profile built from its row
    assert found() == cold  # every profile from the cache
    assert sorted(rid for rid, _, _ in cold) == sorted([one.record.id, other.record.id])

    moved = registered("L-2", given_name="Jon", address_line="99 Other Road")
    assert moved.record.version == 2
    after = {rid: address for rid, _, address in found()}  # one cached, one not
    assert after == {one.record.id: "10 MILL LANE", other.record.id: "99 OTHER ROAD"}


def test_the_best_connected_records_are_scored_under_the_cap(
    db: Database, registered: Registrar
) -> None:
    """`max_candidates` keeps the records sharing most keys: the same person, misspelt, is
    still found among more namesakes-by-birthday than the cap."""
    config = IdentitySettings(max_candidates=2)
    strangers = [("Aaron", "Zed", "LS1 1AA"), ("Beth", "Young", "B1 1AA"), ("Carl", "Xu", "N1 1AA")]
    strangers += [("Dora", "West", "E1 1AA"), ("Eric", "Vale", "G1 1AA")]
    same = ""
    for i, (given, family, postcode) in enumerate(strangers):
        if i == 2:  # the same person, among the strangers rather than first or last
            same = registered("L-1", config, family_name="Smyth").record.id
        registered(
            f"S-{i}",
            config,
            given_name=given,
            family_name=family,
            postcode=postcode,
            address_line=f"{i} Road",
        )
    probe = index.profile_of(config, RecordIn.model_validate(record("N-1")))  # Smith
    keys = blocking_keys(probe)
    with db.session() as s:
        everyone = index.candidates(s, CONFIG, keys, exclude_record="probe")
        capped = index.candidates(s, config, keys, exclude_record="probe")
    assert len(everyone) == 6  # all share the date-of-birth block
    assert len(capped) == 2  # of six, so a random pick would miss it two times in three
    assert same in {c.record_id for c in capped}


@pytest.mark.parametrize(("search_cap", "expected"), [(1000, 3), (2, 2)])
def test_a_search_has_its_own_cap(
    db: Database, registered: Registrar, search_cap: int, expected: int
) -> None:
    """A caseworker's search is not cut to the few candidates a link decision scores: it finds
    every one of their agency's matching records up to `max_search_candidates`, and no other
    agency's."""
    config = IdentitySettings(max_candidates=1, max_search_candidates=search_cap)
    mine = {registered(f"H-{i}", config).record.id for i in range(3)}  # one client, three files
    registered("P-1", config, agency="police")  # the same client, known to another agency
    with db.session() as s:
        hits = search(
            s,
            config,
            agency="housing",
            given_name="Jonathan",
            family_name="Smith",
            birth_date=date(1980, 3, 4),
            postcode=None,
        )
    assert len(hits) == expected
    assert {r.id for r, _ in hits} <= mine


def test_ties_under_the_cap_go_to_the_lowest_record_ids(
    db: Database, registered: Registrar
) -> None:
    """Records equally connected to the query are taken, and returned, in record id order: on
    SQLite and PostgreSQL alike, the same candidates and so the same decision."""
    alike = [registered(f"L-{i}", agency=agency).record.id for i, agency in enumerate(AGENCIES)]
    probe = registered("L-probe", agency="dwp").record
    keys = blocking_keys(index.profile_of(CONFIG, probe))
    for cap in (2, len(alike)):
        config = IdentitySettings(max_candidates=cap)
        with db.session() as s:
            found = index.candidates(s, config, keys, exclude_record=probe.id)
        assert [c.record_id for c in found] == sorted(alike)[:cap]


def test_the_index_size_counts_active_persons_once_per_refresh(
    db: Database, registered: Registrar, new_db: Callable[[str], Database]
) -> None:
    def count(database: Database, max_age: float) -> int:
        with database.session() as s:
            return index.person_count(s, max_age)

    one = registered("L-1")
    registered("L-2", given_name="Mary", family_name="Okafor", birth_date="1961-07-30")
    assert count(db, 0) == 2
    three = registered("L-3", given_name="Priya", family_name="Natarajan", birth_date="1990-12-01")
    assert count(db, 3600) == 2  # counted a moment ago: not read again
    assert count(db, 0) == 3  # due: read again
    with db.session() as s:
        merge_persons(
            s,
            EventWriter("identity", "test"),
            survivor_id=one.link.person_id,
            merged_id=three.link.person_id,
            actor="steward",
            reason="test",
        )
    assert count(db, 0) == 2  # a merged person is no longer one of the index's persons
    assert count(new_db("other"), 3600) == 0  # each database has its own count
