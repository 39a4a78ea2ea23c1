"""The exceptions the ingester raises; kept apart so every stage can import them."""


class IngestError(Exception):
    """The page cannot become an article; ``str()`` is a one-line reason (no file name)."""


class IngesterBug(IngestError):
    """The ingester itself failed on a page (an unexpected exception: a bug, not the page's
    fault). Still an IngestError, so a scan rejects that one page and carries on; the push
    API tells it apart to answer 500 rather than 422."""
