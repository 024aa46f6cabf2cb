"""The run's helper processes (readers, the chart drawer) never outlive it.

They are forked, and a forked child holds copies of its siblings' pipe ends, so it would
not see its parent go: without this, a run stopped by Ctrl-C or killed outright could leave
processes waiting forever on the office PC.
"""

from __future__ import annotations

import os
import signal


def die_with_parent(parent: int) -> None:
    """In a child: be killed when the parent dies, however it dies (Linux; elsewhere the
    parent's own stop handler ends its children)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def stop_children() -> None:
    """In the parent, stopping: end every helper process now."""
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()
