"""Pushed pages wait in ``pushes`` for the clock's intake, and stay as receipts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("pushes"):  # made by create_all before migrations existed
        return
    op.create_table(
        "pushes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("base_url", sa.Text),
        sa.Column("page", sa.LargeBinary),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("article_id", sa.String(2048)),
        sa.Column("error", sa.Text),
        sa.Column("done_at", sa.DateTime),
    )
    op.create_index("ix_pushes_state_id", "pushes", ["state", "id"])


def downgrade() -> None:
    op.drop_table("pushes")
