"""The page's inbox full, out of inodes or read-only while counties upload, against the real
server: the county gets a Chinese answer, nothing half-written stays, the earlier return stands,
and a return that was stored is never answered as failed (issue 26, item 11).

The inbox is a small tmpfs mounted for the test (the machine's root may do that; the tests
need it, so under CI they fail rather than skip where it cannot be mounted)."""

from __future__ import annotations

import os
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipeline.outputs.formbook import build_return, workbook_bytes
from tests.builders import clean_rows
from tests.serving import request, start_server, upload


@contextmanager
def small_disk(path: Path, *, size: str = "4m", inodes: int = 1000):
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},nr_inodes={inodes},mode=0755", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        reason = f"cannot mount a small tmpfs here: {mounted.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def read_only(path: Path) -> None:
    """The folder read-only from now on, as a share whose rights changed is: a read-only view
    mounted over it (the server's lock files, open for writing, would refuse a remount)."""
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True, capture_output=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True, capture_output=True)


def writable_again(path: Path) -> None:
    subprocess.run(["umount", str(path)], check=True, capture_output=True)


def fill(folder: Path, *, inodes: bool = False) -> list[Path]:
    """Take every free block (or, with `inodes`, every free inode) of the folder's disk."""
    made: list[Path] = []
    try:
        while True:
            p = folder / f".filler-{len(made)}"
            with open(p, "wb") as f:
                made.append(p)
                if not inodes:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
    except OSError:
        pass
    return made


def workbook(form, unit, bump: int = 0) -> bytes:
    rows = clean_rows()
    rows[0]["role_models"] += bump
    return workbook_bytes(build_return(form, unit, rows))


def debris(inbox: Path) -> list[str]:
    return [p.name for p in inbox.rglob(".upload-*")]


def standing_file(server, code: str) -> str:
    office = request("GET", server.status_url()).text
    row = re.search(rf'<tr data-code="{code}">(.*?)</tr>', office, re.S).group(1)
    return row


def returns_of(inbox: Path, code: str) -> list[Path]:
    return sorted(p for p in inbox.iterdir() if p.name.startswith(code) and p.is_file())


def test_a_read_only_or_full_inbox_refuses_the_upload_in_chinese_and_the_earlier_return_stands(tmp_path, form, units):
    outbox = tmp_path / "out"
    with small_disk(tmp_path / "in", size="2m") as inbox:
        server = start_server(inbox, outbox, upload_interval_seconds=0)
        try:
            unit = units.by_code("620102")
            url = server.links()[unit.code]
            first = upload(url, "a.xlsx", workbook(form, unit)).json
            assert first["status"] == "accepted"
            for how in ("read-only", "full"):
                if how == "read-only":
                    read_only(inbox)
                else:
                    filler = fill(inbox)
                answer = upload(url, "b.xlsx", workbook(form, unit, bump=1 if how == "full" else 2))
                assert answer.status == 503, (how, answer.body[:300])
                body = answer.json
                assert body["status"] == "failed" and "没有保存" in body["message"] and "原来的报送情况不变" in body["message"]
                assert ("只读" if how == "read-only" else "磁盘空间不足") in body["message"]
                page = upload(url, "b.xlsx", workbook(form, unit, bump=3), as_json=False)
                assert page.status == 503 and "报表没有保存" in page.text and "Internal Server Error" not in page.text
                assert [p.name for p in returns_of(inbox, unit.code)] == [first["file"]]  # the earlier return stands
                assert debris(inbox) == []  # nothing half-written
                assert "已报送" in standing_file(server, unit.code)
                if how == "read-only":
                    writable_again(inbox)
                else:
                    for p in filler:
                        p.unlink()
            again = upload(url, "c.xlsx", workbook(form, unit, bump=4)).json
            assert again["status"] == "accepted" and [p.name for p in returns_of(inbox, unit.code)] == [again["file"]]
        finally:
            server.stop()


def test_with_the_inodes_full_a_stored_return_is_never_answered_as_failed(tmp_path, form, units):
    """However few inodes are left (none, one, two, three), what the county is told is what is
    on the disk: accepted, and its return there whole; or not saved, and nothing new there."""
    outbox = tmp_path / "out"
    with small_disk(tmp_path / "in", size="16m", inodes=80) as inbox:
        server = start_server(inbox, outbox, upload_interval_seconds=0)
        try:
            sent = units.by_code("620103")
            assert upload(server.links()[sent.code], "a.xlsx", workbook(form, sent), explanation="已核实。").status == 200
            told = set()
            for free, fresh in zip(range(4), ("620104", "620105", "620111", "620121")):
                filler = fill(inbox, inodes=True)
                for p in filler[len(filler) - free:]:
                    p.unlink()
                for unit, bump in ((sent, 10 + free), (units.by_code(fresh), 0)):
                    data = workbook(form, unit, bump=bump)
                    before = returns_of(inbox, unit.code)
                    answer = upload(server.links()[unit.code], "b.xlsx", data, explanation="又核实。")
                    body = answer.json
                    told.add(body["status"])
                    if body["status"] == "accepted":
                        assert answer.status == 200 and (inbox / body["file"]).read_bytes() == data, (free, unit.code)
                        assert returns_of(inbox, unit.code) == [inbox / body["file"]]
                    else:
                        assert answer.status == 503 and "磁盘空间不足" in body["message"], (free, unit.code, body)
                        assert returns_of(inbox, unit.code) == before
                    assert debris(inbox) == []
                for p in inbox.glob(".filler-*"):
                    p.unlink()
            assert told == {"accepted", "failed"}  # both were tried
        finally:
            server.stop()
