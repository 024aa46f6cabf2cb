"""Each unit's secret link: random, stored hashed, kept across `make links`, renewed or revoked one at a time."""

from __future__ import annotations

import csv
import json
import stat
import subprocess
import sys

import pytest

from pipeline.paths import ROOT
from pipeline.store.links import STATUS, TokenBook, ensure_links, read_links, read_status_url, token_hash


def tokens_of(outbox) -> dict[str, str]:
    return {code: url.rsplit("/", 1)[-1] for code, url in read_links(outbox).items()}


def test_every_unit_gets_a_random_link_and_only_hashes_are_stored(tmp_path, units):
    links = ensure_links(tmp_path, units, "http://127.0.0.1:8000")
    assert links.made == len(units.units) + 1  # and the office's status link
    tokens = tokens_of(tmp_path)
    assert set(tokens) == {u.code for u in units.units}
    assert len(set(tokens.values())) == len(tokens)
    for t in tokens.values():
        assert len(t) >= 32  # url-safe base64: 6 bits a character, so at least 192 bits
    store = (tmp_path / "tokens.json").read_text()
    for t in [*tokens.values(), links.status]:
        assert t not in store
        assert token_hash(t) in store
    for name in ("links.csv", "status.url", "tokens.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    with open(tmp_path / "links.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["单位代码", "单位名称", "报送链接"]  # in the office's words
    assert [r["单位代码"] for r in rows] == [u.code for u in units.units]
    assert rows[0]["报送链接"] == f"http://127.0.0.1:8000/u/{tokens[rows[0]['单位代码']]}"
    # A Windows Internet shortcut: a double-click opens the office's page.
    assert (tmp_path / "status.url").read_bytes() == (
        f"[InternetShortcut]\r\nURL=http://127.0.0.1:8000/status/{links.status}\r\n".encode())
    assert read_status_url(tmp_path / "status.url") == f"http://127.0.0.1:8000/status/{links.status}"


def test_links_are_kept_and_rewritten_for_a_new_address(tmp_path, units):
    ensure_links(tmp_path, units, "http://127.0.0.1:8000")
    before = tokens_of(tmp_path)
    status_before = read_status_url(tmp_path / "status.url").rsplit("/", 1)[-1]
    again = ensure_links(tmp_path, units, "https://shuanglian.example.gov.cn/")
    assert again.made == 0
    assert tokens_of(tmp_path) == before
    assert all(url.startswith("https://shuanglian.example.gov.cn/u/") for url in read_links(tmp_path).values())
    assert read_status_url(tmp_path / "status.url").rsplit("/", 1)[-1] == status_before


def test_renew_and_revoke_touch_one_unit_only(tmp_path, units):
    ensure_links(tmp_path, units, "http://h:1")
    before = tokens_of(tmp_path)
    book = TokenBook(tmp_path)
    assert book.who(before["620102"]) == "620102"
    ensure_links(tmp_path, units, "http://h:1", renew=("620102",), revoke=("620103",))
    after = tokens_of(tmp_path)
    assert after["620102"] != before["620102"]
    assert "620103" not in after
    assert {c: t for c, t in after.items() if c != "620102"} == {c: t for c, t in before.items() if c not in ("620102", "620103")}
    # The running server's book notices the change without a restart.
    assert book.who(before["620102"]) is None and book.who(before["620103"]) is None
    assert book.who(after["620102"]) == "620102"
    # A revoked unit stays without a link until it is renewed by name.
    assert ensure_links(tmp_path, units, "http://h:1").made == 0
    assert "620103" not in tokens_of(tmp_path)
    ensure_links(tmp_path, units, "http://h:1", renew=("620103",))
    assert book.who(tokens_of(tmp_path)["620103"]) == "620103"


def test_unknown_code_is_refused_and_nothing_changes(tmp_path, units):
    ensure_links(tmp_path, units, "http://h:1")
    before = (tmp_path / "tokens.json").read_bytes()
    with pytest.raises(KeyError):
        ensure_links(tmp_path, units, "http://h:1", renew=("999999",))
    assert (tmp_path / "tokens.json").read_bytes() == before


def test_a_deleted_links_csv_never_silently_changes_a_token(tmp_path, units):
    ensure_links(tmp_path, units, "http://h:1")
    hashes = json.loads((tmp_path / "tokens.json").read_text())["tokens"]
    (tmp_path / "links.csv").unlink()
    links = ensure_links(tmp_path, units, "http://h:1")
    assert links.made == 0
    assert len(links.lost) == len(units.units)
    assert json.loads((tmp_path / "tokens.json").read_text())["tokens"] == hashes


def test_make_links_command(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pipeline", "links", "--outbox", str(tmp_path), "--host", "10.0.0.5",
                          "--port", "8080"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "87 个单位" in out.stdout and "新生成 88 个（含办公室状态页链接）" in out.stdout
    assert all(url.startswith("http://10.0.0.5:8080/u/") for url in read_links(tmp_path).values())
    # Renewing one unit's link keeps the address the others have (make serve wrote it)
    before = read_links(tmp_path)
    subprocess.run([sys.executable, "-m", "pipeline", "links", "--outbox", str(tmp_path), "--renew", "620102"],
                   cwd=ROOT, capture_output=True, text=True, check=True)
    after = read_links(tmp_path)
    assert all(url.startswith("http://10.0.0.5:8080/u/") for url in after.values())
    assert {c for c in after if after[c] != before[c]} == {"620102"}
    make = subprocess.run(["make", "-s", "links", f"OUTBOX={tmp_path}", "RENEW=620103"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    assert "新生成 1 个" in make.stdout and all(u.startswith("http://10.0.0.5:8080/u/") for u in read_links(tmp_path).values())
    bad = subprocess.run([sys.executable, "-m", "pipeline", "links", "--outbox", str(tmp_path), "--revoke", "123"],
                         cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "没有这个单位代码" in bad.stderr


def test_status_key_is_not_a_unit_code(units):
    assert units.by_code(STATUS) is None


def test_templates_carry_each_units_own_link_on_the_instructions_sheet(tmp_path, form, units):
    import io

    from openpyxl import load_workbook

    from pipeline.outputs.blank_forms import blank_forms

    ensure_links(tmp_path, units, "https://bs.example.gov.cn")
    links = read_links(tmp_path)
    chosen = [units.by_code("620102"), units.by_code("620103")]
    files = blank_forms(form, chosen, None, links)
    for unit in chosen:
        ws = load_workbook(io.BytesIO(files[f"{unit.code}_{unit.name}.xlsx"]))["填报说明"]
        cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("https://")]
        assert [c.value for c in cells] == [links[unit.code]]
        assert cells[0].hyperlink.target == links[unit.code]
    plain = load_workbook(io.BytesIO(blank_forms(form, chosen[:1])["620102_城关区.xlsx"]))["填报说明"]
    assert not any("网上报送" in str(c.value) for row in plain.iter_rows() for c in row)


def test_a_lost_token_store_is_rebuilt_from_links_csv_keeping_every_link_and_every_revocation(tmp_path, units):
    ensure_links(tmp_path, units, "http://h:1", revoke=("620103",))
    before, status = tokens_of(tmp_path), read_status_url(tmp_path / "status.url")
    (tmp_path / "tokens.json").unlink()
    links = ensure_links(tmp_path, units, "http://h:1")
    assert links.made == 0 and links.recovered == (len(units.units) - 1) + 1  # all but the revoked, and the office
    assert tokens_of(tmp_path) == before and read_status_url(tmp_path / "status.url") == status
    assert "620103" in links.revoked and "620103" not in tokens_of(tmp_path)
    book = TokenBook(tmp_path)
    assert all(book.who(t) == code for code, t in before.items())


def test_a_damaged_token_store_is_one_chinese_sentence_and_changes_nothing(tmp_path, units):
    from pipeline.errors import Fatal

    ensure_links(tmp_path, units, "http://h:1")
    links_before = (tmp_path / "links.csv").read_bytes()
    (tmp_path / "tokens.json").write_text('{"version": 1, "tokens": [', encoding="utf-8")
    with pytest.raises(Fatal) as raised:
        ensure_links(tmp_path, units, "http://h:1")
    assert "已损坏" in str(raised.value) and "make links" in str(raised.value) and "\n" not in str(raised.value)
    assert (tmp_path / "links.csv").read_bytes() == links_before


def test_older_files_with_english_columns_and_a_bare_status_address_still_read(tmp_path, units):
    ensure_links(tmp_path, units, "http://h:1")
    tokens, status = tokens_of(tmp_path), read_status_url(tmp_path / "status.url")
    rows = "code,name,url\r\n" + "".join(f"{u.code},{u.name},http://h:1/u/{tokens[u.code]}\r\n" for u in units.units)
    (tmp_path / "links.csv").write_text("\ufeff" + rows, encoding="utf-8")
    (tmp_path / "status.url").write_text(status + "\n", encoding="utf-8")
    assert tokens_of(tmp_path) == tokens and read_status_url(tmp_path / "status.url") == status
    again = ensure_links(tmp_path, units, "https://new.example/")  # rewritten for a new address, tokens kept
    assert again.made == 0 and tokens_of(tmp_path) == tokens
    assert read_status_url(tmp_path / "status.url") == "https://new.example/status/" + status.rsplit("/", 1)[1]


def test_the_templates_that_carry_links_are_this_accounts_alone(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pipeline", "links", "--outbox", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    assert out.returncode == 0
    made = subprocess.run([sys.executable, "-m", "pipeline", "templates", "--outbox", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    assert "仅本机账户可读" in made.stdout
    folder = tmp_path / "templates"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert len(files) == 87 and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    for name in ("links.csv", "status.url", "tokens.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
