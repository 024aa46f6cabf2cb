"""The submission page (`make serve`): each unit uploads its own return by its secret link and
sees at once what `make report` would say of it; the office watches the roster at /status.

HTTP and tokens live here; the desk keeps the state; reading and the rules are the report's own
(run/check). Checks run one at a time in a worker thread, so the event loop keeps taking uploads.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

from ..model import SEVERITY_LABEL
from ..outputs.templates import environment
from ..spec.config import Settings
from ..spec.form import Form
from ..spec.units import Unit, UnitList
from ..store.links import STATUS, TokenBook
from ..store.rounds import RoundWatch, round_watch
from ..store.uploads import sweep_partial
from .desk import EXPLANATION_LIMIT, Desk, Outcome, figures


class TooLarge(Exception):
    pass


class Stalled(Exception):
    pass


def create_app(desk: Desk, tokens: TokenBook, *, limit_bytes: int, idle_timeout: float = 60.0, log=None):
    """The ASGI app. `tokens` tells whose a token is: a unit's code, "status", or None."""
    import anyio
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
    from starlette.routing import Route

    env = environment(autoescape=True)
    one_at_a_time = anyio.CapacityLimiter(1)
    labels = {s.value: label for s, label in SEVERITY_LABEL.items()}
    field_labels = {f.key: f.full_label for s in desk.form.sheets for f in s.count_fields}
    field_labels |= {s.key_field.key: s.key_field.label for s in desk.form.sheets}

    async def in_worker(fn, *args):
        def locked():
            with desk.lock:
                return fn(*args)
        return await anyio.to_thread.run_sync(locked, limiter=one_at_a_time)

    who = tokens.who

    def wants_json(request: Request) -> bool:
        return "application/json" in request.headers.get("accept", "")

    def page(name: str, status: int = 200, **values) -> HTMLResponse:
        values |= {"labels": labels, "field_labels": field_labels, "form": desk.form}
        return HTMLResponse(env.get_template(name).render(**values), status_code=status,
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                                     "X-Content-Type-Options": "nosniff",
                                     "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                     "script-src 'unsafe-inline'; img-src data:; form-action 'self'"})

    def not_found(request: Request):
        if wants_json(request):
            return JSONResponse({"status": "not-found"}, status_code=404)
        return page("submit-missing.html.j2", 404)

    def unit_of(request: Request) -> Unit | None:
        code = who(request.path_params.get("token", ""))
        return desk.units.by_code(code) if code and code != STATUS else None

    def unit_page(request: Request, unit: Unit, outcome: Outcome | None = None, status: int = 200, note: str = ""):
        standing = desk.status_of(unit.code)
        path = standing.source.path if standing.source else ""
        # Just accepted and now standing: its findings are on the page already, above.
        just_shown = outcome is not None and outcome.status == "accepted" and outcome.stored == path
        return page("submit.html.j2", status, unit=unit, standing=standing,
                    standing_findings=[] if just_shown else desk.standing_findings(unit.code),
                    explanation=desk.explanations.get(path, ""), round=desk.rounds,
                    outcome=outcome, note=note, limit_mb=limit_bytes // (1024 * 1024),
                    action=request.url.path)

    async def unit_get(request: Request):
        unit = unit_of(request)
        if unit is None:
            return not_found(request)
        await in_worker(desk.refresh)
        return unit_page(request, unit)

    async def unit_post(request: Request):
        unit = unit_of(request)
        if unit is None:
            return not_found(request)
        started = time.perf_counter()
        try:
            form = await _read_form(request, limit_bytes, idle_timeout)
        except TooLarge:
            return _too_large(request, unit, wants_json(request), limit_bytes, unit_page)
        except Stalled:
            return HTMLResponse("上传超时。", status_code=408, headers={"Connection": "close"})
        upload = form.get("file")
        explanation = str(form.get("explanation") or "").strip()[:EXPLANATION_LIMIT]
        if upload is None or isinstance(upload, str) or not upload.filename:
            await form.close()
            if wants_json(request):
                return JSONResponse({"status": "no-file"}, status_code=400)
            return unit_page(request, unit, status=400, note="请先选择要报送的报表文件。")
        data = await upload.read()
        filename = upload.filename
        await form.close()
        if len(data) > limit_bytes:
            return _too_large(request, unit, wants_json(request), limit_bytes, unit_page)
        outcome = await in_worker(desk.submit, unit, filename, data, explanation)
        if log:
            verdict = "已接收" if outcome.status == "accepted" else f"未通过审核（{outcome.checked.errors if outcome.checked else 0}处错误），未接收"
            log(f"{outcome.when} {unit.code} {unit.name} {verdict}"
                f"{'（与当前报表相同）' if outcome.unchanged else ''} {len(data)} 字节 "
                f"{(time.perf_counter() - started) * 1000:.0f} 毫秒")
        if wants_json(request):
            return JSONResponse(_as_json(outcome), status_code=outcome.code)
        return unit_page(request, unit, outcome, outcome.code)

    async def explain_post(request: Request):
        unit = unit_of(request)
        if unit is None:
            return not_found(request)
        try:
            form = await _read_form(request, 64 * 1024, idle_timeout)
        except (TooLarge, Stalled):
            return HTMLResponse("说明过长或上传超时。", status_code=413)
        text = str(form.get("explanation") or "").strip()[:EXPLANATION_LIMIT]
        await form.close()
        done = await in_worker(desk.explain, unit.code, text)
        if wants_json(request):
            return JSONResponse({"status": "saved" if done else "nothing"}, status_code=200 if done else 409)
        if done:
            return RedirectResponse(request.url.path.removesuffix("/explanation") + "?saved=1", status_code=303)
        return unit_page(request, unit, status=409, note="本单位还没有已接收的报表，说明未保存。")

    async def status_get(request: Request):
        if who(request.path_params.get("token", "")) != STATUS:
            return not_found(request)
        await in_worker(desk.refresh)
        roster = desk.roster
        counts = {s: len(roster.with_status(s)) for s in ("included", "rejected", "missing")}
        return page("status.html.j2", roster=roster, counts=counts, base=request.url.path.rstrip("/"),
                    explanations=desk.explanations, updated=datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
                    round=desk.rounds, refused=desk.refused)

    async def status_unit_get(request: Request):
        if who(request.path_params.get("token", "")) != STATUS:
            return not_found(request)
        unit = desk.units.by_code(request.path_params.get("code", ""))
        if unit is None:
            return not_found(request)
        await in_worker(desk.refresh)
        standing = desk.status_of(unit.code)
        current = desk.current(unit.code)
        own = [f for f in desk.findings if f.county_code == unit.code or (standing.source and f.file == standing.source.path)]
        return page("status-unit.html.j2", unit=unit, standing=standing, findings=sorted(set(own), key=lambda f: f.sort_key),
                    figures=figures(desk.form, current.result.ret) if current else (),
                    explanation=desk.explanations.get(standing.source.path, "") if standing.source else "",
                    back=request.url.path.rsplit("/", 1)[0])

    async def anything_else(request: Request):
        return not_found(request)

    routes = [
        Route("/u/{token}", unit_get, methods=["GET"]),
        Route("/u/{token}", unit_post, methods=["POST"]),
        Route("/u/{token}/explanation", explain_post, methods=["POST"]),
        Route("/status/{token}", status_get, methods=["GET"]),
        Route("/status/{token}/{code}", status_unit_get, methods=["GET"]),
        Route("/{rest:path}", anything_else, methods=["GET", "POST", "PUT", "DELETE", "HEAD"]),
    ]
    return Starlette(routes=routes)


async def _read_form(request, limit: int, idle_timeout: float):
    """The multipart form, read with a cap on its size and on the wait for each piece: an
    oversized or stalled upload is cut off here, and costs the others nothing."""
    from starlette.requests import Request

    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise TooLarge
    seen = 0
    receive = request.receive

    async def limited():
        nonlocal seen
        try:
            message = await asyncio.wait_for(receive(), idle_timeout)
        except TimeoutError as e:
            raise Stalled from e
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit + 64 * 1024:  # the file, and room for the form's own lines
                raise TooLarge
        return message

    capped = Request(request.scope, limited)
    return await capped.form(max_files=1, max_fields=4, max_part_size=64 * 1024)


def _too_large(request, unit, as_json: bool, limit_bytes: int, unit_page):
    from starlette.responses import JSONResponse

    mb = limit_bytes // (1024 * 1024)
    # The rest of an oversized body is not read: the connection is closed after the answer.
    if as_json:
        return JSONResponse({"status": "too-large", "limit_mb": mb}, status_code=413, headers={"Connection": "close"})
    response = unit_page(request, unit, status=413, note=f"文件超过{mb} MB，未予接收：请删去多余的工作表、图片后重新报送。")
    response.headers["Connection"] = "close"
    return response


def _as_json(o: Outcome) -> dict:
    c = o.checked
    return {
        "status": o.status,
        "sha256": c.source.sha256 if c else "",
        "file": o.stored,
        "unchanged": o.unchanged,
        "findings": [f.as_dict() for f in (c.findings if c else ())],
        "figures": {s.key: {k: v for k, _, _, v in s.figures} for s in o.figures},
        "changes": [{"sheet": x.sheet, "field": x.field, "old": x.old, "new": x.new} for x in o.changes],
        "time": o.when,
        "not_standing": o.not_standing,
    }


def warm_up(form: Form) -> None:
    """Import pandera and build each sheet's schema before the first county arrives: the first
    validation of a process costs a third of a second more than the next."""
    import pandas as pd

    from ..stages.validate import build_schema

    for spec in form.sheets:
        columns = {"_ret": pd.Series([0], dtype="int64"), "township": pd.Series(["甲"], dtype=object)}
        columns |= {f.key: pd.array([0], dtype="Int64") for f in spec.count_fields}
        build_schema(spec).validate(pd.DataFrame(columns), lazy=True)


def bind(host: str, port: int):
    """The listening socket, bound before anything else: PORT=0 takes a free port, and the
    links are written for the port actually taken."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)  # from here a county that connects waits in the queue, never refused
    return sock


def run_server(sock, inbox: Path, outbox: Path, settings: Settings, units: UnitList, form: Form,
               *, idle_timeout: float = 60.0, say=print, rounds: RoundWatch | None = None) -> int:
    import uvicorn

    sweep_partial(inbox)
    desk = Desk(inbox, form, units, settings.passwords, outbox=outbox, rounds=rounds, zip_depth=settings.zip_depth)
    desk.load_explanations()
    warm_up(form)
    desk.refresh()
    desk.say = say  # from here a change of the previous round is news; at start it is said below
    limit = settings.upload_limit_mb * 1024 * 1024
    app = create_app(desk, TokenBook(outbox), limit_bytes=limit, idle_timeout=idle_timeout, log=say)
    host, port = sock.getsockname()[:2]
    counts = {s: len(desk.roster.with_status(s)) for s in ("included", "rejected", "missing")}
    say(f"报送页已启动：http://{_url_host(host)}:{port}/（这个地址本身不能打开：各单位用自己的专用链接，办公室用状态页链接；按 Ctrl-C 停止）")
    say(f"收件箱 {inbox}：已报送 {counts['included']} 个，已退回 {counts['rejected']} 个，未报送 {counts['missing']} 个。")
    say(f"各单位的报送链接在 {outbox / 'links.csv'}，办公室的状态页链接在 {outbox / 'status.url'}。")
    if rounds is not None:
        say(rounds.summary())
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=10,
                            limit_concurrency=400, timeout_keep_alive=5)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn has finished the uploads under way and stopped: Ctrl-C is the way to stop
    finally:
        sock.close()
    say("报送页已停止。")
    return 0


def serve_command(args) -> int:
    """`python -m pipeline serve`: make the links that are missing, then serve until Ctrl-C."""
    from ..errors import Fatal
    from ..spec.config import load_settings
    from ..spec.form import load_form
    from ..spec.units import load_units
    from ..store.links import ensure_links
    from ..store.outbox import refuse_overlap

    inbox, outbox = args.inbox.resolve(), args.outbox.resolve()
    if not inbox.is_dir():
        raise Fatal(f"收件箱文件夹不存在：{inbox}；请检查 INBOX=（或 --inbox）给出的路径。")
    refuse_overlap(inbox, outbox)  # as make report does, before anything is read or written
    settings = load_settings(args.config)
    form = load_form(settings.form_path)
    units = load_units(form.units_file)
    rounds = round_watch(outbox, (args.round or settings.round or "").strip(), args.previous)
    try:
        sock = bind(args.host, args.port)
    except OSError as e:
        raise Fatal(f"无法在 {args.host}:{args.port} 上启动（{e.strerror}）：请换一个端口，如 make serve PORT=8001。") from e
    port = sock.getsockname()[1]
    base_url = settings.base_url or f"http://{_url_host(args.host)}:{port}"
    made = ensure_links(outbox, units, base_url)
    if made.made:
        print(f"已生成新的链接 {made.made} 个，写入 {outbox / 'links.csv'} 和 {outbox / 'status.url'}。")
    return run_server(sock, inbox, outbox, settings, units, form, idle_timeout=args.upload_timeout,
                      say=lambda line: print(line, flush=True), rounds=rounds)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
