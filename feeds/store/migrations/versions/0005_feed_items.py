"""Topic, author and archive feeds: which feeds each article is in, their sealed archive pages, what changed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

``feed_items`` and ``feed_stats`` start empty: the first build after the upgrade
finds no catalogue fingerprint in ``state`` and fills them from the articles
(every existing article gets its section, topics and authors then), then
renders every feed. ``article_changes`` logs each article change for the build.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    if "feed_items" not in present:
        op.create_table(
            "feed_items",
            sa.Column("feed", sa.String(80), primary_key=True),
            sa.Column("article_id", sa.String(2048), primary_key=True),
            sa.Column("published", sa.DateTime, nullable=False),
        )
        op.create_index("ix_feed_items_order", "feed_items", ["feed", "published", "article_id"])
        op.create_index("ix_feed_items_article", "feed_items", ["article_id"])
    if "feed_stats" not in present:
        op.create_table(
            "feed_stats",
            sa.Column("feed", sa.String(80), primary_key=True),
            sa.Column("items", sa.Integer, nullable=False),
            sa.Column("label", sa.String(200), nullable=False),
        )
    if "feed_pages" not in present:
        op.create_table(
            "feed_pages",
            sa.Column("feed", sa.String(80), primary_key=True),
            sa.Column("page", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("published", sa.DateTime, nullable=False),
            sa.Column("article_id", sa.String(2048), nullable=False),
        )
    if "article_changes" not in present:
        op.create_table(
            "article_changes",
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("article_id", sa.String(2048), nullable=False),
        )


def downgrade() -> None:
    op.drop_table("article_changes")
    op.drop_table("feed_pages")
    op.drop_table("feed_stats")
    op.drop_table("feed_items")
