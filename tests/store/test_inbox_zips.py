"""Zips as offices send them (issue 25): a member named in GBK without the UTF-8 flag is listed,
and identifies its county, by the name its clerk wrote; a city's zip of its counties' zips is
looked into, down to the depth the settings give (default 2), with the same size limits."""

from __future__ import annotations

import zipfile

from pipeline.outputs.formbook import Layout, build_return, workbook_bytes
from pipeline.stages.read.sources import read_sources
from pipeline.store import archives
from pipeline.store.archives import zips_down_to
from pipeline.store.inbox import discover, take_view
from tests.builders import clean_rows, zip_of, zip_with_gbk_names

CODE = "620102"


def unnamed_return(form, units) -> bytes:
    """A return whose content names no county: its file's name must."""
    return workbook_bytes(build_return(form, units.by_code(CODE), clean_rows(), layout=Layout(title=False)))


def test_a_gbk_member_name_is_the_name_shown_and_the_name_that_identifies(tmp_path, form, units):
    data = zip_with_gbk_names({"城关区/城关区报表.xlsx": unnamed_return(form, units)})
    (tmp_path / "x.zip").write_bytes(data)
    assert not zipfile.ZipFile(tmp_path / "x.zip").infolist()[0].flag_bits & 0x800  # as Windows writes it
    view = take_view(tmp_path)
    [source] = view.readable()
    assert source.path == "x.zip/城关区/城关区报表.xlsx" and source.member == "城关区/城关区报表.xlsx"
    [result] = read_sources([(source, view.data[source.path])], form, units)
    assert result.ret.county_code == CODE and "unit-unknown" not in {f.rule for f in result.findings}


def test_a_zip_of_zips_is_listed_to_the_depth_set(tmp_path, form, units):
    good = unnamed_return(form, units)
    (tmp_path / "兰州市.zip").write_bytes(zip_of({
        "城关区.zip": zip_with_gbk_names({"城关区报表.xlsx": good}),
        "深/a.zip": zip_of({"b.zip": zip_of({"620103_七里河区.xlsx": good})}),
    }))
    listed = {s.path: (s.kind, s.member) for s in discover(tmp_path)}
    assert listed == {"兰州市.zip/城关区.zip/城关区报表.xlsx": ("xlsx", "城关区.zip/城关区报表.xlsx"),
                      "兰州市.zip/深/a.zip/b.zip": ("archive", "深/a.zip/b.zip")}
    with zips_down_to(3):
        assert "兰州市.zip/深/a.zip/b.zip/620103_七里河区.xlsx" in {s.path for s in discover(tmp_path)}
    with zips_down_to(1):
        assert {s.path: s.kind for s in discover(tmp_path)} == {"兰州市.zip/城关区.zip": "archive",
                                                                "兰州市.zip/深/a.zip": "archive"}
    view = take_view(tmp_path)
    [source] = view.readable()
    [result] = read_sources([(source, view.data[source.path])], form, units)
    assert result.ret.county_code == CODE  # by the inner member's own name


def test_a_member_past_the_size_limit_inside_an_inner_zip_is_not_read(tmp_path, form, units, monkeypatch):
    monkeypatch.setattr(archives, "MAX_RETURN_BYTES", 1000)  # the budget of a zip's members
    (tmp_path / "city.zip").write_bytes(zip_of({"county.zip": zip_of({"big.xlsx": b"PK\x03\x04" + bytes(5000)})}))
    assert [(s.path, s.kind) for s in discover(tmp_path)] == [("city.zip/county.zip/big.xlsx", "broken")]
