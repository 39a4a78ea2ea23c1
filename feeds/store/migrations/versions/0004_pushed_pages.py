"""Pushed articles keep the page their stored version came from, for a newer ingester to re-read.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("pushed_pages"):  # made by create_all before migrations existed
        return
    op.create_table(
        "pushed_pages",
        sa.Column("article_id", sa.String(2048), primary_key=True),
        sa.Column("page", sa.LargeBinary, nullable=False),
        sa.Column("base_url", sa.Text),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("ingester", sa.String(32)),
    )
    op.create_index("ix_pushed_pages_ingester", "pushed_pages", ["ingester"])


def downgrade() -> None:
    op.drop_table("pushed_pages")
