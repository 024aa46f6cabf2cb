"""The submission server as tests and the benchmark use it: the real command on a free local
port, and plain HTTP uploads (multipart/form-data) with the standard library."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.paths import ROOT  # noqa: E402


@dataclass
class Server:
    process: subprocess.Popen
    base: str  # http://127.0.0.1:PORT
    outbox: Path
    log: Path

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def links(self) -> dict[str, str]:
        from pipeline.store.links import read_links

        return read_links(self.outbox)

    def city_links(self) -> dict[str, str]:
        from pipeline.store.links import read_city_links

        return read_city_links(self.outbox)

    def status_url(self) -> str:
        from pipeline.store.links import read_status_url

        return read_status_url(self.outbox / "status.url")

    def stop(self, sig=signal.SIGINT, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def said(self, words: str, timeout: float = 60) -> str:
        """The server's output once it says `words`: start_server returns at its first line, and
        the lines after it (the inbox, the links, the round) follow when the machine gets to them."""
        deadline = time.monotonic() + timeout
        while words not in (text := self.output()) and time.monotonic() < deadline and self.process.poll() is None:
            time.sleep(0.05)
        return text


def settings_file(folder: Path, **values) -> Path:
    """A settings.toml in `folder` with these top-level settings (the rest as by default)."""
    import json

    path = folder / f"settings-{uuid.uuid4().hex[:6]}.toml"
    path.write_text("".join(f"{k} = {json.dumps(v, ensure_ascii=False)}\n" for k, v in values.items()), encoding="utf-8")
    return path


def start_server(inbox: Path, outbox: Path, *args: str, timeout: float = 60, env: dict | None = None,
                 **settings) -> Server:
    """`python -m pipeline serve` on 127.0.0.1 and a port the system picks; returns once it
    listens. `settings`: settings.toml values for this server (upload_interval_seconds=0…);
    `env`: more environment variables for it."""
    log = outbox.parent / f"serve-{uuid.uuid4().hex[:6]}.log"
    if settings:
        args = (*args, "--config", str(settings_file(outbox.parent, **settings)))
    out = open(log, "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "serve", "--inbox", str(inbox), "--outbox", str(outbox),
         "--host", "127.0.0.1", "--port", "0", *args],
        cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=os.environ | {"PYTHONUNBUFFERED": "1"} | (env or {}),
    )
    out.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(r"报送页已启动：(http://127\.0\.0\.1:\d+)/", log.read_text(encoding="utf-8", errors="replace"))
        if m:
            return Server(process, m.group(1), outbox, log)
        if process.poll() is not None:
            raise RuntimeError("the server did not start:\n" + log.read_text(encoding="utf-8", errors="replace"))
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("the server did not start in time")


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "----county" + uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode() + b"\r\n")
    for name, (filename, data) in files.items():
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n")
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def request(method: str, url: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 60) -> Answer:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=headers or {})
        r = conn.getresponse()
        return Answer(r.status, r.read(), dict(r.getheaders()))
    finally:
        conn.close()


def upload(url: str, filename: str, data: bytes, *, explanation: str = "", as_json: bool = True, timeout: float = 60,
           fields: dict[str, str] | None = None) -> Answer:
    """`fields`: the form's other fields (a city's page asks whose return it is: `county`)."""
    fields = ({"explanation": explanation} if explanation else {}) | (fields or {})
    body, content_type = multipart(fields, {"file": (filename, data)})
    headers = {"Content-Type": content_type}
    if as_json:
        headers["Accept"] = "application/json"
    return request("POST", url, body, headers, timeout)


def raw(port: int, data: bytes, *, timeout: float = 30) -> bytes:
    """Bytes sent on a fresh connection as they are, and everything the server answers until
    it closes the connection."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return b"".join(iter(lambda: s.recv(65536), b""))


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def run_pipeline(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m pipeline …` as the office runs it."""
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def page_showing(url: str, words: str, timeout: float = 15) -> str:
    """The page at `url`, once it says `words`: a file put into the inbox by hand is on the pages
    as soon as the page has looked at the inbox again (a page waits for that under a second,
    then shows what it knows and looks again at the next visit)."""
    deadline = time.monotonic() + timeout
    while True:
        text = request("GET", url).text
        if words in text or time.monotonic() > deadline:
            return text
        time.sleep(0.2)
