"""``python -m feeds`` runs the same command line as the ``feeds`` script."""

from feeds.cli import main

if __name__ == "__main__":  # not when a spawned web worker re-imports this module as __mp_main__
    raise SystemExit(main())
