"""Each unit's secret link to the submission page, and the office's own status link.

A token is 192 random bits. The outbox keeps only its SHA-256 (`tokens.json`): the server
checks a presented token by its hash, so a copy of that file opens no page. The tokens
themselves are written once, to `links.csv` (mode 0600: it is the secret the office hands
out; columns 单位代码, 单位名称, 报送链接) and `status.url` (a Windows Internet shortcut, which a
double-click opens). `make links` never changes a token once made; a unit's token changes
only when the office renews or revokes it by name. Should `tokens.json` be lost, its hashes
are made again from the tokens links.csv and status.url still hold, never new tokens.
"""

from __future__ import annotations

import csv
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import Fatal
from ..outputs.csvfile import csv_bytes
from ..spec.units import UnitList
from .files import write_atomic

TOKENS = "tokens.json"
LINKS = "links.csv"
STATUS_URL = "status.url"
STATUS = "status"  # the office's key in the token store, beside the units' codes
LINK_COLUMNS = ("单位代码", "单位名称", "报送链接")
_OLD_COLUMNS = ("code", "name", "url")  # links.csv before its columns were named in Chinese


class TokenStoreDamaged(Fatal):
    def __init__(self, path: Path) -> None:
        super().__init__(f"链接的令牌文件 {path} 已损坏，无法读取：请把它改名（例如改为 {path.name}.bad）后重新运行 "
                         f"make links，各单位的链接将按 {path.parent / LINKS} 和 {path.parent / STATUS_URL} 恢复，不会改变。")


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 24 bytes: 192 bits


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def unit_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/u/{token}"


def status_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/status/{token}"


@dataclass(frozen=True)
class Links:
    """What `make links` leaves: each unit's token by code (None once revoked, or when only its
    hash survives), the status token, and how many tokens this call made."""

    tokens: dict[str, str | None]
    status: str | None
    made: int
    revoked: tuple[str, ...]
    lost: tuple[str, ...]  # units whose token exists only as a hash (links.csv was deleted)
    recovered: int = 0  # tokens.json was missing: this many hashes made again from links.csv and status.url


def load_hashes(outbox: Path) -> dict[str, str]:
    """Token hash → unit code (or STATUS): what the server checks a request against."""
    store = _load_store(outbox)
    return {entry["sha256"]: key for key, entry in store["tokens"].items()}


class TokenBook:
    """Who a presented token belongs to. Read again whenever tokens.json changes, so that a
    link renewed or revoked by `make links` takes effect on the running server at once; while
    the file is missing or cannot be read, the tokens last read stand (a link never dies
    because a file went astray)."""

    def __init__(self, outbox: Path) -> None:
        self.path = outbox / TOKENS
        self.stamp: tuple | None = None
        self.hashes: dict[str, str] = {}
        self.who("")  # read now: the tokens the server starts with stand, whatever becomes of the file

    def who(self, token: str) -> str | None:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        if stamp is not None and stamp != self.stamp:
            try:
                self.hashes = load_hashes(self.path.parent)
                self.stamp = stamp
            except (Fatal, OSError, KeyError, TypeError, AttributeError):
                pass  # half written by hand, or damaged: the tokens as last read
        return self.hashes.get(token_hash(token)) if token else None


def ensure_links(outbox: Path, units: UnitList, base_url: str, *, renew: tuple[str, ...] = (),
                 revoke: tuple[str, ...] = ()) -> Links:
    """Make the tokens that are missing, renew or revoke the ones named, and (re)write
    links.csv and status.url for `base_url`, keeping every other token as it was."""
    known_codes = {u.code for u in units.units} | {STATUS}
    unknown = [c for c in (*renew, *revoke) if c not in known_codes]
    if unknown:
        raise KeyError("、".join(unknown))
    from .lock import outbox_lock

    # Held for these few small writes only; a report run holding it longer is LockHeld.
    with outbox_lock(outbox, wait=5.0):
        return _ensure_links(outbox, units, base_url, renew, revoke)


def _ensure_links(outbox: Path, units: UnitList, base_url: str, renew: tuple[str, ...], revoke: tuple[str, ...]) -> Links:
    store = _load_store(outbox)
    recovered = 0
    if not (outbox / TOKENS).exists():
        recovered = _recover(store, outbox, [u.code for u in units.units])
    hashes = store["tokens"]
    revoked = set(store.get("revoked", []))
    plain = _tokens_in_files(outbox, hashes)
    made = 0
    now = datetime.now().isoformat(timespec="seconds")
    for key in [u.code for u in units.units] + [STATUS]:
        if key in revoke:
            hashes.pop(key, None)
            plain.pop(key, None)
            revoked.add(key)
            continue
        if key in renew or (key not in hashes and key not in revoked):
            token = new_token()
            hashes[key] = {"sha256": token_hash(token), "made": now}
            plain[key] = token
            revoked.discard(key)
            made += 1
    store["tokens"], store["revoked"] = hashes, sorted(revoked)
    _write_private(outbox / TOKENS, json.dumps(store, ensure_ascii=False, indent=1).encode("utf-8"))
    tokens = {u.code: plain.get(u.code) for u in units.units}
    _write_private(outbox / LINKS, links_csv(units, tokens, base_url))
    status = plain.get(STATUS)
    if status:
        _write_private(outbox / STATUS_URL, shortcut(status_url(base_url, status)))
    lost = tuple(c for c in [*tokens, STATUS] if c in hashes and not plain.get(c))
    return Links(tokens, status, made, tuple(sorted(revoked)), lost, recovered)


def links_csv(units: UnitList, tokens: dict[str, str | None], base_url: str) -> bytes:
    """单位代码,单位名称,报送链接; a unit without a usable token has an empty link. UTF-8 with BOM for Excel."""
    rows = [[u.code, u.name, unit_url(base_url, tokens[u.code]) if tokens.get(u.code) else ""] for u in units.units]
    return csv_bytes(list(LINK_COLUMNS), rows)


def shortcut(url: str) -> bytes:
    """status.url as Windows writes an Internet shortcut: a double-click opens the page."""
    return f"[InternetShortcut]\r\nURL={url}\r\n".encode()


def read_status_url(path: Path) -> str:
    """The address in status.url: its `URL=` line, or the bare address an older one holds; "" when none."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.upper().startswith("URL="):
            return line[4:].strip()
    return lines[0] if lines and "://" in lines[0] else ""


def read_links(outbox: Path) -> dict[str, str]:
    """code → url from links.csv (Chinese columns, or the English ones of older files), for the
    templates' 填报说明 and to keep tokens across `make links`; empty when there is none."""
    return {code: url for code, url in _link_rows(outbox).items() if url}


def _link_rows(outbox: Path) -> dict[str, str]:
    """Every unit links.csv lists, its link or "" (revoked, or lost)."""
    path = outbox / LINKS
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    out = {}
    for row in rows:
        code = (row.get(LINK_COLUMNS[0]) or row.get(_OLD_COLUMNS[0]) or "").strip()
        if code:
            out[code] = (row.get(LINK_COLUMNS[2]) or row.get(_OLD_COLUMNS[2]) or "").strip()
    return out


def _token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _tokens_in_files(outbox: Path, hashes: dict) -> dict[str, str]:
    """The tokens in links.csv and status.url, kept only where they still match their hash:
    the way to rewrite the links for another address without changing a token."""
    found = {code: _token_of(url) for code, url in read_links(outbox).items()}
    status = read_status_url(outbox / STATUS_URL)
    if status:
        found[STATUS] = _token_of(status)
    return {k: t for k, t in found.items() if k in hashes and token_hash(t) == hashes[k]["sha256"]}


def _recover(store: dict, outbox: Path, codes: list[str]) -> int:
    """tokens.json is gone: its hashes made again from the tokens links.csv and status.url
    hold, and a unit listed there without a link stays revoked. Returns how many were kept."""
    rows = _link_rows(outbox)
    now = datetime.now().isoformat(timespec="seconds")
    tokens = {code: _token_of(url) for code, url in rows.items() if url and code in codes}
    status = read_status_url(outbox / STATUS_URL)
    if status:
        tokens[STATUS] = _token_of(status)
    store["tokens"] = {k: {"sha256": token_hash(t), "made": now, "recovered": True} for k, t in tokens.items()}
    store["revoked"] = sorted(code for code, url in rows.items() if not url and code in codes)
    return len(tokens)


def _load_store(outbox: Path) -> dict:
    path = outbox / TOKENS
    if not path.exists():
        return {"version": 1, "tokens": {}, "revoked": []}
    try:
        store = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(store.get("tokens"), dict) or not all(
                isinstance(e, dict) and isinstance(e.get("sha256"), str) for e in store["tokens"].values()):
            raise ValueError("not a token store")
        store.setdefault("revoked", [])
        return store
    except (OSError, UnicodeDecodeError, ValueError, AttributeError) as e:
        raise TokenStoreDamaged(path) from e


def _write_private(path: Path, data: bytes) -> None:
    """Written whole and moved into place, readable by the office's account alone (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)


def _address(host: str | None, port: int | None, outbox: Path) -> str:
    """The links' address: the one asked for; else the one the links already have (`make
    serve` writes the address it serves on), so that renewing one unit's link does not move
    all the others to another port; else the default, http://127.0.0.1:8000."""
    if host is None and port is None:
        earlier = read_status_url(outbox / STATUS_URL)
        if "/status/" in earlier:
            return earlier.split("/status/")[0]
    host = host or "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port or 8000}"


def links_command(args) -> int:
    """`python -m pipeline links`: make the missing links, renew or revoke those named, and
    rewrite links.csv and status.url for the address counties will use."""
    from ..errors import Fatal
    from ..spec.config import load_settings
    from ..spec.form import load_form
    from ..spec.units import load_units

    settings = load_settings(args.config)
    form = load_form(settings.form_path)
    units = load_units(form.units_file)
    base_url = settings.base_url or _address(args.host, args.port, args.outbox)
    split = lambda text: tuple(c.strip() for c in (text or "").replace("，", ",").split(",") if c.strip())  # noqa: E731
    try:
        links = ensure_links(args.outbox, units, base_url, renew=split(args.renew), revoke=split(args.revoke))
    except KeyError as e:
        raise Fatal(f"没有这个单位代码：{e.args[0]}（状态页链接的代码是 status）。") from e
    usable = sum(1 for t in links.tokens.values() if t)
    if links.recovered:
        print(f"tokens.json 不见了：已按 {args.outbox / LINKS} 和 {args.outbox / STATUS_URL} 恢复 {links.recovered} 个链接，链接没有改变。")
    print(f"报送链接：{usable} 个单位，本次新生成 {links.made} 个（含办公室状态页链接）；已写入 {args.outbox / LINKS}（仅本机账户可读，请逐个单位分发）。")
    print(f"办公室状态页链接：{args.outbox / STATUS_URL}。")
    if links.revoked:
        print(f"已停用的链接：{'、'.join(links.revoked)}（用 make links RENEW=代码 重新启用）。")
    if links.lost:
        print(f"注意：{len(links.lost)} 个链接只剩校验值（links.csv 已被删除），无法再写出："
              f"{'、'.join(links.lost)}。请用 make links RENEW=代码 为这些单位生成新链接。")
    return 0
