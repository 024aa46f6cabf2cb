"""The city's page over HTTP: `/city/<token>` (its counties, its totals, its uploads) and
`/city/<token>/<code>` (one of its counties' returns, as the office's page shows it), and the
office's view of each city's page, `/status/<token>/city/<code>`. A city's token opens its own
counties and nothing else; the office's opens every city's page, without the upload form."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..model import Finding
from ..store.links import STATUS, city_of_key
from . import pages
from .city import WHOLE, City, CityBoard, CityOutcome, CitySent, submit
from .desk import EXPLANATION_LIMIT, Desk, note_text
from .figures import figures
from .receive import BadForm, Stalled, TooLarge, read_form


@dataclass
class Kit:
    """What the app's pages share, handed to the city's routes."""

    desk: Desk
    board: CityBoard
    who: Callable[[str], str | None]
    page: Callable[..., object]
    refuse: Callable[..., object]
    fresh: Callable[[], Awaitable[None]]
    run: Callable[..., Awaitable]  # a function on the desk, in its thread, one at a time
    foreign: Callable[..., bool]
    wants_json: Callable[..., bool]
    relative: Callable[..., str]
    limit_bytes: int
    idle_timeout: float
    upload_interval: float
    seconds_left: Callable[[float | None, float], int]
    log: Callable[[str], None] | None = None
    last_upload: dict[tuple[str, str], float] = field(default_factory=dict)


def city_routes(kit: Kit) -> list:
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    desk, board = kit.desk, kit.board

    def city_of(request) -> City | None:
        code = city_of_key(kit.who(request.path_params.get("token", "")))
        return board.cities.get(code) if code else None

    def office(request) -> bool:
        return kit.who(request.path_params.get("token", "")) == STATUS

    def city_page(request, city: City, sent: CitySent | None = None, status: int = 200, note: str = "",
                  *, as_office: bool = False):
        state = desk.state
        token = request.path_params["token"]
        view = board.view(city, state)
        if as_office:
            links = {u.code: kit.relative(request, "status", token, u.code) for u in city.counties}
            back = kit.relative(request, "status", token)
        else:
            links = {u.code: kit.relative(request, "city", token, u.code) for u in city.counties}
            back = ""
        outcome = sent.outcome if sent else None
        return kit.page("city.html.j2", status, city=city, view=view, sent=sent, outcome=outcome,
                        workbook=sent.workbook if sent else None, unit=sent.county if sent else None,
                        outcome_answered=desk.answered(outcome.stored) if outcome and outcome.stored else frozenset(),
                        note=note or (sent.note if sent else ""), links=links, back=back, office=as_office,
                        action=kit.relative(request, "city", token), limit_mb=kit.limit_bytes // (1024 * 1024),
                        note_limit=EXPLANATION_LIMIT, whole=WHOLE, round=desk.rounds, how=board.how)

    async def city_get(request):
        city = city_of(request)
        if city is None:
            return kit.refuse(request, pages.NOT_FOUND)
        await kit.fresh()
        return city_page(request, city)

    async def city_post(request):
        city = city_of(request)
        if city is None:
            return kit.refuse(request, pages.NOT_FOUND)
        back = kit.relative(request, "city", request.path_params["token"])
        if kit.foreign(request):
            return kit.refuse(request, pages.OTHER_SITE, back, Connection="close")
        try:
            form = await read_form(request, kit.limit_bytes, kit.idle_timeout)
        except TooLarge:
            mb = kit.limit_bytes // (1024 * 1024)
            refusal = pages.Refusal(413, "too-large", "文件过大", f"文件超过{mb} MB，未予接收：请删去多余的工作表、图片后重新报送。")
            return kit.refuse(request, refusal, back, Connection="close")
        except Stalled:
            return kit.refuse(request, pages.TOO_SLOW, back, Connection="close")
        except BadForm:
            return kit.refuse(request, pages.BAD_REQUEST, back, Connection="close")
        upload = form.get("file")
        choice = str(form.get("county") or "").strip()
        explanation = note_text(form.get("explanation"))
        if upload is None or isinstance(upload, str) or not upload.filename:
            await form.close()
            return _said(request, 400, "no-file", "请先选择要报送的报表文件。")
        if len(explanation) > EXPLANATION_LIMIT:  # past the page's box: refused, never saved cut short
            await form.close()
            return kit.refuse(request, pages.NOTE_TOO_LONG, back, Connection="close")
        data, filename = await upload.read(), upload.filename
        await form.close()
        if choice not in ("", WHOLE) and city.county(choice) is None:
            return _said(request, 400, "not-ours", f"所选的单位不是{city.name}所辖的{desk.form.unit_noun}：请在“报送的是”中重新选择。")
        target = (city.key, choice)
        wait = kit.seconds_left(kit.last_upload.get(target), kit.upload_interval)
        if wait:
            return kit.refuse(request, pages.too_soon(wait), back, Connection="close", **{"Retry-After": str(wait)})
        kit.last_upload[target] = time.monotonic()
        started = time.perf_counter()
        sent = await kit.run(submit, desk, city, choice, filename, data, explanation)
        if kit.log:
            kit.log(_log_line(city, sent, len(data), time.perf_counter() - started))
        if kit.wants_json(request):
            return JSONResponse(_as_json(sent), status_code=sent.code, headers=pages.security_headers())
        return city_page(request, city, sent, sent.code)

    def _said(request, status: int, key: str, message: str):
        if kit.wants_json(request):
            return JSONResponse({"status": key, "message": message}, status_code=status, headers=pages.security_headers())
        city = city_of(request)
        return city_page(request, city, status=status, note=message)

    async def city_county_get(request):
        city = city_of(request)
        unit = city.county(request.path_params.get("code", "")) if city else None
        if unit is None:
            return kit.refuse(request, pages.NOT_FOUND)
        await kit.fresh()
        return county_page(request, unit, kit.relative(request, "city", request.path_params["token"]), "返回本市（州）报送情况")

    async def office_city_get(request):
        city = board.cities.get(request.path_params.get("code", "")) if office(request) else None
        if city is None:
            return kit.refuse(request, pages.NOT_FOUND)
        await kit.fresh()
        return city_page(request, city, as_office=True)

    def county_page(request, unit, back: str, back_words: str):
        state = desk.state
        standing = desk.status_of(unit.code, state)
        current = desk.current(unit.code, state)
        return kit.page("status-unit.html.j2", unit=unit, standing=standing,
                        findings=desk.standing_findings(unit.code, state),
                        figures=figures(desk.form, current.result.ret) if current else (),
                        explanation=board.explanation(standing, state),
                        answered=desk.answered(standing.source.path) if standing.source else frozenset(),
                        versions=state.versions.get(unit.code, 0), back=back, back_words=back_words,
                        how=board.how(standing, state))

    return [
        Route("/city/{token}", city_get, methods=["GET"]),
        Route("/city/{token}/", city_get, methods=["GET"]),
        Route("/city/{token}", city_post, methods=["POST"]),
        Route("/city/{token}/", city_post, methods=["POST"]),
        Route("/city/{token}/{code}", city_county_get, methods=["GET"]),
        Route("/city/{token}/{code}/", city_county_get, methods=["GET"]),
        Route("/status/{token}/city/{code}", office_city_get, methods=["GET"]),
        Route("/status/{token}/city/{code}/", office_city_get, methods=["GET"]),
    ]


def _log_line(city: City, sent: CitySent, size: int, seconds: float) -> str:
    if sent.outcome is not None:
        o = sent.outcome
        verdict = {"accepted": "已接收", "failed": "未能保存（收件箱无法写入）"}.get(
            o.status, f"未通过审核（{o.checked.errors if o.checked else 0}处错误），未接收")
        what = f"代{sent.county.name}报送" if sent.county else "报送"
    else:
        o = sent.workbook
        verdict = {"accepted": "已接收", "failed": "未能保存（收件箱无法写入）"}.get(
            o.status, f"未通过审核（{o.checked.errors if o.checked else 0}处错误），未接收")
        what = "报送本市（州）工作簿"
    same = "（与已有的相同）" if o.unchanged else ""
    return f"{o.when} {city.code} {city.name}{what} {verdict}{same} {size} 字节 {seconds * 1000:.0f} 毫秒"


def _findings(findings: tuple[Finding, ...]) -> list[dict]:
    return [f.as_dict() for f in findings]


def _as_json(sent: CitySent) -> dict:
    """A county's return: the county's own answer (Outcome.as_json) with the county it went as; the
    city's workbook: its answer with each county's part."""
    if sent.outcome is not None:
        return sent.outcome.as_json() | {"county": sent.county.code if sent.county else "", "as": "county",
                                            **({"note": sent.note} if sent.note else {})}
    w: CityOutcome = sent.workbook
    c = w.checked
    return {
        "status": w.status,
        "as": "city",
        "sha256": c.source.sha256 if c else "",
        "file": w.stored,
        "unchanged": w.unchanged,
        "time": w.when,
        "findings": _findings(c.findings if c else ()),
        "file_findings": _findings(w.file_findings),
        "counties": {p.unit.code: {"name": p.unit.name, "findings": _findings(p.findings),
                                   "figures": {s.key: {k: v for k, _, _, v in s.figures} for s in p.figures},
                                   "not_standing": p.standing, "why_not_standing": p.why_not}
                     for p in w.counties},
        "superseded": list(w.superseded),
        "explanation": w.explanation,
        **({"message": w.failure} if w.failure else {}),
        **({"note": sent.note} if sent.note else {}),
        **({"note_failed": w.note_failed} if w.note_failed else {}),
    }
