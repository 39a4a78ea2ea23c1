"""Temporary command line for the ingest branch; the lead's cli.py replaces it."""

from __future__ import annotations

import argparse
import sys

from feeds.config import ConfigError, load_settings
from feeds.ingest import commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="feeds")
    sub = parser.add_subparsers(dest="command", required=True)
    commands.register(sub)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    return args.func(args, settings)
