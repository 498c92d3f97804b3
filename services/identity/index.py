"""Queries over the person index: blocking keys, verified identifiers, candidates."""

from __future__ import annotations

import functools
import hashlib
import json
import random
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import (
    BindParameter,
    Engine,
    Select,
    Text,
    bindparam,
    cast,
    delete,
    func,
    or_,
    select,
    text,
)
from sqlmodel import Session, col

from services.identity.config import IdentitySettings
from services.identity.matching.blocking import SELECTIVE_BLOCK, blocking_keys, query_keys
from services.identity.matching.linker import Candidate
from services.identity.matching.postcodes import parse_postcode
from services.identity.matching.profile import Profile, make_profile
from services.identity.models import (
    BlockingKey,
    ClientRecord,
    NewRecord,
    Person,
    RecordIdentifier,
    ReviewItem,
    table,
)

PROFILE_COLUMNS: tuple[Any, ...] = (
    col(ClientRecord.id),
    col(ClientRecord.person_id),
    col(ClientRecord.given_name),
    col(ClientRecord.family_name),
    col(ClientRecord.other_names),
    col(ClientRecord.birth_date),
    col(ClientRecord.sex),
    col(ClientRecord.postcode),
    col(ClientRecord.address_line),
    col(ClientRecord.identifiers),
    col(ClientRecord.version),
)


_PROFILES: OrderedDict[tuple[str, int], Profile] = OrderedDict()
_PROFILES_MAX = 200_000


def cached_profile(config: IdentitySettings, row: Any) -> Profile:
    """Candidate profiles, remembered by (record id, version): the same records are candidates
    again and again, and building a profile costs more than scoring it. A new version of a
    record is a new key, so an update is never scored from a stale profile."""
    key = (row.id, row.version)
    profile = _PROFILES.get(key)
    if profile is None:
        profile = profile_of(config, row)
        _PROFILES[key] = profile
        if len(_PROFILES) > _PROFILES_MAX:
            _PROFILES.popitem(last=False)
    return profile


def clear_profile_cache() -> None:
    _PROFILES.clear()


def profile_of(config: IdentitySettings, row: Any) -> Profile:
    """The comparison profile of a record (an ORM row or a selected row)."""
    postcode = getattr(row, "postcode", None)
    return make_profile(
        given_name=row.given_name,
        family_name=row.family_name,
        other_names=_json(row.other_names) or (),
        birth_date=row.birth_date,
        sex=row.sex,
        postcode=parse_postcode(postcode, config.formats) if postcode else None,
        address_line=row.address_line,
        identifiers=_json(row.identifiers) or {},
    )


def _json(value: Any) -> Any:
    """A JSON column's value; the candidate query reads them as text, so that only the rows
    whose profile is not cached pay for decoding (see `_candidate_queries`)."""
    if not isinstance(value, str):
        return value
    return _EMPTY_JSON[value]() if value in _EMPTY_JSON else json.loads(value)


# Most rows have no other names and no identifiers: no decoding for them.
_EMPTY_JSON: dict[str, Callable[[], Any]] = {"[]": list, "{}": dict, "null": lambda: None}


def sample_rows(session: Session, size: int, *, seed: int = 1) -> list[Any]:
    """`size` records (`PROFILE_COLUMNS`) drawn at random from the whole index, all of it when
    it is smaller; the same draw from the same index. What `identity estimate` learns from:
    the first rows in storage order are the oldest, or one agency's when agencies were loaded
    one after another, and their names and errors are not the index's."""
    record_id = col(ClientRecord.id)
    ids = list(session.execute(select(record_id).order_by(record_id)).scalars())
    if len(ids) > size:
        ids = sorted(random.Random(seed).sample(ids, size))
    rows: list[Any] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = select(*PROFILE_COLUMNS).where(record_id.in_(chunk)).order_by(record_id)
        rows += session.execute(query).all()
    return rows


_LOCK_KEYS = text("SELECT identity_lock_keys(:keys)")


def lock(
    session: Session, config: IdentitySettings, agency: str, records: Iterable[tuple[str, Profile]]
) -> None:
    """Hold, until commit, what registering these (local id, profile)s reads and writes: the
    local ids, blocking keys and verified identifiers. Two registrations of one person at the
    same moment then run one after the other and link, where each would otherwise find no
    match and make a person of its own; registrations sharing none run side by side.

    PostgreSQL only (`records` is not even read on SQLite, where writers take turns). All are
    taken in one call, in one global order (`identity_lock_keys` sorts them), so holders
    cannot deadlock each other: a transaction writing several records takes all of theirs
    first."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return
    names: set[str] = set()
    for local_id, profile in records:
        names |= query_keys(profile) | set(blocking_keys(profile))
        names.update(
            f"{kind}={value}"
            for kind, value in profile.identifiers.items()
            if kind in config.verified_types
        )
        names.add(f"local_id:{agency}:{local_id}")
    conn.execute(_LOCK_KEYS, {"keys": [_lock_id(name) for name in names]})


def _lock_id(name: str) -> int:
    """A name as a 64-bit advisory lock id: hashed here, so no personal data (a date of birth,
    an NHS number) is sent to the database, where it could reach its logs."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), signed=True)


_INSERT_KEYS = table(BlockingKey).insert()
_INSERT_IDS = table(RecordIdentifier).insert()


def index_record(
    session: Session,
    config: IdentitySettings,
    record: ClientRecord | NewRecord,
    profile: Profile,
    *,
    created: bool = False,
) -> None:
    """(Re)write the record's blocking keys and verified identifiers."""
    if not created:
        _forget(session, [record.id])
    _write_postings(session, *_postings(config, record.id, profile))


def reindex(session: Session, config: IdentitySettings, rows: list[Any]) -> int:
    """Rewrite the blocking keys and verified identifiers of `rows` (selected
    `PROFILE_COLUMNS`) from the current code and configuration; returns the keys written.
    For an upgrade that changes blocking, or a change of identifier types."""
    _forget(session, [r.id for r in rows])
    keys: list[dict[str, str]] = []
    verified: list[dict[str, str]] = []
    for row in rows:
        k, v = _postings(config, row.id, profile_of(config, row))
        keys += k
        verified += v
    _write_postings(session, keys, verified)
    return len(keys)


def _postings(
    config: IdentitySettings, record_id: str, profile: Profile
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    keys = [{"key": k, "record_id": record_id} for k in blocking_keys(profile)]
    verified = [
        {"record_id": record_id, "kind": k, "value": v}
        for k, v in profile.identifiers.items()
        if k in config.verified_types
    ]
    return keys, verified


def _forget(session: Session, record_ids: list[str]) -> None:
    session.execute(delete(BlockingKey).where(col(BlockingKey.record_id).in_(record_ids)))
    session.execute(delete(RecordIdentifier).where(col(RecordIdentifier.record_id).in_(record_ids)))


def _write_postings(
    session: Session, keys: list[dict[str, str]], verified: list[dict[str, str]]
) -> None:
    conn = session.connection()
    if keys:
        conn.execute(_INSERT_KEYS, keys)
    if verified:
        conn.execute(_INSERT_IDS, verified)


_BY_IDENTIFIER = (
    select(col(RecordIdentifier.kind), col(ClientRecord.person_id))
    .join(ClientRecord, col(ClientRecord.id) == col(RecordIdentifier.record_id))
    .where(
        col(RecordIdentifier.kind) == bindparam("kind"),
        col(RecordIdentifier.value) == bindparam("value"),
        col(RecordIdentifier.record_id) != bindparam("exclude"),
    )
    .order_by(col(ClientRecord.created_at))
)


def identifier_matches(
    session: Session, config: IdentitySettings, profile: Profile, exclude_record: str | None
) -> list[tuple[str, str]]:
    """(identifier type, person id) of other records sharing a verified identifier."""
    found: list[tuple[str, str]] = []
    conn = session.connection()
    for kind, value in sorted(profile.identifiers.items()):
        if kind not in config.verified_types:
            continue
        params = {"kind": kind, "value": value, "exclude": exclude_record or ""}
        found.extend((k, p) for k, p in conn.execute(_BY_IDENTIFIER, params))
    return found


# Built once: the candidate query runs for every registration and every search.
# At a million persons a common name or surname-and-year block holds thousands of records, and
# scoring them all (or an arbitrary `max_candidates` of them) costs most of a decision. So the
# postings are counted in the index alone (no record rows read), and a record is a candidate if
# it shares two or more keys with the query, or one key whose block is small (or the query's
# smallest block): a record sharing only one huge block, such as "John Smith" and nothing
# else, has too little evidence to link anyway. The best-connected come first under the cap.
# One statement per number of keys (a record has at most about ten), each compiled once and
# cached: an expanding `IN` re-rendered this long query's SQL on every call (about 15 of the
# 285 us a candidate query took at 100,000 persons on SQLite). The SQL, and so every decision,
# is the same.
_JSON_COLUMNS = {"other_names", "identifiers"}


@functools.cache
def _candidate_queries(n_keys: int) -> tuple[Select[Any], Select[Any]]:
    """(all agencies, one agency) candidate queries for `n_keys` keys bound as k0, k1, ..."""
    keys: list[BindParameter[str]] = [bindparam(f"k{i}") for i in range(n_keys)]
    sizes = (
        select(col(BlockingKey.key).label("key"), func.count().label("n"))
        .where(col(BlockingKey.key).in_(keys))
        .group_by(col(BlockingKey.key))
        .cte("block_sizes")
    )
    shared = func.count()
    smallest = func.min(sizes.c.n)
    ranked = (
        select(col(BlockingKey.record_id))
        .join(sizes, sizes.c.key == col(BlockingKey.key))
        .where(col(BlockingKey.record_id) != bindparam("exclude"))
        .group_by(col(BlockingKey.record_id))
        .having(
            or_(
                shared >= 2,
                smallest <= SELECTIVE_BLOCK,
                smallest == select(func.min(sizes.c.n)).scalar_subquery(),
            )
        )
    )
    # The JSON columns are read as text, decoded (`_json`) only when the profile is not
    # cached: decoding two JSON documents for every candidate row cost a quarter of the query.
    columns = tuple(
        cast(c, Text).label(c.key) if c.key in _JSON_COLUMNS else c for c in PROFILE_COLUMNS
    )
    # The record id breaks ties and orders the rows (the first of equal scores wins), so that
    # SQLite and PostgreSQL pick the same candidates and make the same decision.
    best = ranked.order_by(shared.desc(), smallest, col(BlockingKey.record_id))
    everyone = (
        select(*columns)
        .where(col(ClientRecord.id).in_(best.limit(bindparam("limit"))))
        .order_by(col(ClientRecord.id))
    )
    one_agency = (
        select(*columns)
        .where(col(ClientRecord.id).in_(ranked), col(ClientRecord.agency) == bindparam("agency"))
        .limit(bindparam("limit"))
    )
    return everyone, one_agency


def candidates(
    session: Session,
    config: IdentitySettings,
    keys: Iterable[str],
    *,
    exclude_record: str | None = None,
    agency: str | None = None,
) -> list[Candidate]:
    """Records sharing enough blocking keys with the query (optionally one agency's only)."""
    ordered = sorted(keys)
    if not ordered:
        return []
    params: dict[str, Any] = {f"k{i}": k for i, k in enumerate(ordered)}
    params["exclude"] = exclude_record or ""
    everyone, one_agency = _candidate_queries(len(ordered))
    if agency:  # a search: its query is not ranked, so it has its own, wider cap
        query = one_agency
        params.update(limit=config.max_search_candidates, agency=agency)
    else:
        query = everyone
        params["limit"] = config.max_candidates
    rows = session.connection().execute(query, params).all()  # Core: no ORM bookkeeping
    return [Candidate(r.id, r.person_id, cached_profile(config, r)) for r in rows]


def candidates_at_postcode(
    session: Session, config: IdentitySettings, postcode: str, *, agency: str
) -> list[Candidate]:
    """One agency's records at a postcode (search by surname and postcode, no given name)."""
    query = select(*PROFILE_COLUMNS).where(
        col(ClientRecord.agency) == agency, col(ClientRecord.postcode) == postcode
    )
    rows = session.execute(query.limit(config.max_search_candidates)).all()
    return [Candidate(r.id, r.person_id, profile_of(config, r)) for r in rows]


def rejected_persons(session: Session, record_id: str) -> frozenset[str]:
    """Persons a reviewer said this record is not."""
    rows = session.execute(
        select(col(ReviewItem.candidate_person_id)).where(
            col(ReviewItem.record_id) == record_id,
            col(ReviewItem.status) == "rejected",
        )
    ).scalars()
    return frozenset(rows)


def records_of_person(
    session: Session, person_id: str, agency: str | None = None
) -> list[ClientRecord]:
    query = select(ClientRecord).where(col(ClientRecord.person_id) == person_id)
    if agency:
        query = query.where(col(ClientRecord.agency) == agency)
    return list(session.execute(query.order_by(col(ClientRecord.created_at))).scalars())


_PERSON_COUNTS: weakref.WeakKeyDictionary[Engine, tuple[float, int]] = weakref.WeakKeyDictionary()
_ACTIVE_PERSONS = select(func.count()).where(col(Person.status) == "active")


def person_count(session: Session, max_age: float) -> int:
    """Active persons in the index, counted at most every `max_age` seconds per database: the
    thresholds need only its order of magnitude, and a count at a million persons reads them
    all."""
    conn = session.connection()
    now = time.monotonic()
    counted = _PERSON_COUNTS.get(conn.engine)
    if counted is None or now - counted[0] >= max_age:
        counted = (now, int(conn.execute(_ACTIVE_PERSONS).scalar_one()))
        _PERSON_COUNTS[conn.engine] = counted
    return counted[1]


_LOCAL_ID = select(col(ClientRecord.id)).where(
    col(ClientRecord.agency) == bindparam("agency"),
    col(ClientRecord.local_id) == bindparam("local_id"),
)


def record_by_local_id(session: Session, agency: str, local_id: str) -> ClientRecord | None:
    """Found by a cheap Core lookup first: most registrations are of new local ids."""
    found = session.connection().execute(_LOCAL_ID, {"agency": agency, "local_id": local_id})
    record_id = found.scalar_one_or_none()
    return session.get(ClientRecord, record_id) if record_id is not None else None
