"""Store: articles and rendered feed documents, in SQLite or PostgreSQL via SQLAlchemy Core.

Callers own the transaction (``with engine.begin() as conn``) and pass the
connection in, so a batch of changes and the version bump that announces them
commit together or not at all.
"""
