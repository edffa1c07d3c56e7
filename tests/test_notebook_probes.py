"""The harness that tries exercise mutants and probes inside a lesson's kernel (tests/notebook_probes.py)."""

from __future__ import annotations

import nbformat
import pytest

from tests.notebook_probes import CellError, Mutant, Probe, mutate, run_lesson

CELLS = [
    "FULL_SCALE = False\nROWS = 1000\nFULL_SCALE_OVERRIDES = {}",
    "def relu(x):\n    ### BEGIN SOLUTION\n    ### HINT: clip at zero\n    return max(x, 0)\n    ### END SOLUTION\n"
    "\nvalues = [relu(v) for v in (-1, 2)]",
    "assert values == [0, 2], values",
    "assert ROWS >= 1000, 'a quality bar missed at reduced size'",
    "total = sum(values) + ROWS",
]


def write(tmp_path, cells=CELLS):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    path = tmp_path / "99_toy.ipynb"
    nbformat.write(notebook, path)
    return path


def test_mutate_replaces_the_region_at_its_indentation():
    assert mutate(CELLS[1], "return x") == "def relu(x):\n    return x\n\nvalues = [relu(v) for v in (-1, 2)]"
    with pytest.raises(ValueError, match="no ### BEGIN SOLUTION"):
        mutate("x = 1", "x = 2")


def test_wrong_answers_are_caught_right_ones_are_not_and_the_run_goes_on(tmp_path):
    run = run_lesson(
        write(tmp_path),
        overrides="ROWS = 10",
        mutants=[Mutant("identity", "def relu", "return x"), Mutant("abs", "def relu", "return abs(x)"),
                 Mutant("right in other words", "def relu", "return x if x > 0 else 0")],
        probes=[Probe("state after the last cell", after="total =", code="assert total == 12, total"),
                Probe("a failing probe", after="values ==", code="raise RuntimeError('device mix')")],
    )
    assert run.caught["identity"].startswith("AssertionError: [-1, 2]")
    assert run.caught["abs"].startswith("AssertionError")
    assert run.caught["right in other words"] is None
    assert run.probe_errors == {"state after the last cell": None, "a failing probe": "RuntimeError: device mix"}
    assert run.tolerated == ["cell 3: AssertionError: a quality bar missed at reduced size"]


def test_errors_outside_spans_stop_the_run_and_anchors_must_exist(tmp_path):
    with pytest.raises(CellError, match="code cell 4 raised NameError"):
        run_lesson(write(tmp_path, CELLS[:4] + ["total = undefined"]))
    with pytest.raises(ValueError, match="no code cell"):
        run_lesson(write(tmp_path), mutants=[Mutant("x", "def missing", "pass")])
    with pytest.raises(ValueError, match="never reached"):
        run_lesson(write(tmp_path), stop_after="values ==", probes=[Probe("late", "total =", "pass")])


def test_a_reduced_run_never_writes_results(tmp_path):
    probe = Probe("results go to a temporary folder", after="total =", code=(
        "import os, pathlib\nfolder = pathlib.Path(os.environ['COURSE_RESULTS_DIR'])\n"
        "assert folder.name.startswith('lesson-probe-results-') and folder.is_dir(), folder"))
    assert run_lesson(write(tmp_path), probes=[probe]).probe_errors == {probe.name: None}
