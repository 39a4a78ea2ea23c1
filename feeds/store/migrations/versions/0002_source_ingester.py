"""Sources record which ingester read them, and whether a rejection was its bug.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

``ingester`` is the :data:`feeds.ingest.INGESTER_VERSION` that read the file: a
newer ingester re-reads what an older one made or rejected. ``bug`` marks a
rejection the ingester's own failure caused (not the page's fault): those are
retried at every scan, counted by ``/healthz``, and logged once. Rows from
before this revision have no version, so the first scan after the upgrade
re-reads them (a page rejected under a broken install gets its second chance).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def _columns() -> tuple[sa.Column, ...]:
    return (
        sa.Column("ingester", sa.String(32)),
        sa.Column("bug", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def upgrade() -> None:
    # A database made by create_all before migrations existed is stamped at 0001 and
    # may already have today's columns: add only what is missing.
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("sources")}
    with op.batch_alter_table("sources") as batch:
        for column in _columns():
            if column.name not in present:
                batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        for column in _columns():
            batch.drop_column(column.name)
