"""The submission page (`make serve`): each unit uploads its own return by its secret link and
sees at once what `make report` would say of it; each city (市州) watches its counties and
uploads for them by its own link (city_routes.py); the office watches the roster, city by
city, at /status.

HTTP and tokens live here; the desk keeps the state; reading and the rules are the report's own
(run/check), run in a worker process within limits (worker.py). Uploads that arrive while a
check runs wait, and are checked together next (one validation costs about as much for many
returns as for one); the event loop keeps taking uploads and serving pages meanwhile, and a
page never waits long for the inbox to be looked at again.

Every link the pages carry is relative, so the page works as well behind a reverse proxy
under a path (base_url = "https://host/huizong/") as on its own address.
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from ..model import SEVERITY_LABEL
from ..outputs.templates import environment
from ..spec.config import Settings
from ..spec.form import Form
from ..spec.units import Unit, UnitList
from ..store.links import STATUS, TokenBook, city_of_key
from ..store.lock import server_lock
from ..store.rounds import RoundWatch, round_watch
from ..store.uploads import sweep_partial
from . import pages
from .city import CityBoard, city_groups
from .city_routes import Kit, city_routes
from .desk import EXPLANATION_LIMIT, Desk, note_text
from .figures import figures
from .outcomes import Incoming, Outcome
from .receive import BadForm, Intake, Stalled, TooLarge, origin_of, read_form
from .worker import CheckWorker, warm_up

PAGE_WAIT = 0.9  # seconds a page waits for the inbox to be looked at again before it shows what it knows


def create_app(desk: Desk, tokens: TokenBook, *, limit_bytes: int, idle_timeout: float = 60.0, log=None,
               base_url: str = "", upload_interval: float = 0.0):
    """The ASGI app. `tokens` tells whose a token is: a unit's code, a city's key, "status", or None.
    `idle_timeout`: the window over which an upload must average MIN_RATE. `base_url`: the
    address counties use (a POST from any other origin is refused). `upload_interval`: the
    least time between two uploads of one unit."""
    import anyio
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
    from starlette.routing import Mount, Route

    env = environment(autoescape=True)
    one_at_a_time = anyio.CapacityLimiter(1)
    labels = {s.value: label for s, label in SEVERITY_LABEL.items()}
    own_origin = origin_of(base_url)
    last_upload: dict[str, float] = {}
    receiving: dict[str, int] = {}  # uploads of each unit still coming in
    refreshing: list[asyncio.Task] = []

    async def in_worker(fn, *args):
        def locked():
            with desk.lock:
                return fn(*args)
        return await anyio.to_thread.run_sync(locked, limiter=one_at_a_time)

    intake = Intake(desk, in_worker)
    who = tokens.who
    board = CityBoard(desk)
    cities = board.cities

    async def fresh() -> None:
        """The inbox looked at again (files put in by hand, taken out), waited for a moment
        only: a page shows what is known when a check holds the desk."""
        if not refreshing or refreshing[0].done():
            if intake.busy:
                return  # an upload is being checked: it looks at the inbox when it is done
            refreshing[:] = [asyncio.ensure_future(in_worker(desk.refresh))]
            refreshing[0].add_done_callback(_report_fault(log))
        await asyncio.wait({refreshing[0]}, timeout=PAGE_WAIT)

    def wants_json(request: Request) -> bool:
        return "application/json" in request.headers.get("accept", "")

    def page(name: str, status: int = 200, **values) -> HTMLResponse:
        secret = pages.nonce()
        values |= {"labels": labels, "form": desk.form, "nonce": secret}
        return HTMLResponse(env.get_template(name).render(**values), status_code=status,
                            headers=pages.security_headers(secret))

    def refuse(request: Request, refusal: pages.Refusal, back: str = "", **headers) -> Response:
        """A refusal in Chinese, HTML or JSON as asked, with the pages' headers and a way back."""
        if wants_json(request):
            return JSONResponse({"status": refusal.key, "message": refusal.message}, status_code=refusal.status,
                                headers=pages.security_headers() | headers)
        return HTMLResponse(pages.render_refusal(refusal, back), status_code=refusal.status,
                            headers=pages.security_headers() | headers)

    def not_found(request: Request) -> Response:
        return refuse(request, pages.NOT_FOUND)

    def unit_of(request: Request) -> Unit | None:
        code = who(request.path_params.get("token", ""))
        return desk.units.by_code(code) if code and code != STATUS else None

    def foreign(request: Request) -> bool:
        """A POST sent from another site's page: its Origin (or, lacking one, its Referer) is
        not the page's own. A POST that carries neither is a program's, not a browser's."""
        sent = request.headers.get("origin") or origin_of(request.headers.get("referer", ""))
        return bool(sent) and sent.rstrip("/").lower() != own_origin

    def unit_page(request: Request, unit: Unit, outcome: Outcome | None = None, status: int = 200, note: str = "",
                  saved: bool = False):
        state = desk.state
        standing = desk.status_of(unit.code, state)
        path = standing.source.path if standing.source else ""
        # Just accepted and now standing: its findings are on the page already, above.
        just_shown = outcome is not None and outcome.status == "accepted" and outcome.stored == path
        token = request.path_params["token"]
        sent_by = cities.get(desk.by_city.get(path, ""))
        return page("submit.html.j2", status, unit=unit, standing=standing, sent_by=sent_by.name if sent_by else "",
                    standing_findings=[] if just_shown else desk.standing_findings(unit.code, state),
                    explanation=desk.explanation_of(path), answered=desk.answered(path), round=desk.rounds,
                    outcome_answered=desk.answered(outcome.stored) if outcome and outcome.stored else frozenset(),
                    outcome=outcome, note=note, saved=saved, limit_mb=limit_bytes // (1024 * 1024),
                    action=relative(request, "u", token), note_action=relative(request, "u", token, "explanation"),
                    note_limit=EXPLANATION_LIMIT)

    async def unit_get(request: Request):
        unit = unit_of(request)
        if unit is None:
            return not_found(request)
        await fresh()
        return unit_page(request, unit, saved=request.query_params.get("saved") == "1")

    async def unit_post(request: Request):
        unit = unit_of(request)
        if unit is None:
            return not_found(request)
        back = relative(request, "u", request.path_params["token"])
        if foreign(request):
            return refuse(request, pages.OTHER_SITE, back, Connection="close")
        wait = _seconds_left(last_upload.get(unit.code), upload_interval)
        if wait:
            said = pages.still_coming(wait) if receiving.get(unit.code) else pages.too_soon(wait)
            return refuse(request, said, back, Connection="close", **{"Retry-After": str(wait)})
        # Taken now, so that the same file sent twice at once is checked once; given back when
        # nothing came to be checked (no file chosen, too large, cut off): a clerk who pressed
        # the button too soon is not kept waiting for it.
        before = last_upload.get(unit.code)
        mine = last_upload[unit.code] = time.monotonic()

        def nothing_checked() -> None:
            if last_upload.get(unit.code) != mine:
                return  # another upload of the unit's has taken it since: its pause stands
            if before is None:
                last_upload.pop(unit.code, None)
            else:
                last_upload[unit.code] = before

        started = time.perf_counter()
        receiving[unit.code] = receiving.get(unit.code, 0) + 1
        try:
            form = await read_form(request, limit_bytes, idle_timeout)
        except TooLarge:
            nothing_checked()
            return _too_large(request, unit, wants_json(request), limit_bytes, unit_page)
        except Stalled:
            nothing_checked()
            return refuse(request, pages.TOO_SLOW, back, Connection="close")
        except BadForm:
            nothing_checked()
            return refuse(request, pages.BAD_REQUEST, back, Connection="close")
        finally:
            receiving[unit.code] -= 1
            if not receiving[unit.code]:
                del receiving[unit.code]
        upload = form.get("file")
        explanation = note_text(form.get("explanation"))
        if upload is None or isinstance(upload, str) or not upload.filename:
            await form.close()
            nothing_checked()
            if wants_json(request):
                return JSONResponse({"status": "no-file", "message": "请先选择要报送的报表文件。"}, status_code=400,
                                    headers=pages.security_headers())
            await fresh()
            return unit_page(request, unit, status=400, note="请先选择要报送的报表文件。")
        data = await upload.read()
        filename = upload.filename
        await form.close()
        if len(data) > limit_bytes:
            nothing_checked()
            return _too_large(request, unit, wants_json(request), limit_bytes, unit_page)
        if len(explanation) > EXPLANATION_LIMIT:  # past the page's box: refused, never saved cut short
            nothing_checked()
            return refuse(request, pages.NOTE_TOO_LONG, back, Connection="close")
        outcome = await intake.submit(Incoming(unit, filename, data, explanation))
        if log:
            log(_log_line(outcome, unit, len(data), time.perf_counter() - started))
        if wants_json(request):
            return JSONResponse(outcome.as_json(), status_code=outcome.code, headers=pages.security_headers())
        return unit_page(request, unit, outcome, outcome.code)

    async def explain_post(request: Request):
        unit = unit_of(request)
        if unit is None:
            return not_found(request)
        back = relative(request, "u", request.path_params["token"])
        if foreign(request):
            return refuse(request, pages.OTHER_SITE, back, Connection="close")
        try:
            form = await read_form(request, 64 * 1024, idle_timeout)
        except TooLarge:
            return refuse(request, pages.NOTE_TOO_LONG, back, Connection="close")
        except Stalled:
            return refuse(request, pages.TOO_SLOW, back, Connection="close")
        except BadForm:
            return refuse(request, pages.BAD_REQUEST, back, Connection="close")
        text = note_text(form.get("explanation"))
        await form.close()
        if len(text) > EXPLANATION_LIMIT:  # the page's box stops at the limit; cut here, it was saved short, unsaid
            return refuse(request, pages.NOTE_TOO_LONG, back, Connection="close")
        failed = await in_worker(desk.explain, unit.code, text)
        if wants_json(request):
            if failed is None:
                return JSONResponse({"status": "nothing"}, status_code=409, headers=pages.security_headers())
            return JSONResponse({"status": "saved" if not failed else "failed", "message": failed},
                                status_code=200 if not failed else 503, headers=pages.security_headers())
        if failed is None:
            return unit_page(request, unit, status=409, note="本单位还没有已接收的报表，或说明是空的：说明未保存。")
        if failed:
            return unit_page(request, unit, status=503, note=failed + "。")
        return RedirectResponse(relative(request, "u", request.path_params["token"]) + "?saved=1", status_code=303,
                                headers=pages.security_headers())

    async def status_get(request: Request):
        if who(request.path_params.get("token", "")) != STATUS:
            return not_found(request)
        await fresh()
        state = desk.state
        roster = state.roster
        token = request.path_params["token"]
        counts = {s: len(roster.with_status(s)) for s in ("included", "rejected", "missing")}
        links = {u.code: relative(request, "status", token, u.code) for u in roster.units}
        city_links = {code: relative(request, "status", token, "city", code) for code in cities}
        return page("status.html.j2", roster=roster, counts=counts, links=links, groups=city_groups(roster, cities),
                    city_links=city_links, notes={u.code: board.explanation(u, state) for u in roster.units},
                    via={u.code: board.via_city(u, state) for u in roster.units}, versions=state.versions,
                    updated=datetime.now().strftime("%Y-%m-%d %H:%M:%S"), round=desk.rounds, refused=desk.refused)

    async def status_unit_get(request: Request):
        if who(request.path_params.get("token", "")) != STATUS:
            return not_found(request)
        unit = desk.units.by_code(request.path_params.get("code", ""))
        if unit is None:
            return not_found(request)
        await fresh()
        state = desk.state
        standing = desk.status_of(unit.code, state)
        current = desk.current(unit.code, state)
        path = standing.source.path if standing.source else ""
        own = [f for f in state.findings if f.county_code == unit.code or (standing.source and f.file == path)]
        return page("status-unit.html.j2", unit=unit, standing=standing, findings=sorted(set(own), key=lambda f: f.sort_key),
                    figures=figures(desk.form, current.result.ret) if current else (),
                    explanation=desk.explanation_of(path), answered=desk.answered(path),
                    versions=state.versions.get(unit.code, 0), how=board.how(standing, state),
                    back=relative(request, "status", request.path_params["token"]), back_words="返回报送情况")

    async def anything_else(request: Request):
        return not_found(request)

    async def http_error(request: Request, exc: HTTPException):
        known = {400: pages.BAD_REQUEST, 404: pages.NOT_FOUND, 405: pages.WRONG_METHOD, 413: pages.NOTE_TOO_LONG}
        refusal = known.get(exc.status_code, pages.Refusal(exc.status_code, "error", "无法处理", pages.BAD_REQUEST.message))
        return refuse(request, refusal, _back_to(request), **(exc.headers or {}))

    async def server_error(request: Request, exc: Exception):
        if log:
            log(f"报送页内部出错（{type(exc).__name__}）：{request.method} 请求未完成。")
        return refuse(request, pages.SERVER_ERROR, _back_to(request))

    def _back_to(request: Request) -> str:
        token = request.path_params.get("token", "")
        if token and who(token) == STATUS:
            return relative(request, "status", token)
        if token and city_of_key(who(token)):
            return relative(request, "city", token)
        return relative(request, "u", token) if token and unit_of(request) else ""

    kit = Kit(desk, board, who, page, refuse, fresh, in_worker, foreign, wants_json, relative, limit_bytes,
              idle_timeout, upload_interval, _seconds_left, log)
    routes = [
        *city_routes(kit),
        Route("/u/{token}", unit_get, methods=["GET"]),
        Route("/u/{token}/", unit_get, methods=["GET"]),
        Route("/u/{token}", unit_post, methods=["POST"]),
        Route("/u/{token}/", unit_post, methods=["POST"]),
        Route("/u/{token}/explanation", explain_post, methods=["POST"]),
        Route("/status/{token}", status_get, methods=["GET"]),
        Route("/status/{token}/", status_get, methods=["GET"]),
        Route("/status/{token}/{code}", status_unit_get, methods=["GET"]),
        Route("/status/{token}/{code}/", status_unit_get, methods=["GET"]),
    ]
    catch_all = Route("/{rest:path}", anything_else, methods=["GET", "POST", "HEAD"])  # other methods: 405
    prefix = urlsplit(base_url).path.rstrip("/")
    # A proxy that passes its path on (/huizong/u/…) reaches the same pages as one that strips it.
    mounted = [Mount(prefix, routes=routes)] if prefix else []
    return Starlette(routes=[*routes, *mounted, catch_all],
                     exception_handlers={HTTPException: http_error, Exception: server_error})


def relative(request, *segments: str) -> str:
    """A link to the page at `segments` (below the app's root), relative to the request's own
    address: right whether the browser reached the page directly, with a trailing slash, or
    through a proxy under a path of its own."""
    path = request.scope["path"]
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    depth = max(path.count("/") - 1, 0)
    return "../" * depth + "/".join(segments) if depth else "./" + "/".join(segments)


def _seconds_left(last: float | None, interval: float) -> int:
    """Seconds before the unit may upload again (0: now)."""
    if last is None or interval <= 0:
        return 0
    left = interval - (time.monotonic() - last)
    return max(int(left + 0.999), 1) if left > 0 else 0


def _too_large(request, unit, as_json: bool, limit_bytes: int, unit_page):
    from starlette.responses import JSONResponse

    mb = limit_bytes // (1024 * 1024)
    # The rest of an oversized body is not read: the connection is closed after the answer.
    if as_json:
        return JSONResponse({"status": "too-large", "limit_mb": mb, "message": f"文件超过{mb} MB，未予接收。"},
                            status_code=413, headers=pages.security_headers() | {"Connection": "close"})
    response = unit_page(request, unit, status=413, note=f"文件超过{mb} MB，未予接收：请删去多余的工作表、图片后重新报送。")
    response.headers["Connection"] = "close"
    return response


def _report_fault(log):
    def done(task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None and log:
            log(f"查看收件箱时出错（{type(task.exception()).__name__}），页面显示上一次的情况。")
    return done


def _log_line(outcome: Outcome, unit: Unit, size: int, seconds: float) -> str:
    c = outcome.checked
    verdict = {"accepted": "已接收", "failed": "未能保存（收件箱无法写入）"}.get(
        outcome.status, f"未通过审核（{c.errors if c else 0}处错误），未接收")
    same = "（与当前报表相同）" if outcome.unchanged else ""
    return f"{outcome.when} {unit.code} {unit.name} {verdict}{same} {size} 字节 {seconds * 1000:.0f} 毫秒"


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
               *, idle_timeout: float = 60.0, say=print, rounds: RoundWatch | None = None, base_url: str = "") -> int:
    import uvicorn

    from .protocol import CONNECTIONS, page_protocol

    sweep_partial(inbox)
    worker: CheckWorker | None = CheckWorker(form, units, settings.passwords, seconds=settings.check_seconds,
                                             memory_mb=settings.check_memory_mb, say=say)
    try:
        worker.start()  # it loads the reader while this process looks at the inbox
    except (OSError, ValueError, RuntimeError) as e:
        say(f"注意：审核进程无法启动（{type(e).__name__}：{e}），报表改在报送页本身的进程中审核，没有内存和时间的限制。")
        worker = None
    desk = Desk(inbox, form, units, settings.passwords, outbox=outbox, worker=worker, cutoff=settings.cutoff,
                rounds=rounds, zip_depth=settings.zip_depth)
    desk.load()
    warm_up(form)
    desk.refresh()
    desk.say = say  # from here a change of the previous round is news; at start it is said below
    limit = settings.upload_limit_mb * 1024 * 1024
    app = create_app(desk, TokenBook(outbox), limit_bytes=limit, idle_timeout=idle_timeout, log=say,
                     base_url=base_url, upload_interval=settings.upload_interval_seconds)
    host, port = sock.getsockname()[:2]
    counts = {s: len(desk.roster.with_status(s)) for s in ("included", "rejected", "missing")}
    say(f"报送页已启动：http://{_url_host(host)}:{port}/（这个地址本身不能打开：各单位、各市州用自己的专用链接，办公室用状态页链接；按 Ctrl-C 停止）")
    say(f"收件箱 {inbox}：已报送 {counts['included']} 个，已退回 {counts['rejected']} 个，未报送 {counts['missing']} 个。")
    say(f"各单位、各市州的报送链接在 {outbox / 'links.csv'}，办公室的状态页链接在 {outbox / 'status.url'}（双击即可打开）。")
    if rounds is not None:
        say(rounds.summary())
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=10,
                            limit_concurrency=CONNECTIONS, timeout_keep_alive=5, http=page_protocol())
    server = uvicorn.Server(config)
    # uvicorn finishes the uploads under way on Ctrl-C or SIGTERM (a service manager, a shutdown),
    # then raises the signal again to the handler it found. For SIGTERM that was the default,
    # which ended the process there: no worker closed, nothing said, the forkserver's temp folder left.
    previous = signal.signal(signal.SIGTERM, _stop_as_ctrl_c)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn has finished the uploads under way and stopped: Ctrl-C is the way to stop
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()
        if worker is not None:
            worker.close()
    say("报送页已停止。")
    return 0


def _stop_as_ctrl_c(signum, frame):
    raise KeyboardInterrupt


def serve_command(args) -> int:
    """`python -m pipeline serve`: make the links that are missing, then serve until Ctrl-C."""
    from ..errors import Fatal
    from ..spec.config import load_settings
    from ..spec.form import load_form
    from ..spec.units import load_units
    from ..store.cache import CheckedSettings, LoadedUnits
    from ..store.links import ensure_links
    from ..store.outbox import refuse_overlap

    inbox, outbox = args.inbox.resolve(), args.outbox.resolve()
    if not inbox.is_dir():
        raise Fatal(f"收件箱文件夹不存在：{inbox}；请检查 INBOX=（或 --inbox）给出的路径。")
    refuse_overlap(inbox, outbox)  # as make report does, before anything is read or written
    settings = load_settings(args.config, CheckedSettings())
    form = load_form(settings.form_path)
    units = load_units(form.units_file, LoadedUnits())
    rounds = round_watch(outbox, (args.round or settings.round or "").strip(), args.previous)
    try:
        sock = bind(args.host, args.port)
    except OSError as e:
        raise Fatal(f"无法在 {args.host}:{args.port} 上启动（{e.strerror}）：请换一个端口，如 make serve PORT=8001。") from e
    port = sock.getsockname()[1]
    with sock, server_lock(inbox, port):  # one page per inbox: a second says which holds it, and stops
        base_url = settings.base_url or f"http://{_url_host(args.host)}:{port}"
        made = ensure_links(outbox, units, base_url)
        if made.made:
            print(f"已生成新的链接 {made.made} 个，写入 {outbox / 'links.csv'} 和 {outbox / 'status.url'}。")
        if made.recovered:
            print(f"tokens.json 不见了：已按 links.csv 和 status.url 恢复 {made.recovered} 个链接，链接没有改变。")
        return run_server(sock, inbox, outbox, settings, units, form, idle_timeout=args.upload_timeout,
                          say=lambda line: print(line, flush=True), rounds=rounds, base_url=base_url)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
