"""Widget state never reaches a committed notebook (tools/notebook_hygiene.py, tools/run_notebooks.py)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import run_notebooks  # noqa: E402
from notebook_hygiene import WIDGET_VIEW, has_widgets, main, strip_widgets  # noqa: E402

COMMITTED = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "exercises").glob("*.ipynb"))
VIEW = {"version_major": 2, "version_minor": 0, "model_id": "4f1c0a"}
STATE = {"application/vnd.jupyter.widget-state+json": {"state": {"4f1c0a": {"model_name": "HBoxModel"}},
                                                        "version_major": 2, "version_minor": 0}}


def widget_notebook() -> nbformat.NotebookNode:
    """A notebook as an executed tqdm.auto loop leaves it, plus outputs that must survive."""
    progress = new_output("display_data", data={WIDGET_VIEW: VIEW, "text/plain": "epoch: 100%|##########| 3/3"},
                          metadata={WIDGET_VIEW: {"some": "thing"}})
    widget_only = new_output("display_data", data={WIDGET_VIEW: dict(VIEW, model_id="77aa")})
    result = new_output("execute_result", data={WIDGET_VIEW: VIEW, "text/plain": "IntSlider(value=3)"},
                        execution_count=2)
    plain = new_output("execute_result", data={"text/plain": "42"}, execution_count=3)
    image = new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    stream = new_output("stream", name="stdout", text="done\n")
    notebook = new_notebook(cells=[
        new_markdown_cell("# title"),
        new_code_cell("for _ in tqdm(range(3)): pass", outputs=[progress, widget_only, stream], execution_count=1),
        new_code_cell("slider", outputs=[result], execution_count=2),
        new_code_cell("6 * 7", outputs=[plain, image], execution_count=3),
    ])
    notebook.metadata["widgets"] = STATE
    notebook.metadata["kernelspec"] = run_notebooks.KERNELSPEC
    nbformat.validate(notebook)
    return notebook


def test_strip_widgets_drops_state_and_views_but_keeps_text():
    notebook = widget_notebook()
    untouched = copy.deepcopy(notebook.cells[3])
    assert has_widgets(notebook)
    assert strip_widgets(notebook) is True
    assert "widgets" not in notebook.metadata and notebook.metadata["kernelspec"]["name"] == "python3"
    progress_cell, slider_cell, plain_cell = notebook.cells[1:]
    assert [o.output_type for o in progress_cell.outputs] == ["display_data", "stream"], "widget-only output dropped"
    assert progress_cell.outputs[0].data == {"text/plain": "epoch: 100%|##########| 3/3"}
    assert progress_cell.outputs[0].metadata == {}
    assert slider_cell.outputs[0].data == {"text/plain": "IntSlider(value=3)"}
    assert slider_cell.outputs[0].execution_count == 2
    assert plain_cell == untouched
    assert not has_widgets(notebook)
    nbformat.validate(notebook)
    assert strip_widgets(notebook) is False, "a clean notebook is left as it is"


def test_cli_strips_in_place_and_check_reports(tmp_path, capsys):
    dirty, clean = tmp_path / "dirty.ipynb", tmp_path / "clean.ipynb"
    nbformat.write(widget_notebook(), dirty)
    notebook = widget_notebook()
    strip_widgets(notebook)
    nbformat.write(notebook, clean)
    clean_bytes = clean.read_bytes()

    assert main(["--check", str(dirty), str(clean)]) == 1
    err = capsys.readouterr().err
    assert str(dirty) in err and str(clean) not in err
    assert has_widgets(nbformat.read(dirty, as_version=4)), "--check writes nothing"

    assert main([str(dirty), str(clean)]) == 0
    assert not has_widgets(nbformat.read(dirty, as_version=4))
    assert clean.read_bytes() == clean_bytes, "a clean notebook is not rewritten"
    assert main(["--check", str(dirty), str(clean)]) == 0


def test_run_notebooks_saves_without_widget_state(tmp_path, monkeypatch):
    class FakeClient:
        """Stands in for nbclient: 'executes' by leaving what a widget-drawing run leaves."""

        def __init__(self, notebook, on_cell_executed, **_):
            self.notebook, self.on_cell_executed = notebook, on_cell_executed

        def execute(self):
            executed = widget_notebook()
            self.notebook.cells, self.notebook.metadata["widgets"] = executed.cells, executed.metadata["widgets"]
            for index, cell in enumerate(self.notebook.cells):
                if cell.cell_type == "code":
                    self.on_cell_executed(cell=cell, cell_index=index, execute_reply={})

    path = tmp_path / "01_demo.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("for _ in tqdm(range(3)): pass")]), path)
    monkeypatch.setattr(run_notebooks, "NotebookClient", FakeClient)
    run_notebooks.run_notebook(path)
    saved = nbformat.read(path, as_version=4)
    assert saved.cells[1].outputs[0].data == {"text/plain": "epoch: 100%|##########| 3/3"}
    assert not has_widgets(saved) and saved.metadata["kernelspec"] == run_notebooks.KERNELSPEC


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_notebooks_carry_no_widget_state(path):
    notebook = nbformat.read(path, as_version=4)
    assert not has_widgets(notebook), f"run: python tools/notebook_hygiene.py {path.relative_to(ROOT)}"
