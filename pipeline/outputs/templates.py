"""The Jinja environments over templates/: one per folder and flavour (HTML, autoescaped; plain
text), their filters, and the compiled templates kept in the project's cache."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

import jinja2
import markupsafe

from ..paths import TEMPLATES, code_fingerprint
from ..spec import wording

TEMPLATES_DIR = TEMPLATES


class _Kept(jinja2.BytecodeCache):
    """Where one kind of environment (autoescape on or off: the same template compiles
    differently for each) keeps its compiled templates: nowhere, until a run lends it a place
    (the store's, in the project's cache), so that a run loads them instead of compiling them
    again, a sixteenth of a second a run. A place has load_bytecode and dump_bytecode."""

    def __init__(self) -> None:
        self.place = None

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if self.place is not None:
            self.place.load_bytecode(bucket)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if self.place is not None:
            self.place.dump_bytecode(bucket)


class _Environment(jinja2.Environment):
    def from_string(self, source, globals=None, template_class=None):
        """As Jinja's, the compiled template kept as a loaded one is: docxtpl compiles the Word
        template's parts from strings, the same each run (a twentieth of a second)."""
        cache = self.bytecode_cache
        if cache is None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        import hashlib

        # Jinja files a compiled template under its name: a string's is its text's digest.
        bucket = cache.get_bucket(self, "string-" + hashlib.sha256(source.encode("utf-8")).hexdigest(), None, source)
        if bucket.code is None:
            bucket.code = self.compile(source)
            cache.set_bucket(bucket)
        return self.template_class.from_code(self, bucket.code, self.make_globals(globals), None)


_KEPT = {"html": _Kept(), "text": _Kept()}
_ENVS: dict[tuple[bool, Path], jinja2.Environment] = {}


def keep_compiled_templates(place_for=None) -> None:
    """From now on in this process keep compiled templates where `place_for(kind)` says (None:
    nowhere): a run's own cache, under its lock."""
    for kind, kept in _KEPT.items():
        kept.place = place_for(kind) if place_for is not None else None


@lru_cache(maxsize=1)
def template_fingerprint() -> str:
    """Jinja keys compiled templates on each one's name and text, not on what else goes into
    the compiled code: the environment's options, its filters (applied to constants at
    compile time), Jinja's own version. Kept templates are filed under this."""
    import hashlib

    code = code_fingerprint("outputs", "spec")
    return hashlib.sha256(f"{jinja2.__version__}-{code}".encode()).hexdigest()[:12]


def environment(autoescape: bool) -> jinja2.Environment:
    """The one environment over templates/ for each flavour: autoescaped for HTML (the report,
    validation.html, the submission page), plain for text (the narrative). Kept: it holds the
    templates loaded (each checked against its file before use), so a process that renders
    many reports, or a server many pages, compiles each once."""
    env = _ENVS.get((autoescape, TEMPLATES_DIR))
    if env is None:
        env = _Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
            autoescape=autoescape,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            bytecode_cache=_KEPT["html" if autoescape else "text"],
        )
        env.filters.update(wording.FILTERS)
        env.filters["table_rows"] = table_rows
        env.filters["header_html"] = header_html
        env.filters["title_html"] = title_html
        env.filters["breakdown_json"] = _breakdown_json
        env.filters["timestamp"] = lambda t: datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M")
        _ENVS[(autoescape, TEMPLATES_DIR)] = env
    return env


def header_html(text: str) -> markupsafe.Markup:
    """A column header: <br> where it must break (\n), <wbr> where it may (tables.SOFT_BREAK)."""
    return markupsafe.Markup("<br>").join(
        markupsafe.Markup("<wbr>").join(markupsafe.escape(piece) for piece in line.split("\u200b"))
        for line in text.split("\n"))


def title_html(title: str) -> markupsafe.Markup:
    """The title with <wbr> where wording.title_lines would break it (before a quote, after
    one): a narrow screen breaks it there, as Word does, never 回头/看."""
    places = [i for i in range(1, len(title)) if title[i] in "“（《" or title[i - 1] in "”）》"]
    out, last = [], 0
    for i in places:
        out.append(markupsafe.escape(title[last:i]))
        last = i
    out.append(markupsafe.escape(title[last:]))
    return markupsafe.Markup("<wbr>").join(out)


_CELL_SEPARATOR = "\x1f"  # a control character no cell holds: the row is escaped whole, then cut


def table_rows(rows, classes: tuple[str, ...] = ()) -> markupsafe.Markup:
    """<tr><td>…</td>…</tr> per row, each text escaped; `classes`, a class per column ("" for
    none). The annex runs to a row per county: a row of plain text is escaped as one string,
    its cells joined by a character escaping leaves as it is, then cut there, instead of
    40,000 cells escaped one by one. Anything else (a number, markup) is escaped cell by cell."""
    shapes: dict[int, str] = {}  # a row's markup by its number of cells, each cell a {} to fill
    out = []
    for row in rows:
        shape = shapes.get(len(row))
        if shape is None:
            shape = shapes[len(row)] = _row_shape(len(row), classes)
        line = _CELL_SEPARATOR.join(row) if all(c.__class__ is str for c in row) else None
        if line is not None and line.count(_CELL_SEPARATOR) == len(row) - 1:
            cells = str(markupsafe.escape(line)).split(_CELL_SEPARATOR) if row else []
        else:  # not all plain text, or a cell holds the separator itself
            cells = [str(markupsafe.escape(c)) for c in row]
        out.append(shape.format(*cells))
    return markupsafe.Markup("".join(out))


def _row_shape(cells: int, classes: tuple[str, ...]) -> str:
    """<tr><td class="…">{}</td>…</tr> for a row of `cells` cells (the classes when there is one
    per cell): filled by str.format, once per row, rather than a cell at a time."""
    openings = ([f'<td class="{c}">' if c else "<td>" for c in classes] if len(classes) == cells
                else ["<td>"] * cells)
    return "<tr>" + "".join(o.replace("{", "{{").replace("}", "}}") + "{}</td>" for o in openings) + "</tr>\n"


def _breakdown_json(data: dict) -> markupsafe.Markup:
    from .breakdown import breakdown_json  # the report's alone: the page's templates never load it

    return markupsafe.Markup(breakdown_json(data))
