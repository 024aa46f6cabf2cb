"""Rounds (回头看): two rounds made from the bundled example's figures, compared.

Round 1 is the example as it is. Round 2 doubles every county's figures (every count is
cumulative), except: 七里河区 resends its round-1 file unchanged, 西固区 lets one township's
宣传政策场次 fall, 安宁区 renames a township, and 红古区 sends nothing.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
import zlib
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pipeline import cli
from pipeline.outputs.example import example_returns
from pipeline.outputs.formbook import build_return, workbook_bytes
from pipeline.paths import ROOT
from tests.builders import EXAMPLE, files_in

RESENT, FALLEN, RENAMED, MISSING = "620103", "620104", "620105", "620111"
FELL_FIELD = "policy_sessions"
NEW_NAME = "新名街道"


def _rows(form, units):
    counts = ROOT / "scripts" / "township-counts-gansu-2016.csv"
    return {u.code: (u, rows, filed) for u, rows, filed in example_returns(form, units, counts)}


def _second_round(form, first: dict) -> dict:
    second = {}
    for code, (unit, rows, filed) in first.items():
        if code == MISSING:
            continue
        if code == RESENT:
            second[code] = (unit, rows, filed)
            continue
        doubled = [{"township": r["township"]} | {k: 2 * r[k] for k in form.field_keys} for r in rows]
        if code == FALLEN:
            doubled[0][FELL_FIELD] = rows[0][FELL_FIELD] // 2
        if code == RENAMED:
            doubled[0]["township"] = NEW_NAME
        second[code] = (unit, doubled, filed)
    return second


EXPLAINED = "因统计口径调整，该乡镇宣传政策场次按新口径重新统计。"


def _write(folder: Path, form, returns: dict, explain: dict[str, str] | None = None) -> None:
    """The returns as workbooks; `explain` (county code → words) fills 表三's 上报说明 cell."""
    from pipeline.outputs.formbook import Layout, build_with_plans

    folder.mkdir(parents=True)
    for unit, rows, filed in returns.values():
        words = (explain or {}).get(unit.code)
        if words:
            wb, plans = build_with_plans(form, unit, rows, filed_on=filed, layout=Layout(explanation=True),
                                         people=("王丽", "陈强", "0931-8123456"))
            spec = form.sheet("outcomes")
            wb[f"{spec.number}{spec.label}"].cell(plans["outcomes"].explanation_row, 2, words)
        else:
            wb = build_return(form, unit, rows, filed_on=filed)
        (folder / f"{unit.code}_{unit.name}.xlsx").write_bytes(workbook_bytes(wb))


def _csv(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


@pytest.fixture(scope="module")
def two_rounds(tmp_path_factory, form, units):
    base = tmp_path_factory.mktemp("rounds")
    first = _rows(form, units)
    second = _second_round(form, first)
    _write(base / "in1", form, first)
    _write(base / "in2", form, {c: v for c, v in second.items() if c != RESENT}, {FALLEN: EXPLAINED})
    resent = next((base / "in1").glob(f"{RESENT}_*.xlsx"))
    shutil.copy2(resent, base / "in2" / resent.name)  # the very same file again
    out = base / "out"
    assert cli.main(["report", "--inbox", str(base / "in1"), "--outbox", str(out), "--round", "2016-11"]) == 0
    assert cli.main(["report", "--inbox", str(base / "in2"), "--outbox", str(out), "--round", "2016-12"]) == 0
    return base, out, first, second


def _cells(form, unit, rows):
    """Where build_return puts things: the issued layout's rows and columns, per sheet."""
    from pipeline.outputs.formbook import build_with_plans

    _, plans = build_with_plans(form, unit, rows, filed_on=None)
    return plans


def test_second_round_findings_are_exactly_the_known_changes(two_rounds, form, units):
    from openpyxl.utils import get_column_letter

    from pipeline.stages.compare import hb_outliers

    _, out, first, second = two_rounds
    found = {(f["rule"], f["county_code"], f["sheet"], f["cell"], f["field"], f["severity"])
             for f in _csv(out / "findings.csv")}
    outcomes = form.sheet("outcomes")
    sheet_name = f"{outcomes.number}{outcomes.label}"
    unit, rows, _ = second[FALLEN]
    plan = _cells(form, unit, rows)["outcomes"]
    col = get_column_letter(plan.columns[FELL_FIELD])
    visits = form.sheet("visits")
    renamed_plan = _cells(form, *second[RENAMED][:2])["visits"]
    expected = {
        ("same-file-as-previous", RESENT, "", "", "", "warning"),  # the very file again: said so, once
        ("below-previous", FALLEN, sheet_name, f"{col}{plan.first_data}", FELL_FIELD, "warning"),
        ("township-added", RENAMED, f"{visits.number}{visits.label}",
         f"{get_column_letter(renamed_plan.columns['township'])}{renamed_plan.first_data}", "township", "info"),
        ("township-dropped", RENAMED, "", "", "township", "info"),
    }
    # The fallen county's 宣传政策场次 grew less than every other county's (which doubled): by
    # hand, its Hidiroglou–Berthelot score is far outside the band, and nothing else is.
    before = sum(r[FELL_FIELD] for r in first[FALLEN][1])
    now = sum(r[FELL_FIELD] for r in rows)
    ratio = Fraction(now, before)
    score = (1 - 2 / float(ratio)) * max(now, before) ** 0.5
    assert ratio < 2 and abs(score) > 20 * 0.05  # outside E_M ± C·A with every other score 0
    expected.add(("jump-since-previous", FALLEN, sheet_name, f"{col}{plan.total_row}", FELL_FIELD, "info"))
    assert found == expected
    messages = {f["rule"]: f["message"] for f in _csv(out / "findings.csv")}
    assert f"由上期的{first[FALLEN][1][0][FELL_FIELD]}场次降为{rows[0][FELL_FIELD]}场次，累计数一般不应减少，请核实" \
        in messages["below-previous"]
    assert f"（{rows[0]['township']}）" in messages["below-previous"]
    assert "上期（2016年11月）" in messages["same-file-as-previous"]  # as the report names a round
    old_name = first[RENAMED][1][0]["township"]
    assert old_name in messages["township-dropped"] and NEW_NAME in messages["township-added"]
    assert hb_outliers([2, 4], [1, 2]).tolist() == [False, False]  # too few to say what is out of line


def test_warnings_never_exclude_a_county_and_the_missing_one_is_chased(two_rounds):
    _, out, _, _ = two_rounds
    roster = {r["code"]: r for r in _csv(out / "roster.csv")}
    assert roster[RESENT]["status"] == roster[FALLEN]["status"] == "已报送"
    assert roster[MISSING]["status"] == "未报送" and roster[MISSING]["previous_status"] == "已报送"
    assert roster[FALLEN]["warnings"] == "1"  # the fall: its workbook goes back, marked
    assert (out / "returns").is_dir() and list((out / "returns").glob(f"{FALLEN}_*.xlsx"))
    page = (out / "validation.html").read_text(encoding="utf-8")
    chase = page.split("催报名单")[1].split("</table>")[0]
    assert "红古区" in chase and "上期已报送，本期未报送" in chase
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "红古区（上期已报送）" in report


def test_totals_compare_only_counties_in_both_rounds(two_rounds, form):
    _, out, first, second = two_rounds
    rows = {(r["level"], r["code"]): r for r in _csv(out / "totals.csv")}
    header = list(rows[("province", "620000")].keys())
    keys = list(form.field_keys)
    assert header[-2 * len(keys):] == [f"{k}_{p}" for k in keys for p in ("previous", "change")]
    both = [c for c in second if c in first]
    for k in keys:
        before = sum(r[k] for c in both for r in first[c][1])
        now = sum(r[k] for c in both for r in second[c][1])
        assert rows[("province", "620000")][f"{k}_previous"] == str(before)
        assert rows[("province", "620000")][f"{k}_change"] == str(now - before)
    lanzhou = rows[("city", "620100")]  # 红古区 is in 兰州: its city compares the others only
    lz = [c for c in both if c.startswith("6201")]
    before = sum(r["precision_found"] for c in lz for r in first[c][1])
    assert lanzhou["precision_found_previous"] == str(before)
    assert rows[("county", MISSING)]["precision_found_previous"] == ""
    assert rows[("county", MISSING)]["precision_found_change"] == ""
    assert rows[("county", RESENT)]["precision_found_change"] == "0"


def _half_up(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _table_rate(num: int, den: int) -> str:
    """As the tables show a rate: half up to two decimals, but never 100.00% below 100%."""
    hundredths = int(_half_up(Fraction(100 * num, den)) * 100)
    if num < den:
        hundredths = min(hundredths, 9999)
    return f"{hundredths // 100}.{hundredths % 100:02d}%"


def test_comparison_table_is_the_hand_computation(two_rounds, form):
    _, out, first, second = two_rounds
    html = (out / "report.html").read_text(encoding="utf-8")
    table = re.split(r'<table class="[^"]*\bcompare\b[^>]*>', html)[1].split("</table>")[0]
    rows = [re.findall(r"<td[^>]*>([^<]*)</td>", tr) for tr in table.split("<tbody>")[1].split("</tr>")[:-1]]
    both = [c for c in second if c in first]
    found = ("precision_found", "guarantees_found", "disputes_found")
    fixed = ("precision_fixed", "guarantees_fixed", "disputes_fixed")

    def total(rounds, codes, keys):
        return sum(r[k] for c in codes for r in rounds[c][1] for k in keys)

    def expected(name, codes):
        now, before = total(second, codes, found), total(first, codes, found)
        cells = [name, str(len(codes)), str(now), str(before), f"+{now - before}", f"{_half_up(Fraction(100 * (now - before), before))}%"]
        for num, den in ((fixed, found), (("households_visited",), ("households_total",))):
            n1, d1 = total(second, codes, num), total(second, codes, den)
            n0, d0 = total(first, codes, num), total(first, codes, den)
            # the change is the difference of the two rates as printed: a reader's check holds
            change = Decimal(_table_rate(n1, d1)[:-1]) - Decimal(_table_rate(n0, d0)[:-1])
            cells += [_table_rate(n1, d1), _table_rate(n0, d0), f"+{change}" if change > 0 else str(change) if change < 0 else "0.00"]
        return cells

    # 本期 before 上期 in every group of columns, the rates' as the count's
    periods = re.findall(r"[本上]期", table.split("<tbody>")[0])
    assert periods == ["本期", "上期"] * 3, periods
    assert rows[0] == expected("全省", both)
    lanzhou = [c for c in both if c.startswith("6201")]
    assert rows[1] == expected("兰州市", lanzhou)
    assert len(rows) == 1 + 14
    assert "两期均已汇总的县（市、区）共86个" in html and "本期（2016年12月）与上期（2016年11月）比较" in html


def test_the_snapshot_holds_statuses_hashes_townships_and_sums(two_rounds, form):
    _, out, first, second = two_rounds
    (snap,) = (out / "rounds" / "2016-11").glob("*/snapshot.json")
    doc = json.loads(snap.read_bytes())
    assert doc["format"] == 2 and doc["round"] == "2016-11"
    assert doc["form"] == {"key": form.key, "version": form.version, "fields": sorted(form.field_keys)}
    assert doc["counties"][MISSING]["status"] == "included" and len(doc["counties"][MISSING]["sha256"]) == 64
    visits = doc["sheets"]["visits"]
    at = visits["counties"].index(RENAMED)
    start = sum(visits["sizes"][:at])
    # A column as the format says: little-endian integers of the dtype named, zlib, base64; a
    # sheet's townships are places in the file's one list of names.
    def unpack(packed):
        return np.frombuffer(zlib.decompress(base64.b64decode(packed["zlib_base64"])), dtype=packed["dtype"])

    places = unpack(visits["townships"])
    assert doc["names"][places[start]] == first[RENAMED][1][0]["township"]
    assert len(set(doc["names"])) == len(doc["names"])
    packed = visits["values"]["villages_total"]
    assert packed["dtype"] == "<u2" and doc["sheets"]["visits"]["values"]["households_total"]["dtype"] == "<u2"
    column = unpack(packed)
    assert len(column) == sum(visits["sizes"]) == len(places)
    assert column[start] == first[RENAMED][1][0]["villages_total"]
    i = doc["totals"]["counties"].index(FALLEN)
    assert doc["totals"]["values"][FELL_FIELD][i] == sum(r[FELL_FIELD] for r in first[FALLEN][1])
    # the run's history entry holds it too, as it holds every output of the run
    assert len(list((out / "history").glob("*/rounds/2016-11/*/snapshot.json"))) == 1


def test_a_format_1_snapshot_with_names_in_full_reads_as_format_2(two_rounds, tmp_path):
    """Snapshots are kept for years: one written before township names were listed once per
    file (each sheet's names in full) reads back to the same rows, and the second round
    compared with it finds the same things."""
    from pipeline.store.rounds import load_snapshot

    base, out, _, _ = two_rounds
    (snap,) = (out / "rounds" / "2016-11").glob("*/snapshot.json")
    doc = json.loads(snap.read_bytes())
    names = doc.pop("names")
    for sheet in doc["sheets"].values():
        packed = sheet["townships"]
        places = np.frombuffer(zlib.decompress(base64.b64decode(packed["zlib_base64"])), dtype=packed["dtype"])
        sheet["townships"] = [names[i] for i in places]
    doc["format"] = 1
    old = tmp_path / "old" / "snapshot.json"
    old.parent.mkdir()
    old.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    new, kept = load_snapshot(snap), load_snapshot(old)
    for key, frame in new.townships.items():
        assert frame.astype(object).equals(kept.townships[key].astype(object))
    # Format 2 with its places written as a plain list of numbers, as the format allows any column:
    listed = json.loads(snap.read_bytes())
    for sheet in listed["sheets"].values():
        packed = sheet["townships"]
        sheet["townships"] = np.frombuffer(zlib.decompress(base64.b64decode(packed["zlib_base64"])),
                                           dtype=packed["dtype"]).tolist()
    plain = tmp_path / "plain" / "snapshot.json"
    plain.parent.mkdir()
    plain.write_text(json.dumps(listed, ensure_ascii=False), encoding="utf-8")
    for key, frame in new.townships.items():
        assert frame.astype(object).equals(load_snapshot(plain).townships[key].astype(object))
    assert kept.sums.equals(new.sums) and kept.status == new.status
    again = base / "again"
    assert cli.main(["report", "--inbox", str(base / "in2"), "--outbox", str(again), "--round", "2016-12",
                     "--previous", str(old.parent)]) == 0
    rows = lambda path: sorted(map(tuple, csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")))))  # noqa: E731
    assert rows(again / "findings.csv") == rows(out / "findings.csv")


def test_a_snapshot_read_compact_and_widened_is_the_snapshot(two_rounds):
    """Read by another process, a snapshot crosses compact (its figures in the narrow integers
    they were stored in) and is widened to int64 on arrival: the same frames as read here."""
    import pickle

    import numpy as np

    from pipeline.store.rounds import load_snapshot, widened

    _, out, _, _ = two_rounds
    (snap,) = (out / "rounds" / "2016-11").glob("*/snapshot.json")
    plain, compact = load_snapshot(snap), load_snapshot(snap, compact=True)
    assert len(pickle.dumps(compact)) < len(pickle.dumps(plain))
    again = widened(compact)
    for key, frame in plain.townships.items():
        assert frame.equals(again.townships[key])
        assert all(again.townships[key][c].dtype == np.int64 for c in frame.columns[2:])
    assert again.sums.equals(plain.sums) and again.status == plain.status


def test_a_snapshot_naming_a_township_outside_its_list_is_damaged(two_rounds, tmp_path):
    from pipeline.store.rounds import SnapshotProblem, load_snapshot

    _, out, _, _ = two_rounds
    (snap,) = (out / "rounds" / "2016-11").glob("*/snapshot.json")
    doc = json.loads(snap.read_bytes())
    doc["names"] = doc["names"][:3]
    bad = tmp_path / "snapshot.json"
    bad.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(SnapshotProblem, match="已损坏"):
        load_snapshot(bad)


def test_remaking_a_round_compares_with_the_round_before_and_says_so(two_rounds, capsys):
    base, out, _, _ = two_rounds
    remade = base / "remade"
    shutil.copytree(out, remade)
    assert cli.main(["report", "--inbox", str(base / "in2"), "--outbox", str(remade), "--round", "2016-12"]) == 0
    said = capsys.readouterr().out
    assert "此前已生成过1次快照" in said and "已与上期（2016-11）比较" in said
    assert len(list((remade / "rounds" / "2016-12").glob("*/snapshot.json"))) == 2
    assert len(list((remade / "rounds" / "2016-11").glob("*/snapshot.json"))) == 1  # additive, never replaced


def test_previous_named_and_previous_equal_to_round(two_rounds, capsys):
    base, out, _, _ = two_rounds
    assert cli.main(["report", "--inbox", str(base / "in2"), "--outbox", str(out / "x"), "--round", "a",
                     "--previous", "a"]) == 2
    assert "一轮不与自身比较" in capsys.readouterr().err
    other = base / "named"
    shutil.copytree(out, other)
    folder = next((other / "rounds" / "2016-11").iterdir())
    assert cli.main(["report", "--inbox", str(base / "in2"), "--outbox", str(other), "--round", "2017-01",
                     "--previous", str(folder)]) == 0
    assert "已与上期（2016-11）比较" in capsys.readouterr().out
    assert cli.main(["report", "--inbox", str(base / "in2"), "--outbox", str(other), "--round", "2017-02",
                     "--previous", "2016-12"]) == 0
    assert "已与上期（2016-12）比较" in capsys.readouterr().out
    assert cli.main(["report", "--inbox", str(base / "in2"), "--outbox", str(other), "--round", "2017-03",
                     "--previous", "no-such-round"]) == 2
    assert "找不到上期" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["version", "truncated", "not-json"])
def test_another_form_version_or_a_damaged_snapshot_means_no_comparison(tmp_path, damage, capsys):
    inbox = tmp_path / "in"
    shutil.copytree(ROOT / "examples" / "gansu-2016", inbox)
    out = tmp_path / "out"
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(out), "--round", "r1"]) == 0
    (snap,) = (out / "rounds" / "r1").glob("*/snapshot.json")
    if damage == "version":
        doc = json.loads(snap.read_bytes())
        doc["form"]["version"] = "0"
        snap.write_bytes(json.dumps(doc).encode())
    elif damage == "truncated":
        snap.write_bytes(snap.read_bytes()[:500])
    else:
        snap.write_bytes(b"[1, 2")
    capsys.readouterr()
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(out), "--round", "r2"]) == 0
    said = capsys.readouterr().out
    why = "报表版本由第0版改为第1版" if damage == "version" else "已损坏"
    assert why in said and "本期不作比较" in said
    assert why in (out / "report.html").read_text(encoding="utf-8")
    assert "previous_status" not in (out / "roster.csv").read_text(encoding="utf-8-sig")
    assert "_previous" not in (out / "totals.csv").read_text(encoding="utf-8-sig")


def test_a_first_round_writes_todays_files_plus_its_snapshot(tmp_path, capsys):
    inbox = tmp_path / "in"
    shutil.copytree(ROOT / "examples" / "gansu-2016", inbox)
    plain, first = tmp_path / "plain", tmp_path / "first"
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(plain)]) == 0
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(first), "--round", "2016-11"]) == 0
    assert "没有更早的一轮" in capsys.readouterr().out
    today = sorted(p.relative_to(plain).as_posix() for p in plain.rglob("*")
                   if p.is_file() and p.relative_to(plain).parts[0] != "history"
                   and not p.relative_to(plain).parts[0].startswith("."))
    theirs = sorted(p.relative_to(first).as_posix() for p in first.rglob("*")
                    if p.is_file() and p.relative_to(first).parts[0] not in ("history", "rounds")
                    and not p.relative_to(first).parts[0].startswith("."))
    assert today == theirs
    for name in today:
        if name in ("report.docx", "report.html", "validation.html", "consolidated.xlsx"):
            continue  # a round's report and workbook say which round it is (subtitle, dates, 汇总信息), and its time
        assert (plain / name).read_bytes() == (first / name).read_bytes(), name
    assert len(list((first / "rounds" / "2016-11").glob("*/snapshot.json"))) == 1
    assert not (plain / "rounds").exists()


def test_rounds_made_out_of_order_are_said_not_silently_left_uncompared(tmp_path, capsys):
    """2016-12 run by mistake before 2016-11: the real 2016-12 later said only 没有更早的一轮, as a
    first round does, though rounds/ held another (a reviewer's find)."""
    inbox, out = tmp_path / "in", tmp_path / "out"
    shutil.copytree(EXAMPLE, inbox)
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(out), "--round", "2016-12"]) == 0
    assert "没有更早的一轮" in capsys.readouterr().out  # the first round on disk: nothing to say
    shutil.move(out / "rounds" / "2016-12", tmp_path / "kept")  # as if 2016-11 had been made first…
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(out), "--round", "2016-11"]) == 0
    shutil.move(tmp_path / "kept", out / "rounds" / "2016-12")  # …and 2016-12's snapshot is older
    capsys.readouterr()
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(out), "--round", "2016-12"]) == 0
    said = capsys.readouterr().out
    assert "rounds/中另有2016-11，但都是在本轮（2016-12）之后才第一次保存的，本期不作比较" in said
    assert "PREVIOUS=轮次名称" in (out / "report.html").read_text(encoding="utf-8")


def test_the_bundled_example_never_writes_a_snapshot(tmp_path, monkeypatch):
    empty = tmp_path / "inbox"
    empty.mkdir()
    monkeypatch.setattr(cli, "DEFAULT_INBOX", empty)
    out = tmp_path / "out"
    assert cli.main(["report", "--outbox", str(out), "--round", "2016-11"]) == 0
    assert not (out / "rounds").exists()


def test_a_county_answers_a_warning_in_its_explanation_cell(two_rounds, form):
    from openpyxl import load_workbook

    _, out, _, _ = two_rounds
    page = (out / "validation.html").read_text(encoding="utf-8")
    fallen = re.split("<h2>西固区[:：]", page)[1].split("</table>")[0]
    assert "已说明" in fallen and f"县级上报说明：{EXPLAINED}" in fallen
    wb = load_workbook(out / "consolidated.xlsx", read_only=True)
    rows = list(wb["问题清单"].iter_rows(values_only=True))
    assert rows[0][-1] == "上报说明"
    assert rows[0][5:7] == ("指标", "规则代码")
    below = next(r for r in rows if r[6] == "below-previous")
    assert below[5] == form.field(FELL_FIELD).full_label  # the label a clerk reads, not the field's key
    assert below[0] == "需核实（已说明）" and below[-1] == EXPLAINED
    same = next(r for r in rows if r[6] == "same-file-as-previous")
    assert same[0] == "需核实" and not same[-1]
    assert len((out / "findings.csv").read_text(encoding="utf-8-sig").splitlines()[0].split(",")) == 8
    # The resent county's workbook goes back with a labelled answer cell on every sheet of the form.
    (back,) = (out / "returns").glob(f"{RESENT}_*.xlsx")
    book = load_workbook(back)
    for spec in form.sheets:
        ws = book[f"{spec.number}{spec.label}"]
        labels = [c.value for row in ws.iter_rows() for c in row if c.value == f"{form.explanation_label}："]
        assert labels, spec.key


@pytest.mark.parametrize("where", ["template", "inline-above-footer"])
def test_the_explanation_cell_is_read_and_is_never_a_township(tmp_path, form, units, where):
    from openpyxl import load_workbook

    from pipeline.outputs.blank_forms import blank_form
    from pipeline.stages.read.sources import read_source
    from tests.builders import clean_rows, fill

    unit = units.by_code("620102")
    data = fill(blank_form(form, unit), form, clean_rows())
    wb = load_workbook(io.BytesIO(data))
    for spec in form.sheets:
        ws = wb[f"{spec.number}{spec.label}"]
        label = next(c for row in ws.iter_rows() for c in row if c.value == f"{form.explanation_label}：")
        if where == "template":
            ws.cell(label.row, 2, f"{spec.label}：{EXPLAINED}")
        else:  # written by hand in the first spare row under the townships, label and words in one cell
            ws.cell(label.row, 1, None)
            ws.cell(label.row - 30 + 3, 1, f"上报说明:{spec.label}：{EXPLAINED}")
    buf = io.BytesIO()
    wb.save(buf)
    (tmp_path / "a.xlsx").write_bytes(buf.getvalue())
    ((source, data),) = files_in(tmp_path)
    ret = read_source(source, data, form, units).ret
    for spec in form.sheets:
        assert ret.sheets[spec.key].explanation == f"{spec.label}：{EXPLAINED}"
        assert ret.sheets[spec.key].townships == tuple(r["township"] for r in clean_rows())


def test_word_and_html_say_the_comparison_in_a_sentence_and_a_table(two_rounds):
    from docx import Document

    _, out, first, second = two_rounds
    both = [c for c in second if c in first]
    found = ("precision_found", "guarantees_found", "disputes_found")
    now = sum(r[k] for c in both for r in second[c][1] for k in found)
    before = sum(r[k] for c in both for r in first[c][1] for k in found)
    growth = _half_up(Fraction(100 * (now - before), before))
    sentence = (f"与上期（2016年11月）相比，两期均已汇总的86个县（市、区），排查问题由上期的{before}件增加到{now}件，"
                f"增加{now - before}件（{'增长' if now > before else '下降'}{abs(growth)}%）；")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert sentence in html
    # A rate that did not move is said once: 为99.95%，与上期持平, never 由99.95%变为99.95%，持平.
    assert "与上期持平" in html and not re.search(r"由上期的([\d.]+%)变为\1", html)
    doc = Document(out / "report.docx")
    text = "\n".join(p.text for p in doc.paragraphs)
    assert sentence in text and "三、与上期对比" in text and re.search(r"各市（州）的情况见附件3和图\d。", text)
    # its table an annex of its own, numbered on, with its unit line; its chart numbered after the overview's
    assert "附件3\n各市（州）与上期对比表\n表7\u3000各市（州）与上期（2016年11月）对比\n单位：个、件、%" in text
    assert re.search(r"图\d\u3000各市（州）排查问题比上期增减（件）", text)  # what changed, from 0
    assert "3．各市（州）与上期对比表" in text  # in the 附件说明
    assert "红古区（上期已报送）" in text and "两期均已汇总的县（市、区）共86个" in text
    (table,) = [t for t in doc.tables if t.rows[0].cells[1].text.replace("\n", "") == "可比单位数"]
    assert [c.text for c in table.rows[1].cells][:4] == ["全省", "86", str(now), str(before)]
    assert len(table.rows) == 1 + 1 + 14


def test_an_explanation_given_on_the_submission_page_counts_for_the_whole_file(two_rounds, tmp_path):
    base, _, _, _ = two_rounds
    inbox = tmp_path / "in2"
    shutil.copytree(base / "in2", inbox)
    (resent,) = [p.name for p in inbox.glob(f"{RESENT}_*.xlsx")]
    (inbox / ".versions").mkdir()
    (inbox / ".versions" / "explanations.csv").write_text(
        f"file,explanation\r\n{resent},本县本期各项工作已于上期全部完成，数字未变。\r\n", encoding="utf-8-sig")
    out = tmp_path / "out"
    shutil.copytree(base / "out" / "rounds" / "2016-11", out / "rounds" / "2016-11")
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(out), "--round", "2016-12"]) == 0
    page = (out / "validation.html").read_text(encoding="utf-8")
    resent_part = re.split("<h2>七里河区[:：]", page)[1].split("</table>")[0]
    assert "已说明" in resent_part and "县级上报说明：本县本期各项工作已于上期全部完成，数字未变。" in resent_part
    fallen = re.split("<h2>西固区[:：]", page)[1].split("</table>")[0]
    assert f"县级上报说明：{EXPLAINED}" in fallen  # the cell under the table, as before


def test_two_rounds_made_within_one_second_are_ordered_by_when_they_were_written(tmp_path):
    """A snapshot's folder is named to the second; a run without matplotlib's pictures makes
    two rounds within one. The round made first is the other's previous, never the reverse."""
    import os

    from pipeline.store.rounds import find_previous

    out = tmp_path / "out"
    for name, written in (("a", 1_000), ("b", 2_000)):
        folder = out / "rounds" / name / "20161201-120000"
        folder.mkdir(parents=True)
        (folder / "snapshot.json").write_text("{}")
        os.utime(folder / "snapshot.json", ns=(written, written))
    a, b = (out / "rounds" / n / "20161201-120000" / "snapshot.json" for n in ("a", "b"))
    assert find_previous(out, "b", "20161201-120001") == a  # b remade: a came first
    assert find_previous(out, "a", "20161201-120001") is None  # a remade: b came after it
    assert find_previous(out, "c", "20161201-120000") == b  # a new round, in the same second as b


def test_the_comparison_chart_is_a_native_word_chart_whose_workbook_holds_its_values(two_rounds):
    """The 与上期对比 chart is a DrawingML chart part like the others (no picture): what changed
    by city (本期 less 上期), the embedded workbook's values equal to the chart's cached values
    and to the sums by hand, counted from 0; in HTML an SVG from the same record, captioned the same."""
    from docx import Document
    from docx.oxml.ns import qn
    from lxml import etree
    from openpyxl import load_workbook

    _, out, first, second = two_rounds
    doc = Document(out / "report.docx")
    assert not [p for p in doc.part.package.iter_parts() if p.partname.startswith("/word/media/")]
    refs = doc.element.body.findall(".//" + qn("c:chart"))
    part = doc.part.related_parts[refs[-1].get(qn("r:id"))]
    assert part.content_type == "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
    ns = {"c": "http://schemas.openxmlformats.org/drawingml/2006/chart"}
    xml = etree.fromstring(part.blob)
    book = load_workbook(io.BytesIO(part.related_parts[xml.find("c:externalData", ns).get(qn("r:id"))].blob)).active
    rows = list(book.iter_rows(min_row=2, values_only=True))
    assert [c.value for c in book[1]][1:] == ["增减"]
    found = ("precision_found", "guarantees_found", "disputes_found")
    both = [c for c in second if c in first]
    lanzhou = [c for c in both if c.startswith("6201")]
    by_hand = (sum(r[k] for c in lanzhou for r in second[c][1] for k in found)
               - sum(r[k] for c in lanzhou for r in first[c][1] for k in found))
    [ser] = xml.iterfind(".//c:ser", ns)
    labels = [v.text for v in ser.iterfind("c:cat/c:strRef/c:strCache/c:pt/c:v", ns)]
    cached = [float(v.text) for v in ser.iterfind("c:val/c:numRef/c:numCache/c:pt/c:v", ns)]
    assert [r[0] for r in rows] == labels and len(labels) == 14
    assert [r[1] for r in rows] == cached
    assert cached[labels.index("兰州市")] == by_hand
    val_ax = xml.find(".//c:valAx", ns)
    assert float(val_ax.find("c:scaling/c:min", ns).get("val")) <= min(0, *cached)  # a count axis from 0
    caption = next(p.text for p in doc.paragraphs if "比上期增减" in p.text)
    html = (out / "report.html").read_text(encoding="utf-8")
    section = html.split('<h2 id="compare">')[1].split("<h2>")[0]
    assert section.count("<svg") == 1 and caption.replace("\u3000", "　") in section


def test_a_round_kept_with_ascii_brackets_in_names_matches_this_rounds_full_width_ones():
    """Names are read with their full-width brackets now; a round kept before has them ASCII (as
    NFKC made them), and its townships must still match, not come and go."""
    import pandas as pd

    from pipeline.store.rounds import _township_column

    old = _township_column(["石岭镇(新)", "城关镇"], pd.Index([]), 1)
    assert list(old.categories) == ["石岭镇（新）", "城关镇"]
    kept = _township_column([1, 0], pd.Index(["城关镇", "石岭镇(新)"]), 2)  # places in the names
    assert list(kept) == ["石岭镇（新）", "城关镇"]


def test_a_city_with_no_county_in_both_rounds_has_no_previous_figures(tmp_path):
    """金昌市's counties sent in the first round and not the second: its 上期 was 0 in totals.csv
    and the comparison table, read as no problems found last round (a reviewer's find). It has
    none: empty in totals.csv, — in the table."""
    first, second = tmp_path / "in1", tmp_path / "in2"
    first.mkdir()
    second.mkdir()
    for name in ("620102_城关区.xlsx", "620302_金川区.xlsx"):
        shutil.copy(EXAMPLE / name, first / name)
    shutil.copy(EXAMPLE / "620102_城关区.xlsx", second / "620102_城关区.xlsx")
    out = tmp_path / "out"
    assert cli.main(["report", "--inbox", str(first), "--outbox", str(out), "--round", "2016-11"]) == 0
    assert cli.main(["report", "--inbox", str(second), "--outbox", str(out), "--round", "2016-12"]) == 0
    jinchang = next(r for r in _csv(out / "totals.csv") if r["code"] == "620300")
    assert {v for k, v in jinchang.items() if k.endswith(("_previous", "_change"))} == {""}
    html = (out / "report.html").read_text(encoding="utf-8")
    table = re.split(r'<table class="[^"]*\bcompare\b[^>]*>', html)[1].split("</table>")[0]
    rows = [re.findall(r"<td[^>]*>([^<]*)</td>", tr) for tr in table.split("<tbody>")[1].split("</tr>")[:-1]]
    row = next(r for r in rows if r and r[0] == "金昌市")
    assert row[1] == "0" and set(row[2:]) == {"—"}


def test_last_rounds_files_left_in_the_inbox_are_never_this_rounds_returns(tmp_path, capsys):
    """Ten counties sent this round's returns; the other 77 files were last round's, left in the
    inbox. The report said 87个县（市、区）已全部报送，数据完整 and nothing named the 77 (a
    reviewer's find): same-as-previous asks only when most counties changed."""
    from openpyxl import load_workbook

    first, second, out = tmp_path / "in1", tmp_path / "in2", tmp_path / "out"
    shutil.copytree(EXAMPLE, first)
    shutil.copytree(EXAMPLE, second)
    for path in sorted(second.glob("*.xlsx"))[:10]:  # saved again this round: other bytes, its own file
        load_workbook(path).save(path)
    assert cli.main(["report", "--inbox", str(first), "--outbox", str(out), "--round", "2016-11"]) == 0
    capsys.readouterr()
    assert cli.main(["report", "--inbox", str(second), "--outbox", str(out), "--round", "2016-12"]) == 0
    said = capsys.readouterr().out
    assert "注意：77 个单位用的仍是上期汇总时的同一文件（没有重新报送），其上期的数字已计入本期" in said
    findings = _csv(out / "findings.csv")
    assert sum(f["rule"] == "same-file-as-previous" for f in findings) == 77
    assert not any(f["rule"] == "same-as-previous" for f in findings)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "数据完整" not in page and "其中77个沿用上期（2016年11月）的报表，未重新报送" in page
    assert "沿用上期报表的单位" in page and "77个县（市、区）本期采用的仍是上期（2016年11月）汇总时的同一文件" in page
