"""uvicorn's HTTP/1.1 connection, with what a page open to slow rural lines and to anyone who
finds its address needs: a request's headers must arrive within a few seconds of its first
byte (a client that trickles them holds a connection for nothing), and a request that is not
HTTP at all is answered with the page's own Chinese words and headers, not a bare English line.
The body's pace is the app's to watch (app.read_body)."""

from __future__ import annotations

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .pages import BAD_REQUEST, HEADERS_TOO_SLOW, raw_answer

HEADER_SECONDS = 10.0


def page_protocol(header_seconds: float = HEADER_SECONDS) -> type[H11Protocol]:
    """The connection class uvicorn is given (Config(http=…))."""

    class PageProtocol(H11Protocol):
        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._head_timer = None
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self._arm()  # a request begun: its head is timed from its first byte, not from each
            else:
                self._disarm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(header_seconds, self._head_too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                if self.conn.our_state is h11.IDLE:  # nothing said on this request yet
                    self.transport.write(raw_answer(HEADERS_TOO_SLOW))
                self.transport.close()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._disarm()  # between requests, uvicorn's keep-alive timeout governs

        def send_400_response(self, msg: str) -> None:
            self._disarm()
            self.transport.write(raw_answer(BAD_REQUEST))
            self.transport.close()

    return PageProtocol
