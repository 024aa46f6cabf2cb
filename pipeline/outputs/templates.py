"""The Jinja environments over templates/: one per folder and flavour (HTML, autoescaped; plain
text), their filters, and the compiled templates kept in the outbox's cache."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2
import markupsafe

from ..paths import TEMPLATES, code_fingerprint
from ..spec import wording

TEMPLATES_DIR = TEMPLATES


class CompiledTemplates(jinja2.BytecodeCache):
    """The templates as Jinja compiles them, kept in a folder (the outbox's .cache/templates/)
    so that a run loads them instead of compiling them again: a fortieth of a second a run.

    Jinja keys them on each template's name and text, not on what else goes into the
    compiled code: the environment's options, filters applied to constants at compile time,
    Jinja's own version. So the folder is named by a fingerprint of this code and Jinja's
    version, and each `kind` of environment (autoescape on or off) has its own files. A
    cache that cannot be read or written only costs the compiling."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def _path(self, bucket: jinja2.bccache.Bucket) -> Path | None:
        return _compiled_in / f"{self.kind}-{bucket.key}.jinja" if _compiled_in is not None else None

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        path = self._path(bucket)
        if path is None:
            return
        try:
            with open(path, "rb") as f:
                bucket.load_bytecode(f)  # one of another Python is refused there, and compiled
        except Exception:  # noqa: BLE001 - damaged in any way: compiled again
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        path = self._path(bucket)
        if path is not None:
            from ..store.cache import _write_whole

            _write_whole(path, bucket.bytecode_to_string())


_compiled_in: Path | None = None  # where compiled templates are kept (keep_compiled_templates)
_ENVS: dict[tuple[bool, Path], jinja2.Environment] = {}


def keep_compiled_templates(folder: Path | None) -> None:
    """Keep compiled templates under `folder` from now on in this process (None: nowhere), in
    a subfolder named by this code's fingerprint; other fingerprints' subfolders go."""
    global _compiled_in
    if folder is None:
        _compiled_in = None
        return
    _compiled_in = folder / _template_fingerprint()
    if not _compiled_in.is_dir() and folder.is_dir():
        import shutil

        for old in folder.iterdir():
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)


@lru_cache(maxsize=1)
def _template_fingerprint() -> str:
    import hashlib

    # the environment, its filters and theirs: the outputs and the spec, and Jinja's version
    code = code_fingerprint("outputs", "spec")
    return hashlib.sha256(f"{jinja2.__version__}-{code}".encode()).hexdigest()[:12]


def _env(autoescape: bool) -> jinja2.Environment:
    # One environment per kind and folder, kept: it holds the templates loaded (each checked
    # against its file before use), so a process that renders many reports compiles each once.
    env = _ENVS.get((autoescape, TEMPLATES_DIR))
    if env is None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
            autoescape=autoescape,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            bytecode_cache=CompiledTemplates("html" if autoescape else "text"),
        )
        env.filters.update(wording.FILTERS)
        env.filters["table_rows"] = table_rows
        _ENVS[(autoescape, TEMPLATES_DIR)] = env
    return env


_CELL_SEPARATOR = "\x1f"  # a control character no cell holds: the row is escaped whole, then cut


def table_rows(rows, classes: tuple[str, ...] = ()) -> markupsafe.Markup:
    """<tr><td>…</td>…</tr> per row, each text escaped; `classes`, a class per column ("" for
    none). The annex runs to a row per county: a row of plain text is escaped as one string,
    its cells joined by a character escaping leaves as it is, then cut there, instead of
    40,000 cells escaped one by one. Anything else (a number, markup) is escaped cell by cell."""
    openings: dict[int, list[str]] = {}
    out = []
    for row in rows:
        opening = openings.get(len(row))
        if opening is None:
            opening = openings[len(row)] = ([f'<td class="{c}">' if c else "<td>" for c in classes]
                                            if len(classes) == len(row) else ["<td>"] * len(row))
        line = _CELL_SEPARATOR.join(row) if all(c.__class__ is str for c in row) else None
        if line is not None and line.count(_CELL_SEPARATOR) == len(row) - 1:
            cells = str(markupsafe.escape(line)).split(_CELL_SEPARATOR) if row else []
        else:  # not all plain text, or a cell holds the separator itself
            cells = [str(markupsafe.escape(c)) for c in row]
        if classes:
            out.append("<tr>" + "".join(f"{o}{cell}</td>" for o, cell in zip(opening, cells)) + "</tr>\n")
        else:
            out.append("<tr><td>" + "</td><td>".join(cells) + "</td></tr>\n" if cells else "<tr></tr>\n")
    return markupsafe.Markup("".join(out))
