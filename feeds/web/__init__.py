"""Serve: the Flask app factory. Feed URLs are answered by :mod:`feeds.web.documents`
before Flask's dispatch; Flask handles the index page, health check and errors.

``gunicorn 'feeds.web:create_app()'`` reads settings from the environment, as on a PaaS.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import Engine

from feeds.config import Settings, load_settings
from feeds.store.db import init_db, make_engine
from feeds.web.documents import DocumentCache, FeedResponder
from feeds.web.pages import pages


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Flask:
    settings = settings or load_settings()
    if engine is None:
        engine = make_engine(settings.database)
        init_db(engine)
    cache = DocumentCache(engine, settings)
    cache.refresh()

    app = Flask(__name__)
    app.config["FEEDS_SETTINGS"] = settings
    app.extensions["feeds"] = {"engine": engine, "cache": cache, "settings": settings}
    app.register_blueprint(pages)
    app.wsgi_app = FeedResponder(app.wsgi_app, cache, settings)  # type: ignore[method-assign]
    return app
