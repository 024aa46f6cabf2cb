"""The records the submission page and its desk pass between them: an upload as it came, one the
desk takes, what an upload came to (for the page and for JSON alike), and the inbox as last
judged."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Finding, Roster
from ..run.check import Checked
from ..spec.units import Unit


@dataclass(frozen=True)
class Incoming:
    """An upload as it came: whose link, the file's own name, its bytes, the 上报说明 box."""

    unit: Unit
    filename: str
    data: bytes
    explanation: str = ""
    by_city: str = ""  # the city's code when its page sent the return on the county's behalf


@dataclass(frozen=True)
class Taken:
    """An upload the desk takes (stored, or the same as the unit's current return)."""

    index: int
    item: Incoming
    checked: Checked
    current: Checked | None  # the unit's return before it
    stored: bool


@dataclass
class Outcome:
    """What one upload came to, for the page and for JSON alike."""

    status: str  # accepted | refused | failed
    code: int  # HTTP status
    checked: Checked | None
    filename: str
    figures: tuple = ()
    changes: tuple = ()
    stored: str = ""  # the name in the inbox, as it is on the disk
    unchanged: bool = False  # identical to the current return: acknowledged, not stored again
    when: str = ""  # accepted: the time the page stored it (its time in the inbox); else when it was checked
    not_standing: str = ""  # another of the unit's files stands in the roster
    why_not: str = ""  # and why, by the rule the report chooses by
    explanation: str = ""  # the 上报说明 that now goes with the stored file
    note_failed: str = ""  # why the 上报说明 given could not be kept (the return is stored all the same)
    failure: str = ""  # failed: why the inbox could not take it, in the clerk's words

    def as_json(self) -> dict:
        """The answer a script uploading the file reads (Accept: application/json)."""
        c = self.checked
        return {
            "status": self.status,
            "sha256": c.source.sha256 if c else "",
            "file": self.stored,
            "unchanged": self.unchanged,
            "findings": [f.as_dict() for f in (c.findings if c else ())],
            "figures": {s.key: {k: v for k, _, _, v in s.figures} for s in self.figures},
            "changes": [{"sheet": x.sheet, "field": x.field, "old": x.old, "new": x.new} for x in self.changes],
            "time": self.when,
            "not_standing": self.not_standing,
            "why_not_standing": self.why_not,
            "explanation": self.explanation,
            **({"message": self.failure} if self.failure else {}),
            **({"note_failed": self.note_failed} if self.note_failed else {}),
        }


@dataclass(frozen=True)
class Standing:
    """The inbox as last judged, replaced whole at each refresh: a page rendered meanwhile sees
    one state, never half of the next."""

    checked: dict[str, Checked]  # every inbox file's check, by name
    roster: Roster
    findings: tuple[Finding, ...]
    versions: dict[str, int]  # unit code → returns it has uploaded that the page keeps
    # A return read from part of a file (a county's in a city's workbook), as its own check, by its path.
    parts: dict[str, Checked] = field(default_factory=dict)
