"""The outbox's outputs always come from one run: a run killed at any step of its switch is
completed (or rolled back) by the next run before anything else."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.paths import ROOT
from pipeline.store import outbox as write
from pipeline.store.outbox import JOURNAL, WriteFailed, recover, write_outputs


def outputs(tag: str, rounds: str) -> dict[str, bytes]:
    return {
        "report.html": f"report {tag}".encode(),
        "report.docx": f"docx {tag}".encode(),
        "totals.csv": f"totals {tag}".encode(),
        f"returns/620102_{tag}.xlsx": f"returned {tag}".encode(),
        "returns/620103_七里河区.xlsx": f"returned {tag}".encode(),
        f"rounds/{rounds}/snapshot.json": f"round {tag}".encode(),
    }


def state(outbox: Path) -> dict[str, str]:
    """Every file in the outbox but the lock and the history, by its path."""
    return {p.relative_to(outbox).as_posix(): p.read_text() for p in sorted(outbox.rglob("*"))
            if p.is_file() and p.relative_to(outbox).parts[0] not in ("history", ".outbox.lock")}


A = outputs("A", "2016-1")
B = outputs("B", "2016-2")
# What the outbox holds after run A, and after run B: B's named outputs replace A's, its
# returns/ replaces A's whole, and its round is added beside A's.
AFTER_A = {k: v.decode() for k, v in A.items()}
AFTER_B = {k: v.decode() for k, v in B.items()} | {"rounds/2016-1/snapshot.json": "round A"}

KILLER = """
import os, signal, sys
from pathlib import Path
from pipeline.store import outbox as write
steps, kill_at = 0, int(sys.argv[2])
real = os.replace
def counting(src, dst):
    global steps
    steps += 1
    if steps == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)
os.replace = counting
write.write_outputs(Path(sys.argv[1]), {k: v.encode() for k, v in eval(sys.argv[3]).items()}, stamp="B")
print(steps)
"""


def run_b_killed_at(outbox: Path, step: int) -> subprocess.CompletedProcess:
    files = repr({k: v.decode() for k, v in B.items()})
    return subprocess.run([sys.executable, "-c", KILLER, str(outbox), str(step), files], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_a_run_killed_at_each_step_of_its_switch_leaves_one_runs_outputs(tmp_path):
    write_outputs(tmp_path / "whole", A, stamp="A")
    whole = run_b_killed_at(tmp_path / "whole", 0)
    assert whole.returncode == 0, whole.stderr
    assert state(tmp_path / "whole") == AFTER_B
    steps = int(whole.stdout)
    # the journal; A's four outputs aside (its round stays), B's five in; the history entry
    assert steps == 1 + 4 + 5 + 1
    seen = set()
    for step in range(1, steps + 1):
        outbox = tmp_path / f"kill-{step}"
        write_outputs(outbox, A, stamp="A")
        (outbox / "templates").mkdir()
        (outbox / "templates" / "mine.xlsx").write_text("the office's")
        killed = run_b_killed_at(outbox, step)
        assert killed.returncode == -signal.SIGKILL, (step, killed.stderr)
        recover(outbox)
        now = state(outbox)
        assert now.pop("templates/mine.xlsx") == "the office's"
        assert now in (AFTER_A, AFTER_B), (step, now)
        seen.add("A" if now == AFTER_A else "B")
        assert not [p.name for p in outbox.iterdir() if p.name.startswith(".") and p.name != ".outbox.lock"]
        entries = sorted(p.name for p in (outbox / "history").iterdir())
        assert entries in (["A"], ["A", "B"]), (step, entries)
        for entry in entries:  # a history entry is whole or absent
            assert len(list((outbox / "history" / entry).rglob("*.*"))) == len(A)
    assert seen == {"A", "B"}  # killed before the journal: A; after it: B, completed


def test_the_next_run_completes_a_cut_switch_before_anything_else(tmp_path):
    write_outputs(tmp_path, A)
    run_b_killed_at(tmp_path, 4)
    assert (tmp_path / JOURNAL).exists()
    write_outputs(tmp_path, {"report.html": b"C"})
    # B's switch was finished first (its docx, its round), then C replaced the report and,
    # having no returned workbooks, removed B's.
    assert state(tmp_path) == {"report.html": "C", "report.docx": "docx B", "totals.csv": "totals B",
                               "rounds/2016-1/snapshot.json": "round A", "rounds/2016-2/snapshot.json": "round B"}


def test_rounds_are_added_to_never_replaced_or_removed(tmp_path):
    write_outputs(tmp_path, A)
    write_outputs(tmp_path, {"report.html": b"C"})
    assert state(tmp_path) == {"report.html": "C", "rounds/2016-1/snapshot.json": "round A",
                               "report.docx": "docx A", "totals.csv": "totals A"}
    assert write.ADDITIVE_FOLDERS == ("rounds",)


def test_a_full_disk_while_staging_leaves_the_previous_report_and_no_debris(tmp_path, monkeypatch):
    write_outputs(tmp_path, A, stamp="A")
    before = state(tmp_path)
    real = Path.write_bytes

    def full(self, data):
        if self.name == "totals.csv":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(WriteFailed) as caught:
        write_outputs(tmp_path, B, stamp="B")
    assert str(caught.value).startswith("磁盘空间不足")
    assert state(tmp_path) == before
    assert sorted(p.name for p in (tmp_path / "history").iterdir()) == ["A"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_full_disk_while_keeping_history_leaves_no_partial_entry(tmp_path, monkeypatch):
    write_outputs(tmp_path, A, stamp="A")
    before = state(tmp_path)
    real = Path.write_bytes

    def full(self, data):
        if self.name == "totals.csv" and ".history-" in str(self):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(WriteFailed):
        write_outputs(tmp_path, B, stamp="B")
    assert state(tmp_path) == before
    assert sorted(p.name for p in (tmp_path / "history").iterdir()) == ["A"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_failure_during_the_switch_puts_the_old_report_back(tmp_path, monkeypatch):
    write_outputs(tmp_path, A, stamp="A")
    before = state(tmp_path)
    real, calls = os.replace, []

    def failing(src, dst):
        calls.append(dst)
        if len(calls) == 5:
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(WriteFailed):
        write_outputs(tmp_path, B, stamp="B")
    monkeypatch.setattr(os, "replace", real)
    assert state(tmp_path) == before
    assert not (tmp_path / JOURNAL).exists()


def test_a_journal_that_is_not_ours_is_ignored(tmp_path):
    write_outputs(tmp_path, A)
    (tmp_path / JOURNAL).write_text("{not json")
    recover(tmp_path)
    assert state(tmp_path) == AFTER_A
    (tmp_path / JOURNAL).write_text(json.dumps([1, 2]))
    write_outputs(tmp_path, B)
    assert state(tmp_path) == AFTER_B


CTRL_C_AFTER_SWITCH = """
import os, signal, sys, time
from pipeline import cli
def summary(*args):
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C once the report is in place
    time.sleep(5)
cli._summary = summary
sys.exit(cli.main(["report", "--inbox", sys.argv[1], "--outbox", sys.argv[2]]))
"""


def test_ctrl_c_after_the_switch_does_not_say_nothing_was_written(tmp_path, form, units):
    from tests.builders import write_return

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    write_return(inbox, form, units.by_code("620102"))
    done = subprocess.run([sys.executable, "-c", CTRL_C_AFTER_SWITCH, str(inbox), str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 130
    assert "本次没有写出报告" not in done.stderr
    assert done.stderr.strip() == "已中断：中断时报告已全部写出。"
    assert (out / "report.docx").stat().st_size > 0 and not (out / JOURNAL).exists()
