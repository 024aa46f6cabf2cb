"""One run at a time on an outbox: the lock, and what a second run is told."""

from __future__ import annotations

import os
import socket
import time

import pytest

from pipeline.store.lock import LockHeld, outbox_lock
from tests.builders import hold


def test_a_held_outbox_names_its_holder_after_the_wait(tmp_path):
    proc = hold(tmp_path, 30)
    try:
        t = time.monotonic()
        with pytest.raises(LockHeld) as caught, outbox_lock(tmp_path, wait=0.5):
            pass
        assert 0.4 < time.monotonic() - t < 5
        assert caught.value.pid == proc.pid
        assert caught.value.host == socket.gethostname()
        assert str(caught.value).startswith(f"另一次汇总正在进行（进程 {proc.pid}")
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_is_had_once_its_holder_ends_however_it_ended(tmp_path):
    proc = hold(tmp_path, 30)
    proc.kill()  # no chance to unlock: the system drops the lock with the process
    proc.wait()
    with outbox_lock(tmp_path, wait=0.5):
        pass


def test_a_second_run_waits_for_the_first_to_finish(tmp_path):
    proc = hold(tmp_path, 1.0)
    t = time.monotonic()
    with outbox_lock(tmp_path, wait=10):
        assert time.monotonic() - t > 0.8  # had only once the holder was done
    proc.wait()


def test_the_lock_is_exclusive_within_one_process_too(tmp_path):
    with outbox_lock(tmp_path), pytest.raises(LockHeld), outbox_lock(tmp_path, wait=0.2):
        pass
    assert os.path.exists(tmp_path / ".outbox.lock")
