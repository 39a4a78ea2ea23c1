"""``python -m feeds`` runs the same command line as the ``feeds`` script."""

from feeds.cli import main

raise SystemExit(main())
