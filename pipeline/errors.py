"""The one kind of error that ends a command: `Fatal`, a sentence for the office's staff.

Problems with a county's return are never this (they are findings). `Fatal` is for what stops
the whole run (settings that cannot be used, an outbox that cannot be written, another run
holding the outbox); the command line prints its message as one line and exits with status 2.
"""

from __future__ import annotations


class Fatal(Exception):
    """A run cannot go on; `str(error)` is one Chinese sentence that says what to do."""
