"""revision counter rows and append-only consent history

Written by hand: the `global` and `agreements` revision marks exist from the start (so that
bumping the counter is a plain UPDATE that takes a row lock), and triggers refuse UPDATE and
DELETE on consent versions and receipts: history is never rewritten.

Revision ID: b1c2d3e4f5a6
Revises: 7056d03a45da
Create Date: 2026-11-21 12:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b1c2d3e4f5a6"
down_revision: str | None = "7056d03a45da"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("consent_versions", "receipts")


def upgrade() -> None:
    op.execute(
        "INSERT INTO revision_marks (scope, revision) VALUES ('global', 0), ('agreements', 0)"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION consent_history_is_append_only() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'consent history is append-only (% on %)', TG_OP, TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION consent_history_is_append_only()"
            )
    else:
        for table in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'consent history is append-only'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS consent_history_is_append_only()")
    else:
        for table in APPEND_ONLY:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    op.execute("DELETE FROM revision_marks WHERE scope IN ('global', 'agreements')")
