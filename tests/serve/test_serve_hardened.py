"""The page tried as an attacker and as its own machine's faults would try it, against the real
server (`python -m pipeline serve`) on a free 127.0.0.1 port: hostile zips, slow clients, other
sites' forms, two servers on one inbox, lost tokens, concurrent uploads, restarts (issue 26)."""

from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import re
import shutil
import signal
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urljoin

import pytest

from pipeline.outputs.formbook import build_return, workbook_bytes
from pipeline.store.links import read_city_links, read_links
from tests.builders import clean_rows, lying_zip, with_far_cells, with_member
from tests.serving import multipart, page_showing, path_of, raw, request, run_pipeline, start_server, upload

NO_ENGLISH = re.compile(r"[A-Za-z]+(Error|Exception|File)\b|Traceback|BadZip")


def workbook(form, unit, rows=None, **kw) -> bytes:
    return workbook_bytes(build_return(form, unit, rows if rows is not None else clean_rows(), **kw))


def low_coverage(rows: list[dict], *, villages: bool = False) -> list[dict]:
    """Households (and, with `villages`, villages) visited far below the goal: warnings only."""
    for r in rows:
        r["households_visited"] = r["households_total"] // 2
        r["households_visited_twice"] = r["households_visited"] // 2
        if villages:
            r["villages_visited"] = r["villages_total"] - 2
    return rows


def scrambled(data: bytes, part: str) -> bytes:
    """The workbook with the middle of one part's compressed bytes overwritten: a file damaged
    in transit, its directory intact."""
    import io
    import struct
    import zipfile

    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(part)
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    middle = start + info.compress_size // 3
    return data[:middle] + bytes(b ^ 0x5A for b in data[middle:middle + 40]) + data[middle + 40:]


def visible(page: str) -> str:
    """A page's text as a reader sees it: no tags, no style or script."""
    page = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", page, flags=re.S)
    return re.sub(r"<[^>]+>", "", page)


def kept(inbox: Path, code: str) -> list[Path]:
    folder = inbox / ".versions" / code
    return sorted(folder.iterdir()) if folder.is_dir() else []


def live(inbox: Path) -> list[Path]:
    return sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith("."))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("hardened")
    inbox, outbox = base / "inbox", base / "outbox"
    inbox.mkdir()
    server = start_server(inbox, outbox, upload_interval_seconds=0)
    yield server, inbox
    server.stop()


def timed_gets(urls: list[str], until: threading.Event) -> list[float]:
    """GET the pages one after another until `until` is set: how long each answer took."""
    took = []
    while not until.is_set():
        for url in urls:
            t = time.monotonic()
            assert request("GET", url, timeout=30).status == 200
            took.append(time.monotonic() - t)
    return took


def while_uploading(url: str, name: str, data: bytes, others: list[str]):
    """The upload's answer and time, and how long other counties' pages took meanwhile."""
    done = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        pages = pool.submit(timed_gets, others, done)
        t = time.monotonic()
        try:
            answer = upload(url, name, data, timeout=120)
        finally:
            elapsed = time.monotonic() - t
            done.set()
        return answer, elapsed, pages.result()


# --- 2. hostile zips and the worker's limits ----------------------------------------------------


def test_a_zip_that_lies_about_its_sizes_is_refused_at_once_in_chinese(served, form, units):
    server, inbox = served
    unit = units.by_code("620111")
    url = server.links()[unit.code]
    good = workbook(form, unit)
    others = [server.links()[c] for c in ("620102", "620103")]
    for part in ("xl/worksheets/sheet1.xml", "xl/styles.xml"):
        bomb = lying_zip(good, part, 512 * 1024 * 1024)  # half a gigabyte behind a directory that says 3 KB
        assert len(bomb) < 1024 * 1024
        answer, elapsed, pages = while_uploading(url, "bomb.xlsx", bomb, others)
        assert answer.status == 422 and elapsed < 3, (answer.status, elapsed)
        [finding] = answer.json["findings"]
        assert finding["rule"] == "unreadable" and "比它声明的大" in finding["message"]
        assert max(pages, default=0) < 1
    assert not [p for p in live(inbox) if p.name.startswith(unit.code)]
    # A damaged workbook says so in the clerk's words, never with an exception's English name.
    for damaged in (good[: len(good) // 2], scrambled(good, "xl/worksheets/sheet1.xml"), scrambled(good, "xl/workbook.xml")):
        body = upload(url, "damaged.xlsx", damaged).json
        assert body["status"] == "refused"
        assert not any(NO_ENGLISH.search(f["message"]) for f in body["findings"]), body["findings"]


def test_a_zip_in_the_inbox_whose_member_lies_is_listed_broken_and_the_page_goes_on(served, form, units):
    import io
    import zipfile

    server, inbox = served
    unit = units.by_code("620122")
    member = lying_zip(workbook(form, unit), "xl/worksheets/sheet1.xml", 300 * 1024 * 1024)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{unit.code}_{unit.name}.xlsx", member)
    (inbox / f"{unit.code}_邮件.zip").write_bytes(buf.getvalue())
    t = time.monotonic()
    page = page_showing(server.links()[unit.code], f"{unit.code}_邮件.zip")
    assert time.monotonic() - t < 3
    section = page.split('id="standing"')[1]
    assert "已退回" in section and "疑似恶意文件" in section


def _worker_pids(server_pid: int) -> list[int]:
    """The page's worker processes: children of its fork server, itself a child of the page."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    forkservers = [p for p in children.get(server_pid, [])
                   if b"forkserver" in Path(f"/proc/{p}/cmdline").read_bytes()]
    return [w for f in forkservers for w in children.get(f, [])]


def test_a_file_too_slow_to_read_costs_the_worker_not_the_page(tmp_path, form, units):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    server = start_server(inbox, outbox, upload_interval_seconds=0, check_seconds=1)
    try:
        slow = with_far_cells(workbook(form, units.by_code("620102")), 10000, 200)  # honest, and seconds to read on any machine
        others = [server.links()[c] for c in ("620103", "620104")]
        answer, elapsed, pages = while_uploading(server.links()["620102"], "slow.xlsx", slow, others)
        assert answer.status == 422 and elapsed < 4, (answer.status, elapsed)
        [finding] = answer.json["findings"]
        assert finding["rule"] == "unreadable" and "读取超过1秒仍未完成" in finding["message"]
        assert max(pages) < 1, pages
        assert "审核进程超过1秒未完成，已重新启动" in server.output()
        # The next counties are checked by the worker started again, warm from its first check on.
        for code in ("620103", "620105"):
            t = time.monotonic()
            assert upload(server.links()[code], "b.xlsx", workbook(form, units.by_code(code))).status == 200
            assert time.monotonic() - t < (2 if code == "620103" else 1), code
        # A worker killed from outside is started again too: no upload is lost for it.
        [pid] = _worker_pids(server.process.pid)
        os.kill(pid, signal.SIGKILL)
        assert upload(server.links()["620104"], "c.xlsx", workbook(form, units.by_code("620104"))).status == 200
        assert _worker_pids(server.process.pid) not in ([], [pid])
    finally:
        server.stop()


def test_a_file_that_needs_more_memory_than_the_worker_may_have_is_refused(tmp_path, form, units):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    server = start_server(inbox, outbox, upload_interval_seconds=0, check_memory_mb=64, check_seconds=60)
    try:
        hungry = with_far_cells(workbook(form, units.by_code("620102")), 4000, 200)
        answer = upload(server.links()["620102"], "big.xlsx", hungry)
        assert answer.status == 422
        [finding] = answer.json["findings"]
        assert finding["rule"] == "unreadable" and "内存超过了限制" in finding["message"], finding
        assert upload(server.links()["620103"], "b.xlsx", workbook(form, units.by_code("620103"))).status == 200
    finally:
        server.stop()


# --- 3, 4. other sites, refusals in the page's own words -----------------------------------------


def test_a_post_from_another_site_is_refused_and_the_pages_cannot_be_framed(served, form, units):
    server, inbox = served
    unit = units.by_code("620502")
    url = server.links()[unit.code]
    body, content_type = multipart({"explanation": "x"}, {"file": ("a.xlsx", workbook(form, unit))})
    for sent in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Referer": "https://evil.example/p"},
                 {"Origin": server.base.replace("127.0.0.1", "localhost")}):
        for target in (url, url + "/explanation"):
            answer = request("POST", target, body, {"Content-Type": content_type} | sent)
            assert answer.status == 403, (sent, target)
            assert "不是从本报送页发出" in answer.text and "返回报送页" in answer.text
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert not [p for p in live(inbox) if p.name.startswith(unit.code)]
    # The page's own origin (what base_url gives, and a proxy presents), and a program that sends none.
    assert request("POST", url, body, {"Content-Type": content_type, "Origin": server.base}).status == 200
    assert request("POST", url, body, {"Content-Type": content_type, "Referer": url}).status == 200
    page = request("GET", url)
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "same-origin"
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert re.findall(r"<script[^>]*>", page.text) == [f'<script nonce="{nonce}">']


def test_every_refusal_is_the_pages_own_chinese_answer_with_its_headers_and_a_way_back(served, form, units):
    server, _ = served
    url = server.links()["620503"]

    def pages_own(answer_text: str, headers: dict) -> None:
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), headers
        assert "nosniff" in headers.get("x-content-type-options", "")
        assert '<html lang="zh-CN">' in answer_text and not NO_ENGLISH.search(visible(answer_text))

    # 400: not HTTP at all, and a form that is no form
    answer = raw(server.port, b"GET /u/x HTTP/1.1\r\nHost x\r\n\r\n").decode("utf-8", "replace")
    head, _, page = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 400")
    pages_own(page, {k.lower(): v for k, v in (line.split(": ", 1) for line in head.split("\r\n")[1:])})
    bad = request("POST", url, b"--b\r\nnonsense", {"Content-Type": "multipart/form-data"})  # no boundary
    assert bad.status == 400 and "返回报送页" in bad.text and "请求有误" in bad.text
    pages_own(bad.text, bad.headers)
    empty = request("POST", url, b"--b\r\nnonsense", {"Content-Type": "multipart/form-data; boundary=b"})
    assert empty.status == 400 and "请先选择要报送的报表文件" in empty.text  # the page itself, its form below
    pages_own(empty.text, empty.headers)
    # 405: a method the page does not take, with a link back to the page itself
    for method in ("PATCH", "PUT", "DELETE", "OPTIONS"):
        wrong = request(method, url)
        assert wrong.status == 405, method
        pages_own(wrong.text, wrong.headers)
        back = re.search(r'<a href="([^"]+)" id="back">', wrong.text).group(1)
        assert urljoin(url, back) == url
    # 413: a note far too long; a file too large, as JSON
    note = multipart({"explanation": "很长" * 40000}, {})
    long = request("POST", url + "/explanation", note[0], {"Content-Type": note[1]})
    assert long.status == 413 and "说明过长" in long.text
    pages_own(long.text, long.headers)
    # just over the page's 500 characters (the box stops there; a form sent otherwise): refused,
    # never saved cut short with "saved"
    note = multipart({"explanation": "说" * 501}, {})
    over = request("POST", url + "/explanation", note[0], {"Content-Type": note[1]})
    assert over.status == 413 and "说明过长" in over.text
    # 500 as the box counts them, a line break one character: a browser sends it as CRLF, two
    note = multipart({"explanation": "说" * 249 + "\r\n" + "说" * 250}, {})
    lines = request("POST", url + "/explanation", note[0], {"Content-Type": note[1]})
    assert lines.status != 413, lines.text[:200]
    big = raw(server.port, (f"POST {path_of(url)} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n"
                            "Content-Type: multipart/form-data; boundary=b\r\n"
                            f"Content-Length: {21 * 1024 * 1024}\r\n\r\n").encode()).decode("utf-8")
    assert big.startswith("HTTP/1.1 413") and json.loads(big.split("\r\n\r\n", 1)[1])["message"] == "文件超过20 MB，未予接收。"
    # JSON when JSON is asked for, in the same words
    wrong = request("PATCH", url, headers={"Accept": "application/json"})
    assert wrong.status == 405 and wrong.json["status"] == "method-not-allowed" and "浏览器" in wrong.json["message"]
    # A link with a trailing slash works, and the links on it lead where they should.
    assert upload(url + "/", "a.xlsx", workbook(form, units.by_code("620503"))).status == 200
    slashed = request("GET", url + "/")
    assert slashed.status == 200
    action = re.search(r'<form method="post" action="([^"]+)"', slashed.text).group(1)
    assert urljoin(url + "/", action) == url
    office_url = server.status_url() + "/"
    office = request("GET", office_url)
    assert office.status == 200
    row = re.search(r'<tr data-code="620503">(.*?)</tr>', office.text, re.S).group(1)
    detail = urljoin(office_url, re.search(r'<a href="([^"]+)">查看</a>', row).group(1))
    assert detail == server.status_url() + "/620503" and request("GET", detail + "/").status == 200


def test_one_address_holding_connections_half_open_never_shuts_the_others_out(tmp_path, form, units):
    """A client opening hundreds of connections that never finish their headers took every one
    the page holds (400): every county got an English 'Service Unavailable' for as long as it
    went on. One address holds half at most; the next is told in Chinese, and others are served."""
    import socket

    from pipeline.serve.protocol import PER_ADDRESS

    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    server = start_server(inbox, outbox, upload_interval_seconds=0)
    held = []
    try:
        for _ in range(PER_ADDRESS):
            s = socket.socket()
            s.bind(("127.0.0.2", 0))  # another address on this machine's loopback
            s.connect(("127.0.0.1", server.port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the rest
            held.append(s)
        one_more = socket.socket()
        one_more.bind(("127.0.0.2", 0))
        one_more.settimeout(10)
        one_more.connect(("127.0.0.1", server.port))
        answer = b"".join(iter(lambda: one_more.recv(65536), b""))
        one_more.close()
        assert answer.startswith(b"HTTP/1.1 503") and "报送页正忙".encode() in answer, answer[:200]
        unit = units.by_code("620102")
        assert upload(server.links()[unit.code], "a.xlsx", workbook(form, unit)).status == 200
    finally:
        for s in held:
            s.close()
        server.stop()


def test_slow_clients_are_cut_off_while_ordinary_uploads_answer_within_a_second(tmp_path, form, units):
    """20 slow clients: ten trickle their headers, ten their upload (a few bytes a second). The
    headers must come within 10 s; an upload must average about 1 KB/s over its window (3 s
    here: --upload-timeout). Meanwhile other counties' uploads are answered within a second."""
    import socket

    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    server = start_server(inbox, outbox, "--upload-timeout", "3", upload_interval_seconds=0)
    try:
        path = path_of(server.links()["620102"])
        body, content_type = multipart({}, {"file": ("a.xlsx", workbook(form, units.by_code("620102")))})
        head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()

        def trickle(at_once: bytes, data: bytes, pause: float) -> tuple[float, bytes]:
            """`at_once` sent, then `data` a byte every `pause` seconds until the server answers."""
            with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
                s.sendall(at_once)
                started = time.monotonic()
                s.settimeout(pause)
                answer = b""
                for i in range(len(data)):
                    try:
                        s.sendall(data[i:i + 1])
                        answer += s.recv(65536)
                        if answer:
                            break
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                s.settimeout(30)
                try:
                    answer += b"".join(iter(lambda: s.recv(65536), b""))
                except OSError:
                    pass
                return time.monotonic() - started, answer

        with ThreadPoolExecutor(20) as pool:
            heads = [pool.submit(trickle, b"", head, 1.0) for _ in range(10)]
            bodies = [pool.submit(trickle, head, body, 0.5) for _ in range(10)]
            time.sleep(1)
            for code in ("620103", "620104", "620105", "620111", "620122"):
                t = time.monotonic()
                assert upload(server.links()[code], "ok.xlsx", workbook(form, units.by_code(code))).status == 200
                assert time.monotonic() - t < 1, code
            header_answers = [f.result() for f in heads]
            body_answers = [f.result() for f in bodies]
        for took, answer in header_answers:
            assert 9 < took < 14 and answer.startswith(b"HTTP/1.1 408") and "连接已断开".encode() in answer, (took, answer[:80])
        for took, answer in body_answers:
            assert took < 8 and answer.startswith(b"HTTP/1.1 408"), (took, answer[:80])
            # The server closes while this client is still sending: the system may then reset the
            # connection before the whole page has arrived. What did arrive is the page's own.
            head, _, page = answer.partition(b"\r\n\r\n")
            declared = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
            assert "上传的速度太慢".encode() in page or len(page) < declared, (took, answer[:80])
        assert not [p for p in live(inbox) if p.name.startswith("620102")]
    finally:
        server.stop()


# --- 6, 7. versions, pace, concurrent uploads -----------------------------------------------------


def test_identical_bytes_are_kept_once_and_uploads_too_close_together_are_refused(tmp_path, form, units):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    server = start_server(inbox, outbox, upload_interval_seconds=2)
    try:
        unit = units.by_code("620102")
        url = server.links()[unit.code]
        first = workbook(form, unit)
        rows = clean_rows()
        rows[0]["role_models"] += 1
        second = workbook(form, unit, rows)
        # The button pressed with no file chosen checks nothing, and keeps the clerk waiting for nothing.
        body, content_type = multipart({"explanation": ""}, {"file": ("", b"")})
        empty = request("POST", url, body, {"Content-Type": content_type, "Accept": "application/json"})
        assert empty.status == 400 and empty.json["status"] == "no-file"
        assert upload(url, "a.xlsx", first).status == 200
        soon = upload(url, "b.xlsx", second)
        assert soon.status == 429 and soon.json["status"] == "too-soon" and "秒后再上传" in soon.json["message"]
        assert 1 <= int(soon.headers["retry-after"]) <= 2
        page = upload(url, "b.xlsx", second, as_json=False)
        assert page.status == 429 and "请稍后再上传" in page.text
        for data in (second, first, second, first):  # back and forth: each content kept once
            time.sleep(2.05)
            answer = upload(url, "x.xlsx", data)
            assert answer.status == 200 and not answer.json["unchanged"]
        stored = [*live(inbox), *kept(inbox, unit.code)]
        assert sorted(p.read_bytes() for p in stored) == sorted([first, second])  # two files, no copy
        time.sleep(2.05)
        assert upload(url, "x.xlsx", first).json["unchanged"]  # the current return again: acknowledged
        office = request("GET", server.status_url()).text
        row = re.search(rf'<tr data-code="{unit.code}">(.*?)</tr>', office, re.S).group(1)
        assert re.search(r'<td class="num versions">2</td>', row)
        # The page's own folder is this account's alone; the live return is the office's to read.
        assert stat.S_IMODE((inbox / ".versions").stat().st_mode) == 0o700
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in kept(inbox, unit.code))
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in live(inbox))
    finally:
        server.stop()


def test_uploads_of_one_county_at_once_are_each_stored_under_the_name_on_its_receipt(served, form, units):
    server, inbox = served
    unit = units.by_code("620121")
    versions = []
    for i in range(6):
        rows = clean_rows()
        rows[0]["policy_sessions"] += i
        versions.append(workbook(form, unit, rows))
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda d: upload(server.links()[unit.code], "a.xlsx", d), versions))
    assert [a.status for a in answers] == [200] * 6
    names = [a.json["file"] for a in answers]
    assert len(set(names)) == 6
    for data, name in zip(versions, names):
        on_disk = [p for p in (inbox / name, inbox / ".versions" / unit.code / name) if p.is_file()]
        assert [p.read_bytes() for p in on_disk] == [data], name
    assert len([p for p in live(inbox) if p.name.startswith(unit.code)]) == 1


# --- 9, 10, 12, 13, 14. the page's own machine --------------------------------------------------


def test_a_second_server_on_the_same_inbox_refuses_to_start_naming_the_first(served, tmp_path):
    server, inbox = served
    second = run_pipeline("serve", "--inbox", str(inbox), "--outbox", str(tmp_path / "out"), "--port", "0", timeout=60)
    assert second.returncode == 2
    [line] = second.stderr.strip().splitlines()
    assert line.startswith("错误：另一个报送页正在使用收件箱")
    assert f"进程 {server.process.pid}" in line and f"端口 {server.port}" in line and "启动于" in line
    assert request("GET", server.links()["620102"]).status == 200


def test_links_outlive_a_deleted_or_damaged_token_store(tmp_path, units):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    server = start_server(inbox, outbox)
    try:
        links, office = server.links(), server.status_url()
        store = outbox / "tokens.json"
        store.unlink()
        assert request("GET", links["620102"]).status == 200 and request("GET", office).status == 200
        again = run_pipeline("links", "--outbox", str(outbox))
        assert again.returncode == 0 and "恢复 102 个链接" in again.stdout and "新生成 0 个" in again.stdout
        assert read_links(outbox) == links and json.loads(store.read_text())["tokens"]
        store.write_text('{"version": 1, "tokens": {"620102": ', encoding="utf-8")
        assert request("GET", links["620103"]).status == 200  # the server keeps the tokens it loaded
        damaged = run_pipeline("links", "--outbox", str(outbox))
        assert damaged.returncode == 2 and len(damaged.stderr.strip().splitlines()) == 1
        assert "已损坏" in damaged.stderr and "改名" in damaged.stderr and "Error" not in damaged.stderr
        assert read_links(outbox) == links
        other_inbox = tmp_path / "in2"
        other_inbox.mkdir()
        refused = run_pipeline("serve", "--inbox", str(other_inbox), "--outbox", str(outbox), "--port", "0", timeout=60)
        assert refused.returncode == 2 and "已损坏" in refused.stderr
        store.rename(outbox / "tokens.json.bad")  # as the line says
        assert run_pipeline("links", "--outbox", str(outbox)).returncode == 0
        assert read_links(outbox) == links
        assert request("GET", links["620104"]).status == 200
    finally:
        server.stop()


def test_uploads_never_touch_the_systems_temporary_folder_and_leftovers_are_swept_at_start(tmp_path, form, units):
    import tempfile

    inbox, outbox = tmp_path / "in", tmp_path / "out"
    temp = Path(tempfile.mkdtemp(prefix="t", dir="/tmp"))  # short: the worker's socket lives there
    for folder in (inbox, inbox / ".versions"):
        folder.mkdir()
    leftovers = [inbox / ".versions" / ".upload-a1b2", inbox / ".upload-c3d4.tmp"]
    for p in leftovers:
        p.write_bytes(b"PK\x03\x04 half an upload")
    server = start_server(inbox, outbox, upload_interval_seconds=0, env={"TMPDIR": str(temp), "TMP": str(temp)})
    try:
        assert not any(p.exists() for p in leftovers)
        unit = units.by_code("620102")
        # Past the megabyte a form parser keeps in memory before it spools to the temporary folder:
        # a return with a photograph of two megabytes in it.
        padded = with_member(workbook(form, unit), "xl/media/image1.png", os.urandom(2 * 1024 * 1024))
        answer = upload(server.links()[unit.code], "a.xlsx", padded)
        assert answer.status == 200, answer.body[:300]
        assert [p for p in temp.rglob("*") if p.is_file()] == []
        assert [p.name for p in (inbox / ".versions").iterdir() if p.name.startswith(".")] == []
    finally:
        server.stop()
        shutil.rmtree(temp, ignore_errors=True)


def test_a_refused_upload_is_still_shown_to_the_office_after_a_restart(tmp_path, form, units):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    unit = units.by_code("620105")
    rows = clean_rows()
    rows[0]["villages_visited"] = rows[0]["villages_total"] + 5
    server = start_server(inbox, outbox)
    try:
        assert upload(server.links()[unit.code], "a.xlsx", workbook(form, unit, rows)).status == 422
    finally:
        server.stop()
    server = start_server(inbox, outbox)
    try:
        office = request("GET", server.status_url()).text
        row = re.search(rf'<tr data-code="{unit.code}">(.*?)</tr>', office, re.S).group(1)
        assert "未报送" in row and "上传未通过（1处错误）" in row
    finally:
        server.stop()


def test_an_emailed_file_of_the_same_date_is_never_said_to_be_dated_later(tmp_path, form, units, settings):
    from pipeline.run.report import build_run

    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    unit = units.by_code("620102")
    filed = date(2016, 12, 5)
    emailed = inbox / f"{unit.code}_{unit.name}_邮件.xlsx"
    emailed.write_bytes(workbook(form, unit, filed_on=filed))
    later = time.time() + 3600  # copied from a computer whose clock runs ahead
    os.utime(emailed, (later, later))
    server = start_server(inbox, outbox, upload_interval_seconds=0)
    try:
        rows = clean_rows()
        rows[0]["role_models"] += 3
        answer = upload(server.links()[unit.code], "new.xlsx", workbook(form, unit, rows, filed_on=filed))
        body = answer.json
        assert body["status"] == "accepted" and body["not_standing"] == emailed.name
        assert "填报日期相同（2016年12月5日），而它在收件箱中的时间更晚" in body["why_not_standing"]
        stored = inbox / body["file"]
        assert body["time"] == datetime.fromtimestamp(stored.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
        rows[0]["role_models"] += 1
        page = upload(server.links()[unit.code], "new.xlsx", workbook(form, unit, rows, filed_on=filed), as_json=False).text
        assert "收件箱中的时间更晚" in page and "更晚的报表" not in page and "填报日期更晚" not in page
        office = request("GET", server.status_url()).text
        page_row = re.search(rf'<tr data-code="{unit.code}">(.*?)</tr>', office, re.S).group(1)
    finally:
        server.stop()
    run = build_run(inbox, settings, form=form, units=units)
    standing = next(u for u in run.roster.units if u.code == unit.code)
    assert standing.source.path == emailed.name  # the page and the report, by one rule
    assert datetime.fromtimestamp(standing.source.mtime).strftime("%Y-%m-%d %H:%M") in page_row


# --- 8, 16, 17. the clerk's words, the notes ------------------------------------------------------


def test_a_note_is_kept_for_the_warnings_it_was_written_for_and_exported_as_text(tmp_path, form, units):
    inbox, outbox, report = tmp_path / "in", tmp_path / "out", tmp_path / "report"
    inbox.mkdir()
    unit = units.by_code("620200")
    server = start_server(inbox, outbox, upload_interval_seconds=0)
    note = '=HYPERLINK("http://x.example","已核实")'
    try:
        url = server.links()[unit.code]
        first = upload(url, "a.xlsx", workbook(form, unit, low_coverage(clean_rows())), explanation=note).json
        assert [f["rule"] for f in first["findings"]] == ["coverage-below-threshold"]
        assert first["explanation"] == note
        # Sent again with the box empty: the note stays, for the warning it answered only.
        second = upload(url, "b.xlsx", workbook(form, unit, low_coverage(clean_rows(), villages=True))).json
        assert second["status"] == "accepted" and second["explanation"] == note
        detail = request("GET", f"{server.status_url()}/{unit.code}").text
        marks = re.findall(r'<td class="(explained|warning)">(已说明|需核实)</td>', detail)
        assert sorted(marks) == [("explained", "已说明"), ("warning", "需核实")]
        page = visible(request("GET", url).text)
        assert "SHA-256" not in page and "警告" not in page
        receipt = visible(upload(url, "b.xlsx", workbook(form, unit, low_coverage(clean_rows(), villages=True)),
                                 as_json=False).text)
        assert "校验码" in receipt and second["sha256"] in receipt and "SHA-256" not in receipt
        with open(inbox / ".versions" / "explanations.csv", encoding="utf-8-sig", newline="") as f:
            assert {row["explanation"] for row in csv.DictReader(f)} == {note}  # the page's own file: as written
        assert stat.S_IMODE((inbox / ".versions" / "explanations.csv").stat().st_mode) == 0o600
    finally:
        server.stop()
    done = run_pipeline("report", "--inbox", str(inbox), "--outbox", str(report))
    assert done.returncode == 0, done.stderr
    validation = (report / "validation.html").read_text(encoding="utf-8")
    assert validation.count("已说明</td>") == 1 and "县级上报说明：=HYPERLINK" in html.unescape(validation)
    for path in report.glob("*.csv"):
        with open(path, encoding="utf-8-sig", newline="") as f:
            assert not any(cell[:1] in "=+-@" for row in csv.reader(f) for cell in row if cell), path.name
    from openpyxl import load_workbook

    listed = load_workbook(report / "consolidated.xlsx")["问题清单"]
    cells = [c for row in listed.iter_rows() for c in row if c.value == note]
    assert cells and all(c.data_type == "s" for c in cells)  # text, never a formula
    marks = sorted(row[0].value for row in listed.iter_rows(min_row=2) if row[6].value == "coverage-below-threshold")
    assert marks == ["需核实", "需核实（已说明）"]


# --- 20. behind a proxy under a path --------------------------------------------------------------


class _Proxy:
    """A reverse proxy as an office sets one up: https://host/huizong/… forwarded to the page,
    the path's prefix taken off (nginx's `location /huizong/ { proxy_pass http://127.0.0.1:8000/; }`)."""

    def __init__(self, prefix: str) -> None:
        import http.client
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        proxy = self
        self.prefix, self.target = prefix, 0

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                if not self.path.startswith(proxy.prefix + "/"):
                    self.send_error(404)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection("127.0.0.1", proxy.target, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path[len(proxy.prefix):], body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for k, v in answer.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = _forward

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_behind_a_proxy_under_a_path_every_link_and_form_action_works(tmp_path, form, units):
    proxy = _Proxy("/huizong")
    base = f"http://127.0.0.1:{proxy.port}/huizong/"
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    server = start_server(inbox, outbox, upload_interval_seconds=0, base_url=base)
    proxy.target = server.port
    try:
        links = server.links()
        assert all(u.startswith(base + "u/") for u in links.values())
        unit = units.by_code("620200")
        for i, page_url in enumerate((links[unit.code], links[unit.code] + "/")):
            page = request("GET", page_url).text
            assert not re.search(r'(href|action|formaction)="/', page), "an absolute path skips the proxy's prefix"
            action = urljoin(page_url, re.search(r'<form method="post" action="([^"]+)"', page).group(1))
            assert action == links[unit.code]
            rows = low_coverage(clean_rows())
            rows[0]["role_models"] += i  # another return each time: stored, with its receipt
            body, content_type = multipart({}, {"file": ("a.xlsx", workbook(form, unit, rows))})
            sent = request("POST", action, body, {"Content-Type": content_type, "Origin": f"http://127.0.0.1:{proxy.port}"})
            assert sent.status == 200 and "已接收" in sent.text
            note_action = urljoin(action, re.search(r'formaction="([^"]+)"', sent.text).group(1))
            assert note_action == links[unit.code] + "/explanation"
            note = multipart({"explanation": "已核实。"}, {})
            saved = request("POST", note_action, note[0], {"Content-Type": note[1], "Origin": f"http://127.0.0.1:{proxy.port}"})
            assert saved.status == 303
            after = urljoin(note_action, saved.headers["location"])
            assert after == links[unit.code] + "?saved=1"
            assert "上报说明已保存" in request("GET", after).text
        office_url = server.status_url()
        assert office_url.startswith(base + "status/")
        office = request("GET", office_url).text
        assert not re.search(r'(href|action|formaction)="/', office)
        [detail] = re.findall(rf'<tr data-code="{unit.code}">.*?<a href="([^"]+)">查看</a>', office)
        detail_url = urljoin(office_url, detail)
        assert detail_url == f"{office_url}/{unit.code}"
        back = re.search(r'<a href="([^"]+)"[^>]*>← 返回报送情况</a>', request("GET", detail_url).text).group(1)
        assert urljoin(detail_url, back) == office_url
        # The office's view of the unit's city's page, and the city's own page, under the prefix too.
        city_page = re.search(rf'<tr data-city="{unit.city_code}">.*?<a href="([^"]+)">查看</a>', office).group(1)
        assert urljoin(office_url, city_page) == f"{office_url}/city/{unit.city_code}"
        seen = request("GET", urljoin(office_url, city_page)).text
        assert unit.name in seen and not re.search(r'(href|action|formaction)="/', seen)
        city_link = read_city_links(outbox)[unit.city_code]
        assert city_link.startswith(base + "city/") and city_link.rsplit("/", 1)[1] != links[unit.code].rsplit("/", 1)[1]
        own = request("GET", city_link).text
        action = urljoin(city_link, re.search(r'<form method="post" action="([^"]+)"', own).group(1))
        assert action == city_link and not re.search(r'(href|action|formaction)="/', own)
        # A proxy that passes its prefix on reaches the same pages.
        direct = f"{server.base}/huizong/u/{links[unit.code].rsplit('/', 1)[1]}"
        assert request("GET", direct).status == 200
    finally:
        server.stop()
        proxy.close()


def test_the_receipt_hash_is_the_files(served, form, units):
    server, inbox = served
    unit = units.by_code("620402")
    data = workbook(form, unit)
    body = upload(server.links()[unit.code], "a.xlsx", data).json
    assert body["sha256"] == hashlib.sha256((inbox / body["file"]).read_bytes()).hexdigest()
