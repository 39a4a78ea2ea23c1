"""Ingest: the bytes of one HTML page become one :class:`feeds.model.Article`, or an IngestError."""

from feeds.ingest.pipeline import INGESTER_VERSION, IngestError, IngesterBug, ingest_page

__all__ = ["INGESTER_VERSION", "IngestError", "IngesterBug", "ingest_page"]
