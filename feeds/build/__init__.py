"""Build: select each feed's newest items, render every format, publish what changed."""
