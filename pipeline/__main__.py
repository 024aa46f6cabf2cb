import os
import signal
import sys


def _stopped_early(signum, frame) -> None:
    # Ctrl-C or SIGTERM before the report has set its own handler (while the program is still
    # loading): nothing has been read or written yet. Said the way a run says it.
    sys.stderr.write("\n已中断：本次没有写出报告，上次的报告保持不变。\n")
    sys.stderr.flush()
    os._exit(130)


if sys.argv[1:2] == ["report"]:  # the page (serve) stops on Ctrl-C as its server sees fit
    signal.signal(signal.SIGTERM, _stopped_early)
    signal.signal(signal.SIGINT, _stopped_early)

from .cli import main  # noqa: E402 - after the handlers: loading takes a while, and may be stopped

code = main(one_shot=True)
if sys.argv[1:2] != ["report"]:
    # The page has started a forkserver, whose temp folder multiprocessing removes at a normal
    # exit; the other commands are quick either way.
    sys.exit(code)
# Every output is written and closed by now. A normal exit would go on to free, one by one,
# every object the run made: a tenth of a second or more, for memory the system takes back
# at once. (An error or Ctrl-C does not come this way: those exit as usual.)
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
