"""The one exception the ingester raises; kept apart so every stage can import it."""


class IngestError(Exception):
    """The page cannot become an article; ``str()`` is a one-line reason (no file name)."""
