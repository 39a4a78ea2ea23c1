"""Settings, URLconf, feed and WSGI application in one module.

``BENCH_DJANGO_DB`` names the SQLite file. Middleware: GZipMiddleware (gzip on
the fly) and ConditionalGetMiddleware (ETag and 304), as Django's docs suggest.
"""

from __future__ import annotations

import json
import os
import sys

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    SECRET_KEY="bench-only",
    ROOT_URLCONF=__name__,
    USE_TZ=True,
    INSTALLED_APPS=["djangofeed"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BENCH_DJANGO_DB"]}},
    MIDDLEWARE=["django.middleware.gzip.GZipMiddleware", "django.middleware.http.ConditionalGetMiddleware"],
)
django.setup()

from django.contrib.syndication.views import Feed  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path  # noqa: E402

from djangofeed.models import Story  # noqa: E402


class WorldFeed(Feed):
    title = "The Harbour Gazette: World"
    link = "https://harbourgazette.example/"
    description = "International news from our correspondents."

    def items(self):  # type: ignore[no-untyped-def]
        return Story.objects.filter(section="world").order_by("-published", "url")[:50]

    def item_title(self, item: Story) -> str:
        return item.title

    def item_description(self, item: Story) -> str:
        return item.content_html

    def item_link(self, item: Story) -> str:
        return item.url

    def item_guid(self, item: Story) -> str:
        return item.url

    def item_pubdate(self, item: Story):  # type: ignore[no-untyped-def]
        return item.published

    def item_updateddate(self, item: Story):  # type: ignore[no-untyped-def]
        return item.updated

    def item_author_name(self, item: Story) -> str:
        return item.author

    def item_categories(self, item: Story) -> list[str]:
        return [item.section]


urlpatterns = [path("feeds/world.rss", WorldFeed())]
application = get_wsgi_application()


def load(items_json: str) -> None:
    """Create the table and fill it with the bench's items (``python -m djangofeed.site items.json``)."""
    from datetime import datetime

    from django.db import connection

    with connection.schema_editor() as editor:
        editor.create_model(Story)
    with open(items_json, encoding="utf-8") as fh:
        rows = json.load(fh)
    Story.objects.bulk_create(
        Story(
            url=r["url"], title=r["title"], section=r["section"], summary=r["summary"],
            content_html=r["content_html"], author=r["author"],
            published=datetime.fromisoformat(r["published"]), updated=datetime.fromisoformat(r["updated"]),
        )
        for r in rows
    )


if __name__ == "__main__":
    load(sys.argv[1])
