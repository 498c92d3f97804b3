"""remember merged persons

Revision ID: cd53b4965338
Revises: b1c2d3e4f5a6
Create Date: 2026-12-01 19:52:16.634332
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.models  # noqa: F401 - custom column types


revision: str = "cd53b4965338"
down_revision: str | None = "b1c2d3e4f5a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_merges",
        sa.Column("merged_person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "survivor_person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        ),
        sa.Column("merged_at", shared.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("merged_person_id"),
    )


def downgrade() -> None:
    op.drop_table("person_merges")
