"""append-only triggers and the log head row

The database itself refuses to change or remove what the log holds: UPDATE and DELETE (and
TRUNCATE on PostgreSQL) on entries, tree nodes, checkpoints and alerts raise an error, so no
code path, ours or anyone's, can edit a record without first disabling the triggers, which
only an administrator can do and which the hash chain and signed checkpoints then expose.

Revision ID: a0d17c0ffee1
Revises: 8ac9c83d1955
Create Date: 2026-11-21 13:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a0d17c0ffee1"
down_revision: str | None = "8ac9c83d1955"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("audit_entries", "merkle_nodes", "checkpoints", "alerts")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION audit_reject_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'the audit log is append-only: % on % is refused',
                TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
            END
            $$
            """
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_reject_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change()"
            )
    else:
        for table in APPEND_ONLY:
            for operation in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} "
                    f"ON {table} BEGIN SELECT RAISE(ABORT, "
                    f"'the audit log is append-only: {operation} on {table} is refused'); END"
                )
    op.execute(
        "INSERT INTO log_head (id, size, chain_head, frontier) "
        "VALUES (1, 0, " + _zero_hash(dialect) + ", " + _empty(dialect) + ")"
    )


def _zero_hash(dialect: str) -> str:
    return "'\\x" + "00" * 32 + "'::bytea" if dialect == "postgresql" else "zeroblob(32)"


def _empty(dialect: str) -> str:
    return "''::bytea" if dialect == "postgresql" else "X''"


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute("DELETE FROM log_head WHERE id = 1")
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_reject_change()")
