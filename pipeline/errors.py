"""The one kind of error that ends a command: `Fatal`, a sentence for the office's staff.

Problems with a county's return are never this (they are findings). `Fatal` is for what stops
the whole run (settings that cannot be used, an outbox that cannot be written, another run
holding the outbox); the command line prints its message as one line and exits with status 2.
"""

from __future__ import annotations


class Fatal(Exception):
    """A run cannot go on; `str(error)` is one Chinese sentence that says what to do."""


# What stops the run itself (Ctrl-C, the process ending): never caught as one unit's fault.
STOP = (KeyboardInterrupt, SystemExit, GeneratorExit)


def reason(error: OSError, doing: str = "写入") -> str:
    """Why the system refused, in the office's words (the system's own words only as a last
    resort); `doing` is what was refused (写入, 读取)."""
    import errno

    said = {
        errno.ENOSPC: "磁盘空间不足",
        errno.EACCES: f"没有{doing}权限",
        errno.EPERM: f"没有{doing}权限",
        errno.EROFS: "磁盘是只读的",
        errno.ENOTDIR: "路径中有一个同名的文件，不是文件夹",
        errno.EEXIST: "已有一个同名的文件，不是文件夹",
        errno.ENOENT: "路径不存在",
        errno.EIO: "磁盘读写出错",
    }
    return said.get(error.errno, f"系统报告：{error.strerror or type(error).__name__}")
