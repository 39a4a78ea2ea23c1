"""Initial schema: articles, sources, feed_documents, state.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Databases created before migrations existed (``metadata.create_all``) have
exactly this schema; :func:`feeds.store.db.upgrade` stamps them at this
revision instead of running it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.String(2048), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("section", sa.String(64), nullable=False),
        sa.Column("published", sa.DateTime, nullable=False),
        sa.Column("updated", sa.DateTime, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("content_html", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("authors", sa.JSON, nullable=False),
        sa.Column("image", sa.Text),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("language", sa.String(35)),
        sa.Column("source", sa.String(2048), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_articles_section_published", "articles", ["section", "published"])
    op.create_index("ix_articles_published", "articles", ["published"])
    op.create_index("ix_articles_source", "articles", ["source"])
    op.create_table(
        "sources",
        sa.Column("source", sa.String(2048), primary_key=True),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("article_id", sa.String(2048)),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "feed_documents",
        sa.Column("path", sa.String(255), primary_key=True),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("gzip_body", sa.LargeBinary, nullable=False),
        sa.Column("etag", sa.String(100), nullable=False),
        sa.Column("last_modified", sa.DateTime, nullable=False),
    )
    op.create_table(
        "state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("changed_at", sa.DateTime),
    )


def downgrade() -> None:
    for table in ("state", "feed_documents", "sources", "articles"):
        op.drop_table(table)
