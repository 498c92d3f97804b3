"""drop the (source, sequence) index on audit_entries

No query reads entries by source and sequence: auditors search by person, user, agency,
purpose, action, decision and time (services/audit/entries/queries.py), and gap detection
reads the consumer's own processed_events. The index only cost every append an insert into a
third B-tree of strings. A plain DROP INDEX (no batch mode): SQLite must not rebuild the table,
which would drop its append-only triggers.

Revision ID: 5e9d1a7c3b20
Revises: a0d17c0ffee1
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5e9d1a7c3b20"
down_revision: str | None = "a0d17c0ffee1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_audit_entries_source_seq", table_name="audit_entries")


def downgrade() -> None:
    op.create_index(
        "ix_audit_entries_source_seq", "audit_entries", ["source", "sequence"], unique=False
    )
