"""Tables every service's database carries for its events (created by its first migration).

Defined once with SQLAlchemy Core on their own MetaData, so each service's models can keep a
registry of their own while these are shared.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

PLATFORM = MetaData()

_BigId = BigInteger().with_variant(Integer(), "sqlite")

# The transactional outbox: written with the state change, published by the relay.
outbox = Table(
    "outbox",
    PLATFORM,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("topic", String(200), nullable=False),
    Column("key", String(200), nullable=True),
    Column("envelope", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sequence", BigInteger, nullable=True, unique=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
)
Index("ix_outbox_unsent", outbox.c.sent_at, outbox.c.sequence)

# The last sequence number given to this service's events.
event_sequence = Table(
    "event_sequence",
    PLATFORM,
    Column("source", String(200), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# Consumers remember what they processed: a re-sent event changes nothing.
processed_events = Table(
    "processed_events",
    PLATFORM,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("source", String(200), nullable=False),
    Column("sequence", BigInteger, nullable=True),
    Column("processed_at", DateTime(timezone=True), nullable=False),
)
Index(
    "ix_processed_source_seq",
    processed_events.c.consumer,
    processed_events.c.source,
    processed_events.c.sequence,
)

# Per source, the sequence up to which every event has been seen (or reported missing).
source_watermarks = Table(
    "source_watermarks",
    PLATFORM,
    Column("consumer", String(100), primary_key=True),
    Column("source", String(200), primary_key=True),
    Column("contiguous", BigInteger, nullable=False),
    Column("max_seen", BigInteger, nullable=False),
)

# Missing sequence numbers: reported, never silently passed over.
sequence_gaps = Table(
    "sequence_gaps",
    PLATFORM,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("consumer", String(100), nullable=False),
    Column("source", String(200), nullable=False),
    Column("first_missing", BigInteger, nullable=False),
    Column("last_missing", BigInteger, nullable=False),
    Column("detected_at", DateTime(timezone=True), nullable=False),
)

# Events a handler rejected as malformed: kept for inspection instead of blocking the topic.
dead_events = Table(
    "dead_events",
    PLATFORM,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("consumer", String(100), nullable=False),
    Column("event_id", String(64), nullable=True),
    Column("topic", String(200), nullable=False),
    Column("error", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("payload", JSON, nullable=True),
    Column("failed_at", DateTime(timezone=True), nullable=False),
)
