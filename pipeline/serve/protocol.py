"""uvicorn's HTTP/1.1 connection, with what a page open to slow rural lines and to anyone who
finds its address needs: a request's headers must arrive within a few seconds of its first
byte (a client that trickles them holds a connection for nothing), and a request that is not
HTTP at all is answered with the page's own Chinese words and headers, not a bare English line.
The body's pace is the app's to watch (app.read_body)."""

from __future__ import annotations

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .pages import BAD_REQUEST, BUSY, HEADERS_TOO_SLOW, raw_answer

HEADER_SECONDS = 10.0
# Connections the page holds at once (uvicorn's limit_concurrency), and one address's share of
# them: one client holding hundreds half-open shut every county out. Half, since many counties
# may reach the page through one address (a government network's gateway): 87 at once pass.
CONNECTIONS = 400
PER_ADDRESS = CONNECTIONS // 2
# A proxy on this machine (nginx, as the README sets it up) connects from here for every county:
# its connections are not one client's. The proxy limits each client itself (limit_conn).
PROXY_ADDRESSES = frozenset({"127.0.0.1", "::1"})


def page_protocol(header_seconds: float = HEADER_SECONDS, per_address: int = PER_ADDRESS) -> type[H11Protocol]:
    """The connection class uvicorn is given (Config(http=…))."""
    held: dict[str, int] = {}  # connections open, by the address they come from

    class PageProtocol(H11Protocol):
        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._head_timer = None
            peer = transport.get_extra_info("peername")
            self._address = peer[0] if isinstance(peer, tuple) and peer else ""
            held[self._address] = held.get(self._address, 0) + 1
            full = self.limit_concurrency is not None and len(self.connections) >= self.limit_concurrency
            crowded = held[self._address] > per_address and self._address not in PROXY_ADDRESSES
            if crowded or full:  # said in Chinese, as every refusal here
                transport.write(raw_answer(BUSY))
                transport.close()
                return
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self._arm()  # a request begun: its head is timed from its first byte, not from each
            else:
                self._disarm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            left = held.get(self._address, 1) - 1
            if left > 0:
                held[self._address] = left
            else:
                held.pop(self._address, None)
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
