"""The inbox is seen at one instant: a report run lists it once and reads each file's bytes then,
under the lock the submission page holds while it stores an upload; every later step uses those
bytes, never the path again. An upload accepted during a run is wholly in that run or wholly in
the next, and a file gone between listing and reading is never a finding against its county.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
import threading

from pipeline.outputs.formbook import build_return, workbook_bytes
from pipeline.paths import ROOT
from pipeline.run.report import build_run
from pipeline.store.inbox import take_view
from tests.builders import EXAMPLE, clean_rows
from tests.serving import start_server, upload

CODE = "620402"  # 白银区


def test_a_run_uses_the_bytes_it_read_when_it_listed(tmp_path, settings, form, units):
    """The files moved away after the view was taken: the run goes on from the view, and the
    returned workbooks are marked from the bytes read then."""
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    rows = clean_rows()
    rows[0]["households_visited"] = rows[0]["households_total"] // 2  # a warning: its workbook goes back
    rows[0]["households_visited_twice"] = rows[0]["households_visited"] // 2
    name = f"{CODE}_白银区.xlsx"
    (inbox / name).write_bytes(workbook_bytes(build_return(form, units.by_code(CODE), rows)))
    view = take_view(inbox)
    elsewhere = tmp_path / "moved"
    inbox.rename(elsewhere)  # every path the view listed is gone
    run = build_run(view, settings)
    assert not [f for f in run.findings if f.severity.value == "error"]
    assert all(u.status == "included" for u in run.roster.units)
    assert f"returns/{CODE}_白银区.xlsx" in run.files


def _roster(outbox) -> dict[str, str]:
    with open(outbox / "roster.csv", encoding="utf-8-sig", newline="") as f:
        return {row["code"]: row["status"] for row in csv.DictReader(f)}


def test_a_county_reuploading_while_the_office_runs_reports(tmp_path, form, units):
    """Against the real server: one county uploads a corrected return again and again while
    `make report` runs on the same inbox, run after run: every run exits 0, writes every output,
    and lists that county 已报送, never a file that vanished under it."""
    inbox, outbox, reports = tmp_path / "inbox", tmp_path / "outbox", tmp_path / "reports"
    shutil.copytree(EXAMPLE, inbox)
    (inbox / f"{CODE}_白银区.xlsx").unlink()  # the county reports by the page only
    server = start_server(inbox, outbox, upload_interval_seconds=0)  # the county may upload as fast as it likes
    stop = threading.Event()
    accepted: list[int] = []
    refused: list[str] = []

    def reupload() -> None:
        url = server.links()[CODE]
        rows = clean_rows()
        n = 0
        while not stop.is_set():
            n += 1
            rows[0]["role_models"] = n  # a correction each time: stored, the older one moved to .versions/
            answer = upload(url, "白银区.xlsx", workbook_bytes(build_return(form, units.by_code(CODE), rows)))
            (accepted if answer.status == 200 else refused).append(answer.status)

    uploader = threading.Thread(target=reupload, daemon=True)
    try:
        assert upload(server.links()[CODE], "白银区.xlsx",
                      workbook_bytes(build_return(form, units.by_code(CODE), clean_rows()))).status == 200
        uploader.start()
        for i in range(6):
            out = reports / f"run{i}"
            done = subprocess.run([sys.executable, "-m", "pipeline", "report", "--inbox", str(inbox),
                                   "--outbox", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
            for name in ("report.docx", "report.html", "validation.html", "findings.csv", "roster.csv",
                         "totals.csv", "consolidated.xlsx", "manifest.csv"):
                assert (out / name).is_file(), name
            assert _roster(out)[CODE] == "已报送", (out / "findings.csv").read_text(encoding="utf-8-sig")
            findings = (out / "findings.csv").read_text(encoding="utf-8-sig")
            assert "FileNotFoundError" not in findings and "internal-error" not in findings
            assert len([line for line in io.StringIO(findings) if CODE in line]) == 0
    finally:
        stop.set()
        uploader.join(timeout=60)
        server.stop()
    assert len(accepted) >= 6 and not refused  # the county kept uploading all along
