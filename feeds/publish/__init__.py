"""Publish: which feeds exist, render every format, write what changed, ping the hub."""
