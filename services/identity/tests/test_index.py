"""The candidate query against a real (SQLite) index: cached profiles are reused only for the
version they were built from."""

from __future__ import annotations

from pathlib import Path

from services.identity import index
from services.identity.config import IdentitySettings
from services.identity.matching.blocking import blocking_keys
from services.identity.records.schemas import RecordIn
from services.identity.records.service import Registration, register
from services.identity.tests.conftest import record
from shared.db import Database
from shared.events.outbox import EventWriter
from shared.migrations import upgrade

CONFIG = IdentitySettings()


def test_candidates_use_the_current_version_of_a_cached_record(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path.as_posix()}/identity.db")
    upgrade(db, "identity")
    events = EventWriter("identity", "test")

    def registered(local_id: str, **overrides: object) -> Registration:
        with db.session() as s:
            body = RecordIn.model_validate(record(local_id, **overrides))
            return register(s, events, CONFIG, b"k" * 32, agency="housing", body=body, actor="test")

    def found() -> list[tuple[str, str, str | None]]:
        keys = blocking_keys(index.profile_of(CONFIG, one.record))
        with db.session() as s:
            cands = index.candidates(s, CONFIG, keys, exclude_record="probe")
        return [(c.record_id, c.person_id, c.profile.address) for c in cands]

    one = registered("L-1")
    other = registered("L-2", given_name="Jon")
    try:
        index.clear_profile_cache()
        cold = found()  # every profile built from its row
        assert found() == cold  # every profile from the cache
        assert sorted(rid for rid, _, _ in cold) == sorted([one.record.id, other.record.id])

        moved = registered("L-2", given_name="Jon", address_line="99 Other Road")
        assert moved.record.version == 2
        after = {rid: address for rid, _, address in found()}  # one cached, one not
        assert after == {one.record.id: "10 MILL LANE", other.record.id: "99 OTHER ROAD"}
    finally:
        db.dispose()


def test_the_best_connected_records_are_scored_under_the_cap(tmp_path: Path) -> None:
    """`max_candidates` keeps the records sharing most keys: the same person, misspelt, is
    still found among more namesakes-by-birthday than the cap."""
    config = IdentitySettings(max_candidates=2)
    db = Database(f"sqlite:///{tmp_path.as_posix()}/identity.db")
    upgrade(db, "identity")
    events = EventWriter("identity", "test")
    strangers = [("Aaron", "Zed", "LS1 1AA"), ("Beth", "Young", "B1 1AA"), ("Carl", "Xu", "N1 1AA")]
    strangers += [("Dora", "West", "E1 1AA"), ("Eric", "Vale", "G1 1AA")]
    bodies = [
        record(f"S-{i}", given_name=g, family_name=f, postcode=pc, address_line=f"{i} Road")
        for i, (g, f, pc) in enumerate(strangers)
    ]
    bodies.insert(2, record("L-1", family_name="Smyth"))
    try:
        with db.session() as s:
            done = [
                register(
                    s,
                    events,
                    config,
                    b"k" * 32,
                    agency="housing",
                    body=RecordIn.model_validate(b),
                    actor="test",
                )
                for b in bodies
            ]
        same = done[2].record.id
        probe = index.profile_of(config, RecordIn.model_validate(record("N-1")))  # Smith
        keys = blocking_keys(probe)
        with db.session() as s:
            everyone = index.candidates(s, CONFIG, keys, exclude_record="probe")
            capped = index.candidates(s, config, keys, exclude_record="probe")
        assert len(everyone) == 6  # all share the date-of-birth block
        assert len(capped) == 2  # of six, so a random pick would miss it two times in three
        assert same in {c.record_id for c in capped}
    finally:
        db.dispose()
