"""How the page receives an upload: its pace (a slow line is waited for, a stalled one is
not), its size, its form (parsed in memory: no copy of an upload lands in the system's
temporary folder), where it came from, and the queue it waits in for the desk."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from urllib.parse import urlsplit

from .desk import Desk
from .outcomes import Incoming, Outcome

MIN_RATE = 1024  # bytes a second, averaged over the window (--upload-timeout): slower is a stalled upload
FORM_ROOM = 64 * 1024  # the form's own lines around the file


class TooLarge(Exception):
    pass


class Stalled(Exception):
    pass


class BadForm(Exception):
    pass


class Intake:
    """Uploads waiting for the desk: each is answered by its own outcome; those that arrive
    while a check runs are checked together when it is done."""

    def __init__(self, desk: Desk, run) -> None:
        self.desk = desk
        self.run = run  # the app's way to run a function on the desk, in a thread
        self.pending: list[tuple[Incoming, asyncio.Future]] = []
        self.busy = False
        self._task: asyncio.Task | None = None

    async def submit(self, item: Incoming) -> Outcome:
        future = asyncio.get_running_loop().create_future()
        self.pending.append((item, future))
        if not self.busy:
            self.busy = True
            self._task = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                try:
                    outcomes = await self.run(self.desk.submit_many, [item for item, _ in batch])
                except Exception as error:  # noqa: BLE001 - each upload of the batch answers with it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), outcome in zip(batch, outcomes):
                    if not future.done():
                        future.set_result(outcome)
        finally:
            self.busy = False


def origin_of(url: str) -> str:
    """scheme://host[:port] of an address, as a browser's Origin header writes it."""
    parts = urlsplit(url or "")
    if not parts.scheme or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{host}{port}".lower()


async def read_body(request, limit: int, window: float) -> bytes:
    """The request's body, whole: TooLarge past `limit`, Stalled when it comes slower than
    MIN_RATE averaged over any `window` seconds (a byte every few seconds keeps no upload
    alive; a slow rural line at a few KB/s gets through)."""
    chunks: list[bytes] = []
    seen = 0
    arrivals: deque[tuple[float, int]] = deque()
    start = time.monotonic()
    while True:
        timeout = _pace_deadline(arrivals, start, window) - time.monotonic()
        if timeout <= 0:
            raise Stalled
        try:
            message = await asyncio.wait_for(request.receive(), timeout)
        except TimeoutError as e:
            raise Stalled from e
        if message["type"] == "http.disconnect":
            raise Stalled
        body = message.get("body", b"")
        seen += len(body)
        if seen > limit:
            raise TooLarge
        chunks.append(body)
        now = time.monotonic()
        arrivals.append((now, len(body)))
        while arrivals and arrivals[0][0] <= now - window:
            arrivals.popleft()  # past every window still to come
        if not message.get("more_body", False):
            return b"".join(chunks)


def _pace_deadline(arrivals: deque[tuple[float, int]], start: float, window: float) -> float:
    """When the upload falls below MIN_RATE over the last `window` seconds if nothing more
    comes: the latest arrival still holding up a window's worth, a window on."""
    need = MIN_RATE * window
    total = 0
    for when, size in reversed(arrivals):
        total += size
        if total >= need:
            return max(start + window, when + window)
    return start + window


async def read_form(request, limit: int, window: float):
    """The multipart form, read with a cap on its size and on its pace: an oversized or stalled
    upload is cut off here and costs the others nothing. Parsed in memory (the file is at most
    `limit`): no copy of an upload ever lands in the system's temporary folder."""
    from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + FORM_ROOM:
        raise TooLarge
    content_type = request.headers.get("content-type", "")
    body = await read_body(request, limit + FORM_ROOM, window)

    async def stream():
        yield body
        yield b""

    if content_type.startswith("application/x-www-form-urlencoded"):
        parser = FormParser(request.headers, stream())
    elif content_type.startswith("multipart/form-data"):
        parser = MultiPartParser(request.headers, stream(), max_files=1, max_fields=4, max_part_size=FORM_ROOM)
        parser.spool_max_size = limit + FORM_ROOM
    else:
        raise BadForm
    try:
        return await parser.parse()
    except (MultiPartException, ValueError, KeyError) as e:
        raise BadForm from e
