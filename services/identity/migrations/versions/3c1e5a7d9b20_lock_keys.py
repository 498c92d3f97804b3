"""identity_lock_keys: PostgreSQL advisory locks on a record's blocking keys and identifiers

Two registrations of one person at the same moment must not both find no match and make two
persons. SQLite has one writer at a time; on PostgreSQL each registration first locks what
it reads and writes (its local id, blocking keys and verified identifiers, as 64-bit hashes
made by the service, so no personal data reaches the database's logs) until it commits, so two
that could see each other run one after the other and the rest run side by side. Locks are
taken in one order, so registrations cannot deadlock each other.

Revision ID: 3c1e5a7d9b20
Revises: 2048f1c84d4d
Create Date: 2026-12-05 17:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3c1e5a7d9b20"
down_revision: str | None = "2048f1c84d4d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION identity_lock_keys(keys bigint[]) RETURNS void
            LANGUAGE plpgsql AS $$
            DECLARE h bigint;
            BEGIN
              FOR h IN SELECT DISTINCT k FROM unnest(keys) AS k ORDER BY 1
              LOOP
                PERFORM pg_advisory_xact_lock(h);
              END LOOP;
            END
            $$
            """
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS identity_lock_keys(bigint[])")
