"""feeds: article pages in, RSS 2.0, Atom 1.0 and JSON Feed 1.1 out.

Data flows one way: ingest -> store -> build -> serve (see README, Architecture).
"""
