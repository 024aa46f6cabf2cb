"""`make report`: the command as the office runs it, around build_run (run/report.py): the inbox
and outbox checked, the outbox held, its unfinished business finished, the round planned, the
returns' reading started, and the outputs written, all or nothing.

The reading starts before run/report.py (and with it pandas, pandera and the report's modules,
half a second) is loaded: the returns are read meanwhile by reader processes. So this module
imports nothing heavy at its top.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Fatal
from ..paths import EXAMPLE_INBOX, ROOT
from ..spec.config import Settings
from ..spec.form import load_form
from ..spec.scope import city as city_scope
from ..spec.units import load_units
from ..store import outbox as writer
from ..store.cache import LoadedUnits, sweep
from ..store.inbox import holds_nothing
from ..store.lock import outbox_lock
from ..store.outbox import refuse_overlap
from .intake import take_in
from .processes import Helper

if TYPE_CHECKING:
    from ..store.rounds import RoundPlan
    from .report import Run

DEFAULT_INBOX = ROOT / "inbox"
DEFAULT_OUTBOX = ROOT / "outbox"


@dataclass(frozen=True)
class Outcome:
    """What `report()` did: the run, the files it put in place, the round it kept."""

    run: Run
    written: list[Path]
    example: bool
    plan: RoundPlan | None
    remade: list[Path]
    outbox: Path  # where the outputs went (a city's run: the outbox's city-<code>/ unless told)


def report(inbox: Path | None, outbox: Path | None, settings: Settings, *, round_name: str = "",
           previous: str | None = None, city: str = "", progress: Callable[[int, int], None] | None = None,
           say: Callable[[str], None] = print, default_inbox: Path = DEFAULT_INBOX,
           default_outbox: Path = DEFAULT_OUTBOX) -> Outcome:
    """`make report`: `inbox` None is `default_inbox` (the project's inbox/), or the bundled
    example when that holds nothing but placeholders (said through `say`). `city`: one city's
    report (its name or code), written by default to the outbox's city-<code>/. Refuses (Fatal)
    an inbox that is not a folder, folders that overlap, an unknown city, unusable round
    arguments, an outbox another run holds."""
    form = units = scope = None
    if city:
        form = load_form(settings.form_path)
        units = load_units(form.units_file, LoadedUnits())
        scope = city_scope(form, units, city)
    if outbox is None:
        outbox = default_outbox / scope.outbox_name if scope else default_outbox
    if inbox is not None and inbox.exists() and not inbox.is_dir():
        raise Fatal(f"收件箱应是一个文件夹，而 {inbox} 是一个文件：请把 INBOX=（或 --inbox）指向存放报表的文件夹。")
    if inbox is not None and not inbox.is_dir():
        raise Fatal(f"收件箱文件夹不存在：{inbox}；请检查 INBOX=（或 --inbox）给出的路径。")
    refuse_overlap(inbox or default_inbox, outbox)  # before anything is read or written
    example = False
    if inbox is None:
        inbox = default_inbox
        if not inbox.is_dir() or holds_nothing(inbox):
            example, inbox = True, EXAMPLE_INBOX
            say("收件箱 inbox/ 中没有报表：使用内置示例数据 examples/gansu-2016/（报告首行注明“示例数据”）。")
    round_name = (round_name or settings.round or "").strip()
    if round_name or previous:
        from ..store.rounds import check_round_arguments, round_plan  # loads pandas: only for a round

        check_round_arguments(round_name, previous)
    plan, remade = None, []
    with outbox_lock(outbox):
        writer.recover(outbox)  # a run killed mid-switch is finished before anything else
        sweep(outbox / ".cache")  # and what a killed run was writing into the cache goes
        if round_name and not example:  # the bundled example never writes a snapshot
            plan, remade = round_plan(round_name, previous, outbox)
        elif round_name:
            say(f"本次使用内置示例数据：不保存轮次“{round_name}”的快照，也不与上期比较。")
        # The returns are read (by reader processes) while the rest of the program loads.
        intake = take_in(inbox, settings, form=form, units=units, cache_dir=outbox / ".cache")
        checker = Helper()
        try:
            # pandas loads first; the checker that validates a few new returns is forked then,
            # and loads pandera while this process loads the report's modules (a twentieth of
            # a second sooner than from build_run).
            from .runner import start_checker

            start_checker(checker, intake.to_read, intake.reading.many)
            from .report import build_run

            run = build_run(intake, settings, example=example, progress=progress, cache_dir=outbox / ".cache",
                            round_plan=plan, scope=scope, made=plan.made if plan else datetime.now(),
                            remade=len(remade), checker=checker)
        finally:
            intake.reading.close()
            checker.close()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        written = writer.write_outputs(outbox, run.files, stamp=stamp)
    return Outcome(run, written, example, plan, remade, outbox)
