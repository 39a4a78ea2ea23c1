"""Serve: the Flask app factory. Feed URLs and the front page are answered by :mod:`feeds.web.documents`
before Flask's dispatch; Flask handles the health check, the push API and errors.

Each web worker (``feeds web``, :mod:`feeds.web.server`) calls ``create_app()``, which reads
settings from the environment, as on a PaaS.
A web process never runs the scheduler (that is ``feeds clock``); it follows
the database, and takes pushed articles through :mod:`feeds.web.api`.
"""

from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import Engine

from feeds.config import Settings, load_settings
from feeds.store.db import init_db, make_engine
from feeds.store.timeouts import WEB
from feeds.web.api import api as api_blueprint
from feeds.web.documents import DocumentCache, FeedResponder
from feeds.web.pages import pages


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Flask:
    """The app, ready to serve whatever the database does: with it down, feed URLs answer
    503 until the cache's thread has loaded them, and the push API 503 (no exception here,
    so a web worker always starts, and a replacement worker starts during an outage)."""
    settings = settings or load_settings()
    prepare = None
    if engine is None:
        engine = make_engine(settings.database, role=WEB, application_name=f"feeds web {os.getpid()}")
        prepare = init_db  # a no-op at head; serialised with other processes if not; retried until it succeeds
    cache = DocumentCache(engine, settings, prepare=prepare)
    cache.start()

    app = Flask(__name__)
    app.config["FEEDS_SETTINGS"] = settings
    app.extensions["feeds"] = {"engine": engine, "cache": cache, "settings": settings}
    app.register_blueprint(pages)
    app.register_blueprint(api_blueprint)
    app.wsgi_app = FeedResponder(app.wsgi_app, cache, settings)  # type: ignore[method-assign]
    return app
