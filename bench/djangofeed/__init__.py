"""Django's syndication framework serving the bench's 50 items from SQLite: the
peer a Python user would pick. Bench only; Django is not a project dependency."""
