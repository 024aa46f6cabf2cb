"""The inbox and the outbox must be two separate folders.

An outbox inside the inbox would be read back by the next run (its returned workbooks
superseding the counties' own returns); the same folder would have a run write into the inbox,
which is only ever read; an inbox inside the outbox would be swept by the outbox's own
housekeeping. `make report` and the submission page both refuse all three before anything else.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import Fatal


class FoldersOverlap(Fatal):
    pass


def _real(path: Path) -> Path:
    # Links resolved and case folded where the system folds it (Windows), so that two names
    # for one folder are seen as one.
    return Path(os.path.normcase(os.path.realpath(path)))


def refuse_overlap(inbox: Path, outbox: Path) -> None:
    """Raise `FoldersOverlap` when the two folders are one, or one lies inside the other."""
    i, o = _real(inbox), _real(outbox)
    if i == o:
        raise FoldersOverlap(f"收件箱和输出文件夹是同一个文件夹（{inbox}）：收件箱只读不写，请另选一个输出文件夹（OUTBOX=…）。")
    if o.is_relative_to(i):
        raise FoldersOverlap(f"输出文件夹 {outbox} 在收件箱 {inbox} 之中：下次汇总会把输出的文件当作报表读入；"
                             "请把输出文件夹放到收件箱之外（OUTBOX=…）。")
    if i.is_relative_to(o):
        raise FoldersOverlap(f"收件箱 {inbox} 在输出文件夹 {outbox} 之中：请把收件箱放到输出文件夹之外（INBOX=…）。")
