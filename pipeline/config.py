"""The one file of user settings (settings.toml at the project root)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    form_path: Path
    title: str
    cutoff: str
    office: str
    date: str
    twice_threshold: float
    word_annex_limit: int
    passwords: tuple[str, ...]
    lowest_count: int = 3
    burden_ratio: float = 2.0
    round: str = ""  # this run's round (回头看): kept as a snapshot and compared with the one before


def load_settings(path: Path | None = None) -> Settings:
    path = path or ROOT / "settings.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    report = raw.get("report", {})
    form = Path(raw.get("form", "schemas/shuanglian-2016.toml"))
    return Settings(
        form_path=form if form.is_absolute() else (path.parent / form),
        title=report.get("title", "汇总报告"),
        cutoff=report.get("cutoff", "目前"),
        office=report.get("office", ""),
        date=report.get("date", ""),
        twice_threshold=float(report.get("twice_threshold", 0.95)),
        word_annex_limit=int(report.get("word_annex_limit", 300)),
        passwords=tuple(raw.get("security", {}).get("passwords", [])),
        lowest_count=int(raw.get("attention", {}).get("lowest_count", 3)),
        burden_ratio=float(raw.get("attention", {}).get("burden_ratio", 2.0)),
        round=str(raw.get("round", "")).strip(),
    )
