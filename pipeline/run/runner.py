"""The runner: the one guard around every step that works on one file or one unit, and how
validation is scheduled beside the rest (the reading across processes is run/reading.py).

One county's file never stops the run. Where a step works on one unit (deciding a county's
standing file, marking its workbook), the guard catches what it raises; where a step works on
many at once (reading a group of files, validating them in one pandera pass, comparing the
counties' arrays), a batch that raises is split and run again, half by half, down to the unit
that fails alone. Either way that unit gets exactly one finding, rule `internal-error` (an
error while its figures are read, checked or chosen: they cannot be trusted; a warning after,
when they stand), with a reference number; the exception and its traceback go to the run's
`internal-errors.log` under that number, never into a clerk's message.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from ..errors import STOP
from ..model import Finding, ReadResult, Severity
from ..spec.form import Form
from ..spec.units import UnitList
from ..stages.tabulate import Tables, tabulate
from ..stages.validate import prepare_validation, validate
from ..store.cache import ReadCache
from .processes import Helper, in_background

T = TypeVar("T")
R = TypeVar("R")

# The steps as the clerk's message names them.
STEPS = {
    "read": "读取报表",
    "validate": "审核报表",
    "resolve": "确定采用哪个文件",
    "compare": "与上期比较",
    "snapshot": "保存本轮数据",
    "returned": "生成退回的工作簿",
    "receipt": "生成回执",
}
# After these steps a unit's figures stand; a fault there costs only that step's part.
FIGURES_STAND = {"compare", "snapshot", "returned", "receipt"}


@dataclass(frozen=True)
class Incident:
    """A fault of this program, as the log keeps it for the maintainers."""

    reference: str
    step: str
    file: str
    county: str
    detail: str  # the exception and its traceback


class Guard:
    """Turns what a per-unit step raises into that unit's one `internal-error` finding, and
    keeps the incident for the log. `stamp` makes the reference numbers of one run unique
    across runs: the office reads a number off a returned workbook months later."""

    def __init__(self, form: Form, stamp: str | None = None) -> None:
        self.form = form
        self.stamp = stamp or datetime.now().strftime("%Y%m%d%H%M%S")
        self.incidents: list[Incident] = []

    def fault(self, step: str, error: BaseException | str, *, file: str, county: str = "") -> Finding:
        """The finding for one unit's fault at `step` (a key of STEPS); `error` the exception,
        or its traceback as text when it was caught in another process."""
        reference = f"{self.stamp}-{len(self.incidents) + 1}"
        detail = error if isinstance(error, str) else "".join(traceback.format_exception(error))
        self.incidents.append(Incident(reference, STEPS[step], file, county, detail))
        kept = step in FIGURES_STAND
        consequence = "本单位的数据已照常汇总，只是这一项暂缺。" if kept else "本单位的数据暂未汇总。"
        return self.form.finding("internal-error", file=file, county=county,
                                 severity=Severity.WARNING if kept else Severity.ERROR,
                                 step=STEPS[step], reference=reference, consequence=consequence)

    def adopt(self, incidents: Iterable[Incident]) -> None:
        """Incidents met by another process (a forked helper) for this run."""
        self.incidents += incidents

    def each(self, step: str, items: list[T], work: Callable[[T], R],
             on_fault: Callable[[T, Finding], R], place: Callable[[T], tuple[str, str]]) -> list[R]:
        """work(item) for every item; where it raises, on_fault(item, its finding) instead.
        `place(item)` is the (file, county) a fault is filed under."""
        out = []
        for item in items:
            try:
                out.append(work(item))
            except STOP:
                raise
            except BaseException as error:  # noqa: BLE001 - one unit's fault, never the run's
                file, county = place(item)
                out.append(on_fault(item, self.fault(step, error, file=file, county=county)))
        return out

    def halves(self, step: str, items: list[T], work: Callable[[list[T]], list[R]],
               on_fault: Callable[[T, Finding], R], place: Callable[[T], tuple[str, str]]) -> list[R]:
        """work(items), a result per item, for a step that works on many at once; a batch that
        raises is run again half by half, so that only the items failing alone fall to
        on_fault, and a fault costs a few more runs of the step, not one per item."""
        try:
            return work(items)
        except STOP:
            raise
        except BaseException as error:  # noqa: BLE001
            if len(items) == 1:
                file, county = place(items[0])
                return [on_fault(items[0], self.fault(step, error, file=file, county=county))]
        middle = len(items) // 2
        return (self.halves(step, items[:middle], work, on_fault, place)
                + self.halves(step, items[middle:], work, on_fault, place))

    def log(self) -> bytes:
        """internal-errors.log: each incident under its number, for the maintainers."""
        lines = []
        for i in self.incidents:
            lines += [f"=== 编号 {i.reference}  步骤：{i.step}  文件：{i.file}  单位：{i.county or '（未识别）'}", i.detail.rstrip(), ""]
        return ("\n".join(lines) + "\n").encode("utf-8")


# --- validation -----------------------------------------------------------------------------

VALIDATE_APART_UP_TO = 500  # new returns; more are validated here, on the tables already built


def start_checker(checker: Helper, new: int, many: bool) -> None:
    """Start `checker` loading pandera (a fifth of a second) when a few new returns (`new`)
    will be validated apart (start_validation); not when a reader per core reads them
    (`many`): this process, which only waits for its readers, then loads pandera itself."""
    if not many and 0 < new <= VALIDATE_APART_UP_TO and not checker.started:
        checker.start(prepare_validation)


def start_validation(form: Form, results: list[ReadResult], cache: ReadCache, guard: Guard,
                     units: UnitList, checker: Helper | None = None) -> Callable[[Tables], list[Finding]]:
    """Validation findings for every return: from the cache for content validated before,
    fresh for the rest (all in one validation per sheet type, as ever).

    A few new returns (one county resent, or a province's first run) are validated apart
    while this process tabulates every return: by `checker` when it was started (it has
    imported pandera, a fifth of a second, meanwhile), else by a forked copy, so that this
    process need not load pandera for them. A validation that raises is run again half by
    half: a return that fails alone gets its `internal-error`."""
    known = [cache.checked(r.source) for r in results]
    todo = [i for i, found in enumerate(known) if found is None]
    apart = None
    if 0 < len(todo) <= VALIDATE_APART_UP_TO:
        send = checker.submit if checker is not None and checker.started else in_background
        apart = send(_validate_returns, form, [results[i].ret for i in todo])

    def by_return(part: list[int], findings: list[Finding]) -> list[tuple[Finding, ...]]:
        by_file: dict[str, list[Finding]] = {}
        for f in findings:
            by_file.setdefault(f.file, []).append(f)
        return [tuple(f for path in results[i].source.paths for f in by_file.get(path, ())) for i in part]

    def place(i: int) -> tuple[str, str]:
        return results[i].source.path, results[i].ret.county_code

    def first_try(part: list[int], tables: Tables) -> list[tuple[Finding, ...]]:
        if part is todo and apart is not None:
            return by_return(part, apart())
        whole = tables if len(part) == len(results) else tabulate(form, [results[i].ret for i in part])
        return by_return(part, validate(form, whole))

    def finish(tables: Tables) -> list[Finding]:
        if todo:
            fresh = guard.halves("validate", todo, lambda part: first_try(part, tables),
                                 lambda i, finding: (finding,), place)
            for i, found in zip(todo, fresh):
                known[i] = found
                if not any(f.rule == "internal-error" for f in found):
                    cache.put_checked(results[i].source, found)
        return [f for found in known for f in found]

    return finish


def _validate_returns(form: Form, returns: list) -> list[Finding]:
    return validate(form, tabulate(form, returns))
