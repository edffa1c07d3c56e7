"""Execute notebooks top to bottom, in place, with a progress bar over their cells.

    python tools/run_notebooks.py notebooks/00_start_here.ipynb [more.ipynb ...]

Each notebook is saved with its outputs and execution counts (what nbval compares against),
its kernelspec normalised to ``python3`` and its widget state stripped (tools/notebook_hygiene.py).
A failing cell stops the run with its error, and the notebook is saved up to that cell so the
error can be read in JupyterLab.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))

from notebook_hygiene import strip_widgets  # noqa: E402

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def run_notebook(path: Path, timeout: int = 1800) -> float:
    """Execute ``path`` in place; return the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["kernelspec"] = KERNELSPEC
    code_cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    bar = tqdm(total=code_cells, desc=path.stem, unit="cell")
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_executed=lambda cell, cell_index, execute_reply: bar.update(1),
    )
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        bar.close()
        notebook.metadata["kernelspec"] = KERNELSPEC
        strip_widgets(notebook)
        nbformat.write(notebook, path)
    return time.perf_counter() - start


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: python tools/run_notebooks.py NOTEBOOK.ipynb [...]", file=sys.stderr)
        return 2
    for name in paths:
        try:
            seconds = run_notebook(Path(name))
        except CellExecutionError as error:
            print(f"\n{name} failed:\n{error}", file=sys.stderr)
            return 1
        print(f"{name}: {seconds / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
