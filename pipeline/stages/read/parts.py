"""The parts of a table clerks add when they rebuild it: a second column under one field's header
(the old one hidden beside the corrected one), 其中 rows breaking down the row above, and a
township's village rows under its merged name or beside a 村 column. Each is rare; none costs
the common return a step."""

from __future__ import annotations

from collections.abc import Callable

from ...spec.form import SheetSpec
from ...spec.labels import normalise_label
from ...spec.numbers import display
from .grid import Grid, cell_ref, column_letter
from .layout import Header, Rows, Table, no_entry
from .words import RowKind, RowWords, blank, clean_str

Say = Callable[..., None]  # the reader's `finding`


def settle_doubles(spec: SheetSpec, grid: Grid, header: Header, say: Say) -> dict[str, int]:
    """Each field's column when its header stands over more than one: the one shown, with a
    warning naming each hidden one; two shown are an error naming both (the first is read,
    and the return goes back)."""
    columns = dict(header.columns)
    fields = {f.key for f in spec.fields}
    for key, extra in header.doubles.items():
        if key not in columns or key not in fields:
            continue  # a computed column twice is only checked twice
        cols = [columns[key], *extra]
        shown = [c for c in cols if c not in grid.hidden_cols]
        label = spec.label_of(key)
        if len(shown) == 1:
            columns[key] = shown[0]
            for c in cols:
                if c != shown[0]:
                    say("column-hidden-duplicate", sheet=grid.name, cell=cell_ref(header.row, c), field=key,
                        field_label=label, detail=column_letter(shown[0]), value=column_letter(c))
        else:
            both = shown or cols
            say("column-duplicate", sheet=grid.name, cell=cell_ref(header.row, both[1]), field=key, field_label=label,
                detail="、".join(f"{column_letter(c)}列" for c in both))
    return columns


# --- village rows -------------------------------------------------------------------------------


def village_kind(table: Table, grid: Grid, r: int, found: Rows, text_only: list[int], words: tuple[str, ...]) -> int:
    """A row with figures and no township of its own: one of the township's village rows when
    a merged cell over it names the township, or when it names a village in a 村 column; else
    figures without a name (KEYLESS), as before."""
    top = _merged_township_row(table, grid, r)
    if top < 0:
        column = village_column(table, grid, words)
        if column < 0 or blank(grid.value(r, column)):
            return RowKind.KEYLESS
    last_kept = found.rows[-1] if found.rows else -1
    heading = text_only[-1] if text_only else -1
    if heading > last_kept and heading in found.texts and top in (-1, heading):
        # The township's own row holds no figure (its villages do): it is the township all the same.
        found.promote(heading)
        text_only.pop()
        return RowKind.VILLAGE
    head = found.village_head()
    if head >= 0 and top in (-1, found.rows[head]):
        return RowKind.VILLAGE
    return RowKind.KEYLESS


def _merged_township_row(table: Table, grid: Grid, r: int) -> int:
    """The top row of a merged cell over row r's township cell; -1 when none covers it."""
    merges = table.key_merges
    if merges is None:
        merges = table.key_merges = {}
        c = table.key_col
        for r1, c1, r2, c2 in grid.merged:
            if c1 <= c <= c2 and r2 > r1 and r1 > table.header_row:
                for below in range(r1 + 1, r2 + 1):
                    merges[below] = r1
    return merges.get(r, -1)


def village_column(table: Table, grid: Grid, words: tuple[str, ...]) -> int:
    """The column whose header says 村 (村名, 行政村…): -1 when the table has none."""
    if table.village_col == -2:
        wanted = {normalise_label(w) for w in words}
        table.village_col = -1
        for r in (table.header_row, table.header_row - 1):
            row = grid.rows[r] if 0 <= r < len(grid.rows) else []
            for c, v in enumerate(row):
                if c != table.key_col and c not in table.col_index and v.__class__ is str and normalise_label(v) in wanted:
                    table.village_col = c
                    return c
    return table.village_col


def fold_villages(table: Table, grid: Grid, found: Rows, say: Say) -> Callable[[int, list], list]:
    """How each column's values take in the village rows: a township's figure is its row's
    and its villages' together (said once, as a note); when the township's row stands apart
    from them (its 村 cell blank, its figures filled in), it keeps its own figures and each
    that differs from its villages' sum is an error at its cell."""
    groups: dict[int, list[int]] = {}
    for at, head in found.villages:
        groups.setdefault(head, []).append(at)
    stated = set()
    for head, members in groups.items():
        r = found.rows[head]
        raw = grid.rows[r]
        if table.village_col >= 0 and blank(grid.value(r, table.village_col)) and not no_entry(
                raw, table.count_cols, r, ()):
            stated.add(head)
        else:
            say("villages-summed", sheet=grid.name, cell=cell_ref(r, table.key_col), field=table.key_field,
                value=display(found.names[head]), count=1 + len(members))

    as_written: dict[int, list] = {}  # each column's values before the villages are folded in

    def fold(j: int, values: list | tuple) -> list:
        values = list(values)
        as_written[j] = list(values)
        unit = table.unit_of[j]
        for head, members in groups.items():
            parts = [values[m] for m in members]
            if head in stated:
                if unit is not None and values[head] is not None and None not in parts and values[head] != sum(parts):
                    say("villages-differ", sheet=grid.name, cell=f"{table.letters[j]}{found.rows[head] + 1}",
                        field=table.keys[j], field_label=table.spec.label_of(table.keys[j]),
                        value=display(found.names[head]), expected=values[head], total=sum(parts))
            elif unit is None:
                values[head] = None  # a computed column's figure for one village: no check of the township
            else:
                every = [values[head], *parts]
                values[head] = None if None in every else sum(every)
        return values

    def check_rules() -> None:
        """The form's not-above rules on each village's own row (走访农户数 over its 农户总数):
        checked only on the township's sum, one village over and another under passed, and
        one over was named at the township's first row, whose own figures were within."""
        for rule in table.spec.rules:
            if rule.field not in table.keys or rule.not_above not in table.keys:
                continue
            a, b = table.keys.index(rule.field), table.keys.index(rule.not_above)
            if a not in as_written or b not in as_written:
                continue
            for head, members in groups.items():
                for at in members if head in stated else [head, *members]:
                    value, bound = as_written[a][at], as_written[b][at]
                    if value is not None and bound is not None and value > bound:
                        say(rule.id, sheet=grid.name, cell=f"{table.letters[a]}{found.rows[at] + 1}", field=rule.field,
                            field_label=table.spec.label_of(rule.field), value=display(value),
                            bound_label=table.spec.label_of(rule.not_above), bound_value=display(bound))

    fold.check_rules = check_rules  # type: ignore[attr-defined]
    return fold


# --- 其中 rows ----------------------------------------------------------------------------------


def check_breakdowns(table: Table, grid: Grid, found: Rows, all_values: list, say: Say, words: RowWords) -> None:
    """Each 其中 row against the row it breaks down: a figure larger than that row's is a
    warning at its cell; a 其中 row with nothing above it to break down is a warning too.
    Neither is ever added."""
    marked = words.breakdown_marked
    for at, parent in found.breakdowns:
        r = found.rows[at]
        label = display(str(grid.value(r, table.key_col)).strip())  # as the clerk wrote it: 其中：贫困乡镇
        if marked is not None and not marked.match(clean_str(str(grid.value(r, table.key_col)))):
            # 其中贫困乡镇: most likely a part of the row above, as read; said, in case it is a township's name.
            say("breakdown-unmarked", sheet=grid.name, cell=cell_ref(r, table.key_col), field=table.key_field,
                value=label)
        if parent < 0:
            say("breakdown-alone", sheet=grid.name, cell=cell_ref(r, table.key_col), field=table.key_field, value=label)
            continue
        for j, unit in enumerate(table.unit_of):
            if unit is None:
                continue
            part, whole = all_values[j][at], all_values[j][parent]
            if part is not None and whole is not None and part > whole:
                say("breakdown-exceeds", sheet=grid.name, cell=f"{table.letters[j]}{r + 1}", field=table.keys[j],
                    field_label=table.spec.label_of(table.keys[j]), value=label, expected=part, bound_value=whole)
