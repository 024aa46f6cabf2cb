"""The narrative's exact text for the bundled example. After a deliberate change of
wording, `make golden` rewrites the file; review its diff before committing."""

import os

from pipeline.run.report import build_run
from tests.builders import EXAMPLE
from tests.builders import GOLDEN as GOLDEN_DIR

GOLDEN = GOLDEN_DIR / "example-narrative.txt"


def test_example_narrative_matches_golden(settings):
    run = build_run(EXAMPLE, settings)
    text = "\n\n".join([run.report.title, run.report.status_line, *run.report.narrative]) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")
