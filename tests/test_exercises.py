"""The student notebooks in exercises/: in sync with the solutions, well-formed, failing at the first blank.

The generator is tools/make_exercises.py (`make exercises`); the marker convention is in CONTRIBUTING.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from make_exercises import (  # noqa: E402
    MarkerError,
    blank_source,
    find_regions,
    lesson_notebooks,
    stale_exercises,
    write_exercises,
)

LESSONS = lesson_notebooks()
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
MIN_BLANKS = 3


def regions_of(path: Path):
    return find_regions(nbformat.read(path, as_version=4), path.name)


def test_exercises_are_in_sync_with_the_solutions():
    stale = stale_exercises()
    assert not stale, f"exercises/ is stale ({', '.join(stale)}): run `make exercises` and commit exercises/"


def test_one_exercise_per_marked_lesson():
    marked = {path.name for path in LESSONS if regions_of(path)}
    assert {path.name for path in EXERCISES} == marked
    assert marked, "no lesson has solution markers"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_every_lesson_has_graded_blanks(path):
    regions = regions_of(path)  # raises MarkerError on unbalanced or nested markers
    assert len(regions) >= MIN_BLANKS, f"{path.name}: {len(regions)} graded blanks, want at least {MIN_BLANKS}"
    assert all(region.solution.strip() and region.hint for region in regions)


@pytest.mark.parametrize(
    "source, message",
    [
        ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
        ("x = 1\n### END SOLUTION\n", "without a BEGIN"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "inside the region"),
        ("### BEGIN SOLUTION\nx = 1\n### HINT: late\n### END SOLUTION\n", "first line after BEGIN"),
        ("### HINT: stray\n", "first line after BEGIN"),
        ("### BEGIN SOLUTION: x\nx = 1\n", "malformed"),
    ],
)
def test_bad_markers_are_a_clear_error(source, message):
    with pytest.raises(MarkerError, match=message):
        blank_source(source)


def test_a_region_becomes_hint_and_raise_at_its_indentation():
    source = ("def f(x):\n    ### BEGIN SOLUTION\n    ### HINT: double it\n    y = 2 * x\n    return y\n"
              "    ### END SOLUTION\n")
    blanked, regions = blank_source(source)
    assert blanked == "def f(x):\n    # TODO: double it\n    raise NotImplementedError('double it')\n"
    assert regions == [("double it", "    y = 2 * x\n    return y")]
    namespace: dict = {}
    exec(blanked, namespace)
    with pytest.raises(NotImplementedError, match="double it"):
        namespace["f"](1)


def test_generation_is_deterministic(tmp_path):
    first = {p.name: p.read_bytes() for p in write_exercises(target=tmp_path / "a", quiet=True)}
    second = {p.name: p.read_bytes() for p in write_exercises(target=tmp_path / "b", quiet=True)}
    assert first == second


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.name)
def test_exercise_is_a_clean_student_notebook(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    solution = ROOT / "notebooks" / path.name
    regions = regions_of(solution)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), "outputs left in"
    text = "\n".join(cell.source for cell in notebook.cells)
    assert "SOLUTION" not in text and "### HINT" not in text, "a marker survived"
    for region in regions:
        assert region.solution.strip() not in text, f"solution code of {region.hint!r} leaked"
        assert f"raise NotImplementedError({region.hint!r})" in text
    assert text.count("raise NotImplementedError(") >= len(regions)
    assert "Exercise version" in notebook.cells[0].source and f"../notebooks/{path.name}" in notebook.cells[0].source
    assert f"/blob/main/exercises/{path.name}" in notebook.cells[1].source, "the Colab badge opens the exercise"
    checks = [cell for cell in code if "assert " in cell.source]
    solved_checks = [c for c in nbformat.read(solution, as_version=4).cells
                     if c.cell_type == "code" and "assert " in c.source]
    assert len(checks) == len(solved_checks), "every check cell of the solution is kept"


@pytest.mark.slow  # executes each exercise up to its first blank: 5-60 s a notebook, 1.5 min in all
@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.name)
def test_exercise_run_as_is_stops_at_its_first_blank(path):
    """Executed untouched, the exercise runs every cell before its first blank and fails there with the hint."""
    notebook = nbformat.read(path, as_version=4)
    first = find_regions(nbformat.read(ROOT / "notebooks" / path.name, as_version=4))[0]
    blank_cell = first.cell + 1  # the banner cell comes first
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with pytest.raises(CellExecutionError) as raised:
        client.execute()
    assert raised.value.ename == "NotImplementedError" and first.hint in raised.value.evalue
    failed = [i for i, cell in enumerate(notebook.cells)
              if cell.cell_type == "code" and any(o.output_type == "error" for o in cell.outputs)]
    assert failed == [blank_cell], f"failed in cells {failed}, expected only the first blank's cell {blank_cell}"
    before = [cell for cell in notebook.cells[:blank_cell] if cell.cell_type == "code" and cell.source.strip()]
    assert all(cell.execution_count is not None for cell in before), "a cell before the first blank did not run"
