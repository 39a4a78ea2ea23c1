"""A time budget per page: past it, the page is rejected ("took over 5 s to ingest").

Ingesting runs in the caller's thread: a scan's worker process, a web worker
serving a push (a gevent greenlet today, a Granian thread soon), ``feeds inspect``.
A hard limit in-process would need a signal (main thread only, so not under
Granian or in the clock's scheduler thread) or an exception injected from a
watchdog thread (which would land in another greenlet under gevent), so the
deadline is cooperative, and checked where nearly all the work happens: every
time lxml hands Python an element of the page's tree. The page is parsed with a
parser whose element class lookup (the Python hook lxml calls for each element
it wraps) checks the clock, so every walk over the tree checks it, ours and the
extractor's alike (trafilatura deep-copies the tree, and copies keep the
parser). A walk raises :class:`OverBudget` at most ``CHECK_EVERY`` elements
after the deadline.

It derives from BaseException so that the extractor's own ``except Exception``
fallbacks cannot swallow it; :func:`feeds.ingest.pipeline.ingest_page` turns it
into an IngestError. What does not touch the tree (one regular expression over
the text, nh3 on the body) is linear and not checked inside; the pipeline
checks between stages. Third-party steps that are neither (justext's neighbour
search, quadratic in the paragraphs) are kept off large pages by the extractor
(see :mod:`feeds.ingest.extract`).
"""

from __future__ import annotations

import time

from lxml import html as lhtml

BUDGET_SECONDS = 5.0  # a real page takes tens of milliseconds; a 1 MiB one about a second
CHECK_EVERY = 64  # elements between looks at the clock (a look costs about a twentieth of a wrap)


class OverBudget(BaseException):
    """The page used up its time budget; not an Exception, so no fallback catches it."""


class Deadline:
    """When the page's budget runs out."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = BUDGET_SECONDS if seconds is None else seconds  # read now: a test may lower it
        self.at = time.monotonic() + self.seconds

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise OverBudget(self.reason)

    @property
    def reason(self) -> str:
        return f"took over {self.seconds:g} s to ingest"

    def parser(self) -> lhtml.HTMLParser:
        """An HTML parser whose trees check this deadline as they are walked."""
        return _DeadlineParser(self)


class _DeadlineParser(lhtml.HTMLParser):
    """lxml.html's parser with a deadline: its trees, and copies of them, keep it."""

    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self.deadline = deadline
        self.set_element_class_lookup(_DeadlineLookup(deadline))


def check_deadline(el: lhtml.HtmlElement) -> None:
    """Check the deadline of the page ``el`` belongs to (if it has one), between steps.

    For the steps that scan the tree in C without handing elements to Python (an XPath
    that finds nothing), where the lookup is not called.
    """
    deadline = getattr(el.getroottree().parser, "deadline", None)
    if deadline is not None:
        deadline.check()


class _DeadlineLookup(lhtml.HtmlElementClassLookup):
    """lxml.html's own lookup (HtmlElement and friends), plus a look at the deadline."""

    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self.deadline = deadline
        self.count = 0

    def lookup(self, node_type: str, document: object, namespace: str | None, name: str) -> type:
        self.count += 1
        if self.count % CHECK_EVERY == 0:
            self.deadline.check()
        return super().lookup(node_type, document, namespace, name)


def parse_fragment(markup: str, parser: lhtml.HTMLParser | None = None) -> lhtml.HtmlElement:
    """``lxml.html.fragment_fromstring(markup, create_parent="div")``, but the new ``<div>``
    belongs to ``parser`` too (lxml makes it with its default parser), so walks over the
    fragment check the same deadline."""
    parser = parser or lhtml.HTMLParser()
    elements = lhtml.fragments_fromstring(markup, parser=parser, no_leading_text=False)
    root: lhtml.HtmlElement = parser.makeelement("div")
    if elements and isinstance(elements[0], str):
        root.text = elements.pop(0)
    root.extend(elements)
    return root
