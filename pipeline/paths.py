"""Where the project's own files are, from one constant: the project root.

Also the fingerprint of this program's own source, by package: every cache whose content some
code shapes is keyed by the fingerprint of the packages holding that code, found by glob, so
that a file added to a package, or any edit to one, makes the cache start afresh.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pipeline"
SCHEMAS = ROOT / "schemas"
TEMPLATES = ROOT / "templates"
EXAMPLE_INBOX = ROOT / "examples" / "gansu-2016"
SCRIPTS = ROOT / "scripts"
CACHE = ROOT / ".cache"  # what this program makes from its own files (checked settings), safe to delete


@lru_cache(maxsize=32)
def code_fingerprint(*packages: str) -> str:
    """A digest of every `.py` file under the named packages (`"stages/read"`, `"spec"`; `""`
    for the top-level modules alone), their paths included: 12 hex digits."""
    h = hashlib.sha256()
    for package in sorted(packages):
        folder = PACKAGE / package if package else PACKAGE
        files = folder.rglob("*.py") if package else folder.glob("*.py")
        for path in sorted(files):
            h.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()[:12]
