"""Reading a 填报日期 out of whatever a clerk typed beside the label."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta


def parse_date(text: str) -> date | None:
    text = unicodedata.normalize("NFKC", text)
    m = re.search(r"(\d{4})\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})", text)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    m = re.match(r"^(\d{5})(?:\.0+)?$", text.strip())
    if m and 30000 < int(m.group(1)) < 60000:  # an Excel serial date in the cell after the label
        return date(1899, 12, 30) + timedelta(days=int(m.group(1)))
    return None
