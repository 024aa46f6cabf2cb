"""The spreadsheet engine's own reports held back from the console while files are read.

calamine (Rust) writes a panic's report to the process's standard error before Python sees the
panic, which the reader turns into that file's finding; staff would read it as the program
crashing. Standard error belongs to the whole process: one thread at a time holds it.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from contextlib import contextmanager


@contextmanager
def engine_reports_held_back():
    """The spreadsheet engine (calamine, in Rust) writes a panic's report, and with
    RUST_BACKTRACE set a page of backtrace, straight to the process's standard error before
    Python sees the panic, which `_guarded` makes that file's finding. Staff would read it as
    the program crashing. So while a group of files is read, standard error goes to a
    temporary file; afterwards what was written there is passed on, less the engine's reports.
    Standard error belongs to the whole process: one thread at a time holds it (the submission
    page checks in a worker thread while its server logs)."""
    with _HOLDING:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
            held = tempfile.TemporaryFile()
        except (OSError, ValueError, AttributeError):  # no standard error to hold (a service, a closed stream)
            yield
            return
        os.dup2(held.fileno(), 2)
        _HELD.append(saved)
        try:
            yield
        finally:
            _HELD.pop()
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            rest = without_engine_reports(held.read().decode("utf-8", "replace"))
            held.close()
            if rest:
                sys.stderr.write(rest)


_HOLDING = threading.RLock()
_HELD: list[int] = []  # the console's standard error while a group's is held back


def release_stderr() -> None:
    """Standard error back to the console at once: for a run being stopped (Ctrl-C), which
    says so there and ends before the group it was reading is done."""
    if _HELD:
        try:
            os.dup2(_HELD[0], 2)
        except OSError:
            pass


_PANIC = re.compile(r"^thread '.*' (?:\(\d+\) )?panicked at ")


def without_engine_reports(text: str) -> str:
    """The text less each Rust panic report: its first line (thread '…' panicked at …), the
    message under it, and the backtrace and notes that follow."""
    out: list[str] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        if not _PANIC.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        # the report's line, and its message on the next line when the line ends with a colon
        # (an older Rust puts the message on the report's line itself)
        i += 2 if lines[i].rstrip().endswith(":") else 1
        while i < len(lines) and (lines[i].startswith((" ", "\t", "stack backtrace:", "note: "))):
            i += 1
    return "".join(out)
