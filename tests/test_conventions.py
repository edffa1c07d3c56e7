"""The course conventions (CONTRIBUTING.md, "Notebook conventions") hold in every notebook."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from render_results import headline_keys  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_CELL_LINES = 40


def code_cells(path: Path) -> list[str]:
    return [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_header_states_run_time_and_full_scale(path):
    header = nbformat.read(path, as_version=4).cells[0].source
    assert header.startswith(f"# {path.stem[:2]} · ")
    assert "**Run time:**" in header and "**Full scale:**" in header


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_parameters_cell_with_full_scale_overrides_and_a_seed_cell(path):
    cells = code_cells(path)
    parameters = [source for source in cells if source.startswith("FULL_SCALE = ")]
    assert len(parameters) == 1, "one parameters cell, starting with FULL_SCALE = ..."
    assert re.search(r"^SEED = \d+", parameters[0], re.M)
    assert "FULL_SCALE_OVERRIDES = {" in parameters[0]
    assert parameters[0].rstrip().endswith("globals().update(FULL_SCALE_OVERRIDES)")
    assert not re.search(r"if FULL_SCALE else", parameters[0]), "full-scale values go in FULL_SCALE_OVERRIDES"
    seeds = [source for source in cells if "utils.seed_everything(" in source]
    assert seeds and all("utils.seed_everything(SEED)" in source for source in seeds), \
        "seed with SEED, and let seed_everything choose the threads ($COURSE_THREADS)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_definition_a_cell_of_at_most_40_lines_and_no_getsource(path):
    for source in code_cells(path):
        if source.startswith("# Set-up"):
            continue
        assert source.count("\n") < MAX_CELL_LINES, f"a code cell over {MAX_CELL_LINES} lines:\n{source[:200]}"
        assert "inspect.getsource" not in source, "the code the learner reads is the code in the cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_closing_section_is_results_and_records_them(path):
    cells = nbformat.read(path, as_version=4).cells
    headings = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("## Results")]
    assert len(headings) == 1, "one closing section called ## Results"
    later = [c for c in cells[headings[0]:] if c.cell_type == "markdown" and c.source.startswith("## ")]
    assert len(later) == 1, "Results is the last section"
    assert any("utils.record_results(" in c.source for c in cells[headings[0]:] if c.cell_type == "code")


@pytest.mark.parametrize("path", sorted((ROOT / "results").glob("*.json")), ids=lambda p: p.stem)
def test_every_headline_metric_carries_an_interval(path):
    record = json.loads(path.read_text())
    assert record.get("selected_on") in ("valid", "cv")
    for key in headline_keys(record):
        if key.startswith(("test_", "valid_")):
            low, high = record["intervals"][key]
            assert low <= record["metrics"][key] <= high
