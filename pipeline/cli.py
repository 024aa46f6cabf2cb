"""Command line: `python -m pipeline report|example`.

Exit status: 0 when the report was written (even if partial); 1 with --strict when a unit is
missing or rejected; 2 for unusable arguments (an inbox that does not exist included).
Heavy imports (pandas, pandera, docxtpl) wait until a command needs them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

from .config import ROOT, load_settings

DEFAULT_INBOX = ROOT / "inbox"
DEFAULT_OUTBOX = ROOT / "outbox"
EXAMPLE_INBOX = ROOT / "examples" / "gansu-2016"
WORKBOOK_KINDS = ("xlsx", "xls", "broken")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description="汇总各县（市、区）报送的Excel报表，生成汇总报告。")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="汇总收件箱中的报表，写出报告")
    rep.add_argument("--inbox", type=Path, help="报表所在文件夹（默认 inbox/；为空时使用内置示例）")
    rep.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX, help="输出文件夹（默认 outbox/）")
    rep.add_argument("--config", type=Path, help="设置文件（默认 settings.toml）")
    rep.add_argument("--strict", action="store_true", help="有未报送或被退回的单位时以状态1退出")
    tp = sub.add_parser("templates", help="生成下发各县的空白报表模板（outbox/templates/）")
    tp.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX, help="输出文件夹（默认 outbox/）")
    tp.add_argument("--townships", type=Path, help="各县乡镇名单CSV（列：county_code, township），预填乡镇名称")
    tp.add_argument("--config", type=Path)
    ex = sub.add_parser("example", help="重新生成内置示例报表（examples/gansu-2016/）")
    ex.add_argument("--out", type=Path, default=EXAMPLE_INBOX)
    ex.add_argument("--config", type=Path)
    args = parser.parse_args(argv)
    if args.command == "report":
        return report(args)
    if args.command == "templates":
        return templates(args)
    return example(args)


INTERRUPTED = "已中断：本次没有写出报告，上次的报告保持不变。"


def _terminate(signum, frame):
    # Ctrl-C or SIGTERM ends the run here and now, not as an exception: raised at an
    # arbitrary point inside the worker pool's own locking it could hang the run, or be
    # swallowed. Nothing is lost: outputs reach the outbox only in one final move, which
    # an interrupt lets finish; the worker processes exit when this one is gone.
    from . import write

    if os.getpid() != _MAIN_PID:
        os._exit(130)  # a worker or chart process, which Ctrl-C reaches too: the run says it once
    if write.interrupt(signum):
        from .processes import stop_children

        stop_children()
        sys.stderr.write("\n" + INTERRUPTED + "\n")
        sys.stderr.flush()
        os._exit(130)


_MAIN_PID = os.getpid()


def report(args) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    settings = load_settings(args.config)
    inbox = args.inbox
    use_example = False
    if inbox is None:
        inbox = DEFAULT_INBOX
        if not _holds_workbook(inbox):
            use_example = True
            inbox = EXAMPLE_INBOX
            print("收件箱 inbox/ 中没有报表：使用内置示例数据 examples/gansu-2016/（报告首行注明“示例数据”）。")
    elif not inbox.is_dir():
        print(f"错误：收件箱文件夹不存在：{inbox}", file=sys.stderr)
        return 2
    from . import write
    from .run import build_run
    from .write import write_outputs

    run = build_run(inbox, settings, example=use_example, progress=_progress, cache_dir=args.outbox / ".cache")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    written = write_outputs(args.outbox, run.files, stamp=stamp)
    if write.interrupted_while_moving():
        print("已中断：中断时报告已全部写出。", file=sys.stderr)
        return 130
    _summary(run, args.outbox, written)
    if args.strict and run.totals.partial:
        return 1
    return 0


def _holds_workbook(folder: Path) -> bool:
    if not folder.is_dir():
        return False
    from .discover import discover

    return any(s.kind in WORKBOOK_KINDS for s in discover(folder))


def _progress(done: int, total: int) -> None:
    if not sys.stderr.isatty():
        return
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r读取报表 [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _summary(run, outbox: Path, written: list[Path]) -> None:
    roster = run.roster
    n = len(roster.units)
    received = sum(1 for s in run.sources if s.kind in WORKBOOK_KINDS)
    superseded = sum(len(u.superseded) for u in roster.units)
    lines = [
        f"收到报表文件 {received} 个；应报送单位 {n} 个：",
        f"  已报送（已汇总） {len(roster.with_status('included'))} 个",
        f"  已退回（有错误） {len(roster.with_status('rejected'))} 个",
        f"  未报送         {len(roster.with_status('missing'))} 个",
        f"  被替代的文件   {superseded} 个；无法识别单位的文件 {len(roster.unassigned)} 个",
    ]
    if run.totals.partial:
        lines.append("注意：汇总数为部分数据（有单位未报送或被退回），详见报告“数据说明”。")
    lines.append(f"输出已写入 {outbox}/：" + "、".join(p.name for p in written))
    print("\n".join(lines))


def example(args) -> int:
    from .example import example_returns
    from .form import load_form
    from .formbook import build_return, workbook_bytes
    from .units import load_units
    from .write import write_tree

    settings = load_settings(args.config)
    form = load_form(settings.form_path)
    units = load_units(form.units_file)
    counts = ROOT / "scripts" / "township-counts-gansu-2016.csv"
    files = {
        f"{unit.code}_{unit.name}.xlsx": workbook_bytes(build_return(form, unit, rows, filed_on=filed))
        for unit, rows, filed in example_returns(form, units, counts)
    }
    write_tree(args.out, files)
    print(f"已生成 {len(files)} 个示例报表：{args.out}")
    return 0


def templates(args) -> int:
    from .blank_forms import blank_forms, load_township_lists
    from .form import load_form
    from .units import load_units
    from .write import write_tree

    if args.townships and not args.townships.is_file():
        print(f"错误：乡镇名单文件不存在：{args.townships}", file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    form = load_form(settings.form_path)
    units = load_units(form.units_file)
    townships = load_township_lists(args.townships) if args.townships else None
    files = blank_forms(form, list(units.units), townships)
    folder = args.outbox / "templates"
    write_tree(folder, files)
    print(f"已生成 {len(files)} 个空白报表模板：{folder}")
    return 0
