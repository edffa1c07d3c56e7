"""tools/export_saved.py: the notebooks' ``#@save`` cells become utils/lessons.py (``make export``)."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from export_saved import HEADER, ExportError, defined_names, is_saved, main, module_code, render  # noqa: E402

AREA = """#@save
from __future__ import annotations
import math


def area(radius: float) -> float:
    \"\"\"A circle's area.\"\"\"
    ### BEGIN SOLUTION
    ### HINT: pi times the radius squared
    return math.pi * radius**2
    ### END SOLUTION"""

EXPECTED = HEADER + '''
from __future__ import annotations


# generated from notebooks/01_first.ipynb, cell 1
import math


def area(radius: float) -> float:
    """A circle's area."""
    return math.pi * radius**2


# generated from notebooks/01_first.ipynb, cell 3
SCALE = 3


# generated from notebooks/02_second.ipynb, cell 0
class Doubler:
    def __call__(self, x):
        return SCALE * area(x) * 0 + 2 * x
'''


def write(path: Path, cells: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells), path)
    return path


@pytest.fixture
def notebooks(tmp_path) -> Path:
    folder = tmp_path / "notebooks"
    write(folder / "02_second.ipynb", [
        new_code_cell("#@save\nclass Doubler:\n    def __call__(self, x):\n        return SCALE * area(x) * 0 + 2 * x"),
        new_code_cell("Doubler()(2)"),
    ])
    write(folder / "01_first.ipynb", [
        new_markdown_cell("# 01 · First\n\n#@save in markdown is not exported"),
        new_code_cell(AREA),
        new_code_cell("# a cell that is not saved\n#@save\nNOT_EXPORTED = 1"),
        new_code_cell("#@save  # the scale the next lesson reuses\nSCALE = 3\n"),
        new_code_cell("#@saved\nALSO_NOT = 1"),
        new_code_cell("%time area(1)"),  # IPython is fine outside #@save cells
    ])
    return folder


def run(notebooks: Path, output: Path, *extra: str) -> int:
    return main(["--notebooks", str(notebooks), "--output", str(output), *extra])


def test_saved_cells_are_exported_in_notebook_order_without_markers(notebooks, tmp_path):
    output = tmp_path / "lessons.py"
    assert run(notebooks, output) == 0
    assert output.read_text() == EXPECTED
    namespace: dict = {}
    exec(compile(output.read_text(), str(output), "exec"), namespace)
    assert namespace["area"](1.0) == pytest.approx(3.14159, abs=1e-5)
    assert namespace["Doubler"]()(2) == 4 and "NOT_EXPORTED" not in namespace and "ALSO_NOT" not in namespace


def test_check_mode_passes_when_fresh_and_names_a_stale_or_missing_file(notebooks, tmp_path, capsys):
    output = tmp_path / "lessons.py"
    assert run(notebooks, output, "--check") == 1, "a missing module is stale"
    assert not output.exists(), "--check writes nothing"
    assert run(notebooks, output) == 0
    assert run(notebooks, output, "--check") == 0
    capsys.readouterr()

    output.write_text(output.read_text().replace("SCALE = 3", "SCALE = 4"))  # someone edited the generated file
    assert run(notebooks, output, "--check") == 1
    assert str(output) in capsys.readouterr().err
    assert "SCALE = 4" in output.read_text()

    assert run(notebooks, output) == 0
    notebook = nbformat.read(notebooks / "02_second.ipynb", as_version=4)
    notebook.cells[0].source += "\n\nTRIPLE = 3"  # the notebook changed, the module was not re-exported
    nbformat.write(notebook, notebooks / "02_second.ipynb")
    assert run(notebooks, output, "--check") == 1
    assert run(notebooks, output) == 0 and output.read_text().endswith("TRIPLE = 3\n")


def test_without_saved_cells_the_module_is_only_the_header(tmp_path):
    folder = tmp_path / "notebooks"
    write(folder / "00_start.ipynb", [new_code_cell("x = 1")])
    output = tmp_path / "lessons.py"
    assert run(folder, output) == 0
    assert output.read_text() == HEADER
    assert "make export" in HEADER and "do not edit" in HEADER and "#@save" in HEADER


def test_future_import_goes_first_once(tmp_path):
    folder = tmp_path / "notebooks"
    write(folder / "01.ipynb", [new_code_cell("#@save\nA = 1"),
                                new_code_cell("#@save\nfrom __future__ import annotations\nB = 2"),
                                new_code_cell("#@save\nfrom __future__ import annotations\nC = 3")])
    text = render([folder / "01.ipynb"])
    assert text.count("from __future__ import annotations") == 1
    assert text.index("from __future__") < text.index("A = 1")


@pytest.mark.parametrize("line", ["%matplotlib inline", "!pip install x", "    %time f()", "  !ls"])
def test_ipython_lines_are_an_error(tmp_path, line, capsys):
    folder = tmp_path / "notebooks"
    write(folder / "03_magic.ipynb", [new_markdown_cell("x"), new_code_cell(f"#@save\nif True:\n{line}\nA = 1")])
    with pytest.raises(ExportError, match=r"notebooks/03_magic.ipynb, cell 1, line 3: IPython-only"):
        render([folder / "03_magic.ipynb"])
    assert run(folder, tmp_path / "lessons.py") == 2
    assert "IPython-only" in capsys.readouterr().err
    assert not (tmp_path / "lessons.py").exists()


def test_broken_markers_and_invalid_python_are_errors():
    with pytest.raises(ExportError, match="never closed"):
        module_code("#@save\n### BEGIN SOLUTION\nx = 1\n", "nb, cell 1")
    with pytest.raises(ExportError, match="not valid Python"):
        module_code("#@save\ndef f(:\n    pass\n", "nb, cell 1")


@pytest.mark.parametrize("source, saved", [
    ("#@save", True), ("#@save\nx = 1", True), ("#@save # why\nx = 1", True), ("#@save   \nx", True),
    ("#@saved\nx", False), (" #@save\nx", False), ("x = 1  #@save", False), ("# @save\nx", False),
    ("x = 1\n#@save", False),
])
def test_only_a_first_line_of_exactly_save_marks_a_cell(source, saved):
    assert is_saved(new_code_cell(source)) is saved
    assert not is_saved(new_markdown_cell(source))


def test_the_repositorys_generated_module_is_fresh(capsys):
    assert main(["--check"]) == 0, "utils/lessons.py is stale: run `make export`\n" + capsys.readouterr().err


def test_two_saved_cells_defining_one_name_are_an_error(notebooks, tmp_path, capsys):
    write(notebooks / "03_third.ipynb", [
        new_code_cell("#@save\nimport math\n\n\ndef area(r):\n    return math.pi * r * r"),   # 01 defines area too
    ])
    output = tmp_path / "lessons.py"
    assert run(notebooks, output) == 2 and not output.exists()
    error = capsys.readouterr().err
    assert "03_third.ipynb, cell 0 defines 'area'" in error
    assert "which notebooks/01_first.ipynb, cell 1 already defines" in error


@pytest.mark.parametrize("code, names", [
    ("def f(): pass\nclass C: pass\nX = 1\nY: int = 2\na, (b, c) = 1, (2, 3)", ["f", "C", "X", "Y", "a", "b", "c"]),
    ("import os\nfrom math import pi\nD = {}\nD['k'] = 1\nD.update(x=1)\nX += 1", ["D"]),
])
def test_defined_names(code, names):
    assert defined_names(code) == names
