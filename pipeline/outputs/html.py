"""report.html and validation.html from their records."""

from __future__ import annotations

from urllib.parse import quote

from ..model import SEVERITY_LABEL, Finding, Roster, Severity
from ..spec.form import Form
from ..stages.compare import Comparison
from .compared import round_label
from .report import Report
from .tables import explanation_of, previous_label
from .templates import environment


def render_html(report: Report) -> str:
    return environment(autoescape=True).get_template("report.html.j2").render(r=report)


def render_validation(form: Form, roster: Roster, findings: list[Finding], comparison: Comparison | None = None,
                      explained: dict[tuple[str, str], str] | None = None, *, round_name: str = "",
                      remade: int = 0, round_note: str = "", breakdown: dict | None = None) -> str:
    """Findings grouped by county (errors first), then files with no county, then skipped files.
    With a round: which one, whether it was made before (this run's figures stand now), and
    why it was not compared, when it was not: the office's business, not the report's."""
    names = {u.code: u.name for u in roster.units}
    order = {u.code: i for i, u in enumerate(roster.units)}
    # A superseded file's own findings are kept, folded apart: they count against no unit.
    replaced = {s.path for u in roster.units for s in u.superseded}
    set_aside = [f for f in findings if f.file in replaced and f.rule != "superseded"]
    findings = [f for f in findings if not (f.file in replaced and f.rule != "superseded")]
    by_county: dict[str, list[Finding]] = {}
    for f in findings:
        by_county.setdefault(f.county_code if f.county_code in names else "", []).append(f)
    # A return sent under another unit's name (城关区's, named 七里河区.xlsx): its unit-conflict is
    # filed under the name's unit, and shown to the unit whose return it is too, which it rejects.
    # Counted once, in the totals above.
    owners: dict[str, list[str]] = {}
    for u in roster.units:
        if u.source and u.status in ("included", "rejected"):
            owners.setdefault(u.source.path, []).append(u.code)
    for f in findings:
        for code in owners.get(f.file, ()):
            if code != f.county_code and f.county_code in names:
                by_county.setdefault(code, []).append(f)

    def group(code: str, title: str, items: list[Finding]) -> dict:
        items = sorted(items, key=lambda f: f.sort_key)
        return {
            "code": code, "title": title, "findings": items,
            "errors": sum(f.severity == Severity.ERROR for f in items),
            "warnings": sum(f.severity == Severity.WARNING for f in items),
            "infos": sum(f.severity == Severity.INFO for f in items),
        }

    groups = [group(c, names[c], fs) for c, fs in by_county.items() if c]
    groups.sort(key=lambda g: (-g["errors"], -g["warnings"], order[g["code"]]))
    if "" in by_county:
        groups.append(group("", "未识别单位或已跳过的文件", by_county[""]))
    chase = [u for u in roster.units if u.status != "included"]
    counts = {
        "included": len(roster.with_status("included")), "rejected": len(roster.with_status("rejected")),
        "missing": len(roster.with_status("missing")),
        "errors": sum(f.severity == Severity.ERROR for f in findings),
        "warnings": sum(f.severity == Severity.WARNING for f in findings),
    }
    rounds = []
    if round_name:
        label = round_label(round_name)
        rounds.append(f"本轮（{label}）此前已汇总过{remade}次，本次为重新汇总，报告以本次为准。" if remade
                      else f"本轮（{label}）为首次汇总。")
        if comparison is not None:
            rounds.append(f"已与上期（{round_label(comparison.previous_round)}）比较，"
                          f"两期均已汇总的单位{len(comparison.comparable)}个。")
        elif round_note:
            rounds.append(round_note)
    # A finding in a county's standing return leads to its township's row in report.html's breakdown
    # (a rejected county's rows too); one in a file set aside (superseded, unknown) leads nowhere.
    # A return combined from several files (a table a file): a finding names its own part.
    standing = {u.code: {u.source.path, *u.source.parts} for u in roster.units
                if u.source and u.status in ("included", "rejected")}

    def lead(f: Finding) -> str:
        if breakdown is None or f.file not in standing.get(f.county_code, ()):
            return ""
        if f.sheet and f.cell:
            # The field too: two tables stacked on one sheet share its name, and the cell's
            # column letter alone opened the other table's column.
            return "report.html#cell=" + ":".join(quote(x, safe="") for x in (f.county_code, f.sheet, f.cell, f.field))
        return "report.html#unit=" + quote(f.county_code, safe="")

    return environment(autoescape=True).get_template("validation.html.j2").render(
        roster=roster, groups=groups, chase=chase, counts=counts, verdict=_verdict(counts), rounds=rounds, lead=lead,
        labels={s.value: label for s, label in SEVERITY_LABEL.items()},
        previous={u.code: previous_label(comparison, u.code) for u in chase} if comparison is not None else None,
        explanation_for=lambda f: explanation_of(f, explained), place=form.location,
        superseded=sorted(set_aside, key=lambda f: f.sort_key),
    )


def _verdict(counts: dict) -> str:
    """The line that says a clean run is clean, without claiming anything of returns not received."""
    if counts["errors"] or counts["warnings"]:
        return ""
    if not counts["included"]:
        return "尚未收到任何报表。"
    if counts["missing"]:
        return (f"已收到的报表全部通过审核（{counts['included']} 个单位），没有发现错误或需核实的问题；"
                f"尚有 {counts['missing']} 个单位未报送。")
    return f"全部通过：{counts['included']} 个单位的报表均已通过审核，没有发现错误或需核实的问题。"
