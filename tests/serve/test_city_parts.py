"""A file the reader reads as several returns (a city's workbook, each county a part below the
file's path: `兰州市.xlsx/安定区`): the page keeps every part's result and findings with the file,
follows them when the file is renamed as it is stored, and finds each county's part as its
standing return."""

from __future__ import annotations

from pipeline.model import Finding, ReadResult, Return, Severity, Source
from pipeline.run.check import FilesChecked, assembled
from pipeline.serve.desk import renamed
from pipeline.stages.tabulate import Tables

FILE = "兰州市.xlsx"


def finding(file: str, county: str, rule: str = "x", severity: Severity = Severity.WARNING) -> Finding:
    return Finding(severity, file, county, "表一", "F5", "", rule, "说明。")


def part(name: str, code: str) -> ReadResult:
    source = Source(f"{FILE}/{name}", 10, "ab", 1.0, "xlsx")
    return ReadResult(source, Return(source, code, None, {}), (finding(source.path, code, "read"),))


def files() -> FilesChecked:
    whole = Source(FILE, 20, "cd", 1.0, "xlsx")
    alone = Source("620102_城关区.xlsx", 5, "ef", 1.0, "xlsx")
    alone_result = ReadResult(alone, Return(alone, "620102", None, {}), ())
    results = (part("安宁区", "620105"), part("七里河区", "620103"), alone_result)
    found = (*(f for r in results for f in r.findings), finding(FILE, "620105", "across"), finding(alone.path, "620102"))
    return FilesChecked((whole, alone), results, found, Tables((), {}), 2)


def test_every_part_and_its_findings_stay_with_the_file_they_came_from():
    checked = files().checked()
    assert set(checked) == {FILE, "620102_城关区.xlsx"}
    city = checked[FILE]
    assert [r.source.path for r in city.results] == [f"{FILE}/安宁区", f"{FILE}/七里河区"]
    assert city.result.ret is None  # the file itself is no one county's return
    assert {(f.file, f.rule) for f in city.findings} == {(f"{FILE}/安宁区", "read"), (f"{FILE}/七里河区", "read"),
                                                        (FILE, "across")}
    alone = checked["620102_城关区.xlsx"]
    assert alone.parts == () and alone.results == (alone.result,) and alone.result.ret.county_code == "620102"
    # Judged apart and put together again, as the page does: the same results, every part kept.
    again = assembled(list(files().sources), checked)
    assert [r.source.path for r in again.results] == [r.source.path for r in files().results]


def test_a_stored_file_takes_its_parts_and_their_findings_with_it():
    city = files().checked()[FILE]
    moved = renamed(city, "620100_兰州市_市州报送_20161205-090000.xlsx", 5.0)
    new = "620100_兰州市_市州报送_20161205-090000.xlsx"
    assert [r.source.path for r in moved.parts] == [f"{new}/安宁区", f"{new}/七里河区"]
    assert all(r.ret.source == r.source and r.source.mtime == 5.0 for r in moved.parts)
    assert {f.file for f in moved.findings} == {new, f"{new}/安宁区", f"{new}/七里河区"}
    assert all(f.file == r.source.path for r in moved.parts for f in r.findings)
