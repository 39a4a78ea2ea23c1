"""Alembic environment, run programmatically by :func:`feeds.store.db.upgrade`.

The caller hands in an open connection (``config.attributes["connection"]``)
already inside a transaction and holding the migration lock, so migrations
never open connections of their own and never race another process.
To write a new revision: ``alembic -c feeds/store/migrations/alembic.ini revision -m "..."``
(with ``DATABASE_URL`` pointing at a database at head) and edit it by hand.
"""

from __future__ import annotations

from alembic import context

from feeds.store.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # the alembic command line: connect from DATABASE_URL
    from feeds.config import load_settings
    from feeds.store.db import make_engine

    engine = make_engine(load_settings().database)
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
