"""Command line: `python -m pipeline report|templates|serve|links|example`.

Exit status: 0 when the report was written (even if partial); 1 with --strict when a unit is
missing or rejected; 2 when the run cannot go on (unusable arguments or settings, an inbox that
does not exist, an outbox that cannot be written, another run holding it), told in one Chinese
line (`--debug` adds the traceback); 130 when interrupted.
Heavy imports (pandas, pandera, docxtpl) wait until a command needs them.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from pathlib import Path

from .errors import Fatal
from .paths import EXAMPLE_INBOX, ROOT, SCRIPTS
from .spec.config import load_settings
from .store.cache import CheckedSettings

DEFAULT_INBOX = ROOT / "inbox"
DEFAULT_OUTBOX = ROOT / "outbox"
WORKBOOK_KINDS = ("xlsx", "xls", "text", "broken", "archive")
CONFIG_HELP = "设置文件（默认：项目根目录下的 settings.toml）"
DEBUG_HELP = "出错时显示完整的调用栈（供维护人员排查）"


def _given(name: str, kind=str, default=None):
    """What `make` was given as NAME= (exported as PIPELINE_NAME, as written: never through a
    shell), else `default`; an option on the command line still wins."""
    value = os.environ.get(f"PIPELINE_{name}", "")
    if not value:
        return default
    if kind is int:
        try:
            return int(value)
        except ValueError:
            raise SystemExit(f"python -m pipeline：错误：{name}= 应是一个整数，而不是“{value}”。") from None
    return kind(value)


def main(argv: list[str] | None = None, one_shot: bool = False) -> int:
    """`one_shot`: this process ends when the command does (`python -m pipeline`)."""
    parser = _Parser(prog="python -m pipeline", description="汇总各县（市、区）报送的 Excel 报表，生成汇总报告。")
    sub = parser.add_subparsers(dest="command", required=True, title="命令", metavar="{report,templates,serve,links,example}")
    rep = sub.add_parser("report", help="汇总收件箱中的报表，写出报告", description="汇总收件箱中的报表，写出报告。")
    rep.add_argument("--inbox", type=Path, default=_given("INBOX", Path), metavar="文件夹",
                     help="报表所在的文件夹（默认：inbox/；只有默认的 inbox/ 中没有任何文件时，才使用内置示例）")
    rep.add_argument("--outbox", type=Path, default=_given("OUTBOX", Path), metavar="文件夹",
                     help="输出文件夹（默认：outbox/；某市（州）的汇总默认写到 outbox/city-代码/）")
    rep.add_argument("--city", default=_given("CITY"), metavar="市州",
                     help="只汇总这个市（州）的县（市、区），生成该市（州）自己的报告（名称或代码，如 兰州市 或 620100）")
    rep.add_argument("--config", type=Path, default=_given("CONFIG", Path), metavar="文件", help=CONFIG_HELP)
    rep.add_argument("--strict", action="store_true", help="有未报送或被退回的单位时以状态 1 退出")
    rep.add_argument("--round", default=_given("ROUND"), metavar="轮次", help="本轮名称（如 2016-12）：保存本轮快照，并与上一轮比较")
    rep.add_argument("--previous", default=_given("PREVIOUS"), metavar="上期", help="与哪一轮比较：轮次名称或快照所在的文件夹（默认：上一轮）")
    rep.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    tp = sub.add_parser("templates", help="生成下发各县的空白报表模板（outbox/templates/）",
                        description="生成下发各县的空白报表模板。")
    tp.add_argument("--outbox", type=Path, default=_given("OUTBOX", Path), metavar="文件夹",
                    help="输出文件夹（默认：outbox/；某市（州）的模板默认写到 outbox/city-代码/）")
    tp.add_argument("--city", default=_given("CITY"), metavar="市州", help="只为这个市（州）的县（市、区）生成模板（名称或代码）")
    tp.add_argument("--townships", type=Path, default=_given("TOWNSHIPS", Path), metavar="CSV文件",
                    help="各县乡镇名单（列：county_code, township），用来预填乡镇名称")
    tp.add_argument("--config", type=Path, default=_given("CONFIG", Path), metavar="文件", help=CONFIG_HELP)
    tp.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sv = sub.add_parser("serve", help="启动报送页：各单位凭链接上传报表，即时审核",
                        description="启动报送页：各单位凭本单位的链接上传报表，即时看到审核结果。")
    sv.add_argument("--inbox", type=Path, default=_given("INBOX", Path, DEFAULT_INBOX), metavar="文件夹", help="收件箱（默认：inbox/）")
    sv.add_argument("--outbox", type=Path, default=_given("OUTBOX", Path, DEFAULT_OUTBOX), metavar="文件夹", help="输出文件夹（默认：outbox/）")
    sv.add_argument("--host", default=_given("HOST", str, "127.0.0.1"), metavar="地址", help="监听的地址（默认：127.0.0.1，只有本机能打开）")
    sv.add_argument("--port", type=int, default=_given("PORT", int, 8000), metavar="端口", help="监听的端口（默认：8000；0 为任一空闲端口）")
    sv.add_argument("--upload-timeout", type=float, default=60.0, metavar="秒", help="上传中途停顿超过此秒数即断开（默认：60）")
    sv.add_argument("--round", default=_given("ROUND"), metavar="轮次", help="本轮名称（如 2016-12）：上传的报表即与上一轮比较（与 make report 相同）")
    sv.add_argument("--previous", default=_given("PREVIOUS"), metavar="上期", help="与哪一轮比较：轮次名称或快照所在的文件夹（默认：上一轮）")
    sv.add_argument("--config", type=Path, default=_given("CONFIG", Path), metavar="文件", help=CONFIG_HELP)
    sv.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    ln = sub.add_parser("links", help="生成各单位、各市州的报送链接（links.csv）和办公室状态页链接（status.url）",
                        description="生成各单位的报送链接、各市州的市州页链接和办公室状态页链接；已有的链接保持不变。")
    ln.add_argument("--outbox", type=Path, default=_given("OUTBOX", Path, DEFAULT_OUTBOX), metavar="文件夹", help="输出文件夹（默认：outbox/）")
    ln.add_argument("--host", default=_given("HOST"), metavar="地址", help="链接中的地址（默认沿用已有链接的地址；设置了 base_url 时以它为准）")
    ln.add_argument("--port", type=int, default=_given("PORT", int), metavar="端口", help="链接中的端口（默认沿用已有链接的端口；设置了 base_url 时以它为准）")
    ln.add_argument("--renew", default=_given("RENEW"), metavar="代码",
                    help="为这些单位换新链接（逗号分隔；市州写“市州”加代码，如 市州620100；status 为状态页链接）")
    ln.add_argument("--revoke", default=_given("REVOKE"), metavar="代码",
                    help="停用这些单位的链接（逗号分隔；市州写“市州”加代码，如 市州620100：市州的代码可能与某个单位相同）")
    ln.add_argument("--config", type=Path, default=_given("CONFIG", Path), metavar="文件", help=CONFIG_HELP)
    ln.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    ex = sub.add_parser("example", help="重新生成内置示例报表（examples/gansu-2016/）", description="重新生成内置示例报表。")
    ex.add_argument("--out", type=Path, default=EXAMPLE_INBOX, metavar="文件夹", help="写到哪个文件夹（默认：examples/gansu-2016/）")
    ex.add_argument("--config", type=Path, default=_given("CONFIG", Path), metavar="文件", help=CONFIG_HELP)
    ex.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    args = parser.parse_args(argv)
    args.one_shot = one_shot
    command = {"report": report, "templates": templates, "serve": serve, "links": links, "example": example}[args.command]
    try:
        return command(args)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BrokenPipeError:
        # The summary was piped into `head` or the like, which stopped reading: the report is
        # written all the same (the summary comes after it), and there is no one left to tell.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except BaseException as error:  # noqa: BLE001 - the one place a fatal error becomes a line for the user
        if args.debug:
            import traceback

            traceback.print_exc()
        for line in fatal_lines(error):
            print(line, file=sys.stderr)
        return 2


def fatal_lines(error: BaseException) -> list[str]:
    """What the office is told when a command cannot go on: one Chinese line a mistake."""
    if isinstance(error, Fatal):
        return ["错误：" + line for line in str(error).splitlines()]
    if isinstance(error, OSError):
        from .store.outbox import failure_message

        return ["错误：" + failure_message(error, Path(error.filename or "."))]
    return [f"错误：程序内部出错（{type(error).__name__}）。请加 --debug 重新运行，把显示的全部内容发给维护人员。"]


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)


# argparse's own sentences, in the office's language.
_ARGPARSE = [
    (r"the following arguments are required: (.*)", r"缺少必需的参数：\1"),
    (r"unrecognized arguments: (.*)", r"无法识别的参数：\1"),
    (r"argument (\S+): invalid choice: (.*) \(choose from (.*)\)", r"\1：\2 无效，可选：\3"),
    (r"argument (\S+): expected one argument", r"\1 后面要跟一个值"),
    (r"argument (\S+): ignored explicit argument (.*)", r"\1 不带值，却写了 \2"),
    (r"argument (\S+): invalid \S+ value: (.*)", r"\1 的值 \2 无效"),
    (r"ambiguous option: (\S+) could match (.*)", r"\1 不明确，可能是 \2"),
]


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "命令"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示本说明并退出")

    def format_help(self) -> str:
        titles = f"{self._optionals.title}|{self._positionals.title}"
        return re.sub(rf"^({titles}):$", r"\1：", super().format_help(), flags=re.M)

    def error(self, message: str):
        # argparse's own words first, with the commands' title: the patterns below translate them
        message = message.replace("argument {report,templates,serve,links,example}:", f"argument {self._positionals.title}:")
        for pattern, chinese in _ARGPARSE:
            if re.fullmatch(pattern, message):
                message = re.sub(pattern, chinese, message)
                break
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}：错误：{message}\n")


def serve(args) -> int:
    from .serve.app import serve_command

    return serve_command(args)


def links(args) -> int:
    from .store.links import links_command

    return links_command(args)


INTERRUPTED = "已中断：本次没有写出报告，上次的报告保持不变。"
WRITTEN_THEN_INTERRUPTED = "已中断：中断时报告已全部写出。"


def _terminate(signum, frame):
    # Ctrl-C or SIGTERM ends the run here and now, not as an exception: raised at an
    # arbitrary point inside the worker pool's own locking it could hang the run, or be
    # swallowed. Nothing is lost: outputs reach the outbox only in one final move, which
    # an interrupt lets finish; the worker processes exit when this one is gone.
    # Nothing is imported here: a signal can come while the main thread is importing the very
    # module it would need (half made: an ImportError instead of 已中断). report() imports
    # them before it installs this handler.
    from .run import processes
    from .stages.read import engine
    from .store import outbox as write

    if os.getpid() != _MAIN_PID:
        os._exit(130)  # a worker or chart process, which Ctrl-C reaches too: the run says it once
    engine.release_stderr()  # reading may be holding it back from the console (the engine's panics)
    if write.interrupt(signum):
        processes.stop_children()
        # After the switch the new report is in place: saying none was written would be false.
        sys.stderr.write("\n" + (WRITTEN_THEN_INTERRUPTED if write.outputs_written() else INTERRUPTED) + "\n")
        sys.stderr.flush()
        os._exit(130)


_MAIN_PID = os.getpid()
# What a one-shot run made, held until the process ends (os._exit, in __main__): letting it go
# when report() returns would free every record, frame and byte string of the run one by one,
# a twentieth of a second at 3,000 returns, for memory the system takes back at once.
_HELD_TO_THE_END: list[object] = []


def report(args) -> int:
    from .run import processes  # noqa: F401 - loaded before the handler that uses them
    from .stages.read import engine  # noqa: F401
    from .store import outbox  # noqa: F401

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    if getattr(args, "one_shot", False):
        # The process ends with the report (os._exit). build_run keeps the cyclic collector
        # off while it works; turned back on, its first pass would scan every object the run
        # made, to free none of them: a tenth of a second at 3,000 returns.
        import gc

        gc.disable()
    settings = load_settings(args.config, CheckedSettings())
    from .run.command import report as run_report
    from .store import outbox as write

    done = run_report(args.inbox, args.outbox, settings, round_name=args.round or "", previous=args.previous,
                      city=args.city or "", progress=_progress, default_inbox=DEFAULT_INBOX, default_outbox=DEFAULT_OUTBOX)
    if getattr(args, "one_shot", False):
        _HELD_TO_THE_END.append(done)
    if write.interrupted_while_moving():
        print(WRITTEN_THEN_INTERRUPTED, file=sys.stderr)
        return 130
    _summary(done.run, done.outbox, done.written)
    if done.plan:
        _round_summary(done.run, done.plan, done.remade)
    if args.strict and not done.run.complete:
        return 1
    return 0


def _round_summary(run, plan, remade: list[Path]) -> None:
    lines = []
    if remade:
        lines.append(f"本轮（{plan.name}）此前已生成过{len(remade)}次快照（最早为 {remade[0].name}）：本次重新汇总，"
                     f"以本次快照 rounds/{plan.name}/{plan.stamp}/ 为本轮的当前快照。")
    else:
        lines.append(f"本轮（{plan.name}）的快照已保存：rounds/{plan.name}/{plan.stamp}/。")
    if run.comparison is not None:
        lines.append(f"已与上期（{run.comparison.previous_round}）比较：可比单位 {len(run.comparison.comparable)} 个。")
    elif run.round_note:
        lines.append("注意：" + run.round_note)
    else:
        lines.append("没有更早的一轮：本期不作比较。")
    print("\n".join(lines))


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
        f"  被替代的文件   {superseded} 个；无法识别单位的文件 {len(roster.unassigned) - len(roster.unopened)} 个"
        + (f"；未能打开 {len(roster.unopened)} 处" if roster.unopened else "")
        + (f"；不在{run.form.region_name}汇总范围内的文件 {len(roster.outside)} 个" if roster.outside else ""),
    ]
    if run.comparison is not None and run.comparison.same_file:
        lines.append(f"注意：{len(run.comparison.same_file)} 个单位用的仍是上期汇总时的同一文件（没有重新报送），"
                     "其上期的数字已计入本期；名单见报告“需关注的情况”。")
    if roster.unopened:
        from .stages.attention import unopened_line

        lines.append("注意：" + unopened_line(roster, run.form.unit_noun)[:-1] + "：请处理后重新运行（详见 validation.html）。")
    if run.totals.partial:
        lines.append("注意：汇总数为部分数据（有单位未报送或被退回），详见报告“数据说明”。")
    if run.incidents:
        lines.append(f"注意：处理过程中程序出错 {len(run.incidents)} 处，涉及的单位已在审核结果中注明；"
                     f"详情见 {outbox / 'internal-errors.log'}，请发给维护人员。")
    lines.append(f"输出已写入 {outbox}：" + "、".join(p.name for p in written))
    print("\n".join(lines))


def example(args) -> int:
    from .outputs.example import example_returns
    from .outputs.formbook import build_return, workbook_bytes
    from .spec.form import load_form
    from .spec.units import load_units
    from .store.outbox import write_tree

    settings = load_settings(args.config, CheckedSettings())
    form = load_form(settings.form_path)
    units = load_units(form.units_file)
    counts = SCRIPTS / "township-counts-gansu-2016.csv"
    files = {
        f"{unit.code}_{unit.name}.xlsx": workbook_bytes(build_return(form, unit, rows, filed_on=filed))
        for unit, rows, filed in example_returns(form, units, counts)
    }
    write_tree(args.out, files)
    print(f"已生成 {len(files)} 个示例报表：{args.out}")
    return 0


def templates(args) -> int:
    from .outputs.blank_forms import blank_forms, load_township_lists
    from .spec.form import load_form
    from .spec.units import load_units
    from .store.outbox import write_tree

    if args.townships and not args.townships.is_file():
        raise Fatal(f"乡镇名单文件不存在：{args.townships}；请检查 TOWNSHIPS= 给出的路径。")
    settings = load_settings(args.config, CheckedSettings())
    form = load_form(settings.form_path)
    units = load_units(form.units_file)
    outbox, chosen = args.outbox or DEFAULT_OUTBOX, list(units.units)
    if args.city:  # a city's own templates, for its counties, worded as the city's
        from .spec.scope import city

        scope = city(form, units, args.city)
        form, chosen = scope.form, [u for u in units.units if u.city_code == scope.code]
        outbox = args.outbox or DEFAULT_OUTBOX / scope.outbox_name
    townships = load_township_lists(args.townships) if args.townships else None
    from .store.links import read_links

    links = read_links(outbox)  # made by make links or make serve; none yet: no link in the templates
    files = blank_forms(form, chosen, townships, links)
    folder = outbox / "templates"
    if links:
        from .store.files import write_private

        # Each carries its unit's secret link: readable by this account alone, as links.csv is.
        write_private(folder, files)
        print(f"已生成 {len(files)} 个空白报表模板：{folder}（填报说明中附有各单位的报送链接，仅本机账户可读，请逐个单位分发）")
    else:
        write_tree(folder, files)
        print(f"已生成 {len(files)} 个空白报表模板：{folder}")
    return 0
