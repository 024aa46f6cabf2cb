"""What every answer of the page carries: the headers that keep it from being framed, sniffed,
cached or scripted from elsewhere, and the answers it gives when it cannot serve a request
(a bad request, a wrong method, an upload too slow or too large, another site's form), in
Chinese, as a page of its own with a way back, or as JSON when JSON was asked for.

Scripts run only with the nonce of the page they came in (no inline script of anyone else's);
the pages' own styles are inline.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from ..outputs.templates import environment


def security_headers(nonce: str = "") -> dict[str, str]:
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    return {
        "Cache-Control": "no-store",
        # Same origin only: the page's own forms then carry its origin (which the page checks),
        # and no link ever hands a token to another site.
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src {script}; "
                                   "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    }


def nonce() -> str:
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class Refusal:
    """An answer the page gives instead of a page: its status, its key for JSON, its words."""

    status: int
    key: str
    title: str
    message: str


BAD_REQUEST = Refusal(400, "bad-request", "请求有误", "浏览器发来的内容不完整或格式不对，本次没有处理。请回到本单位的报送页重新操作。")
OTHER_SITE = Refusal(403, "other-origin", "请在报送页上操作",
                     "这次提交不是从本报送页发出的，没有处理。请用本单位的报送链接打开报送页，在页面上上传报表或保存说明。")
NOT_FOUND = Refusal(404, "not-found", "链接无效", "没有找到这个页面。报送链接可能输错了，或已被停用：请向收报单位索取本单位的报送链接。")
WRONG_METHOD = Refusal(405, "method-not-allowed", "不能这样访问", "这个地址只能用浏览器打开，或在页面上提交。请用本单位的报送链接打开报送页。")
TOO_SLOW = Refusal(408, "timeout", "网络太慢，上传已中断",
                   "上传的速度太慢（低于每秒约 1 KB），连接已断开，报表没有保存，本单位原来的报送情况不变。请在网络较好时重新上传。")
HEADERS_TOO_SLOW = Refusal(408, "timeout", "网络太慢，连接已断开",
                           "浏览器长时间没有发完请求，连接已断开，没有处理任何内容。请重新打开本单位的报送链接。")
BUSY = Refusal(503, "busy", "报送页正忙", "同时连接报送页的太多，这次没有处理。请过一两分钟再打开本单位的报送链接重新操作。")
NOTE_TOO_LONG = Refusal(413, "too-large", "说明过长", "上报说明太长，没有保存：请写在 500 字以内后重新保存。")
SERVER_ERROR = Refusal(500, "server-error", "报送页内部出错",
                       "报送页处理这次请求时出错，没有完成。请稍后重试；如仍不行，请与负责汇总的部门联系。")


def too_soon(seconds: int) -> Refusal:
    return Refusal(429, "too-soon", "请稍后再上传",
                   f"本单位刚刚上传过报表。为保护收件箱，同一单位两次上传至少相隔一会儿：请 {seconds} 秒后再上传。")


def still_coming(seconds: int) -> Refusal:
    """The unit's previous upload is still on its way (a line that stalled, a tab left open):
    the clerk is told so, not that a file was just sent."""
    return Refusal(429, "too-soon", "上一次上传还没有传完",
                   f"本单位上一次上传的报表还在传送中（网络可能中断了），没有保存。为保护收件箱，请 {seconds} 秒后再上传。")


def render_refusal(refusal: Refusal, back: str = "") -> str:
    """The refusal as a page of its own, with a link back to the page it came from (`back`,
    relative), else a word on how to get back."""
    return environment(autoescape=True).get_template("submit-error.html.j2").render(
        title=refusal.title, message=refusal.message, back=back, status=refusal.status)


def raw_answer(refusal: Refusal) -> bytes:
    """The refusal as a whole HTTP/1.1 answer, for what is refused before HTTP has a request
    to answer (a malformed request, headers that never finish): the connection then closes."""
    body = render_refusal(refusal).encode("utf-8")
    reason = {400: "Bad Request", 408: "Request Timeout", 503: "Service Unavailable"}.get(refusal.status, "Error")
    head = [f"HTTP/1.1 {refusal.status} {reason}", "Content-Type: text/html; charset=utf-8",
            f"Content-Length: {len(body)}", "Connection: close",
            *(f"{k}: {v}" for k, v in security_headers().items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body
