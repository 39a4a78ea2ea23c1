"""Every limit on what the service reads and stores, in one place.

The push API and the folder scan read a page up to MAX_PAGE_BYTES and no further.
"""

from __future__ import annotations

MAX_PAGE_BYTES = 5 * 1024 * 1024  # a page file or a pushed body; a large article page is well under 1 MiB
