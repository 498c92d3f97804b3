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
