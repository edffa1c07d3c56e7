"""The set-up cell every notebook starts with, kept identical everywhere by this tool.

    python tools/setup_cell.py notebooks/*.ipynb      # rewrite the set-up cell of these notebooks
    python tools/setup_cell.py --check notebooks/*.ipynb

On Colab the cell pip-installs this repository (non-editable, ``--no-deps``: Colab brings its own
torch, numpy, pandas ...) at the ref the notebooks come from, plus the few packages Colab lacks.
Locally it does nothing: ``make run`` already installed everything. ``COURSE_INSTALL_SPEC`` overrides
what is installed; only tests/test_colab.py sets it (to a wheel of the local checkout, offline).
The set-up cell is the first code cell whose source starts with ``# Set-up``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

SETUP_MARK = "# Set-up"
SETUP_SOURCE = '''\
# Set-up. On Colab: install the course helpers (`utils`) from this repository and the packages
# Colab lacks; a GPU runtime is used automatically. Locally `make run` already installed everything.
import os
import subprocess
import sys

COURSE_INSTALL_SPEC = os.environ.get("COURSE_INSTALL_SPEC",
                                     "git+https://github.com/applied-dl-course/course@main")
COLAB_EXTRAS = ["pooch", "gensim", "iterative-stratification"]
if "google.colab" in sys.modules:
    for arguments in (["--no-deps", COURSE_INSTALL_SPEC], COLAB_EXTRAS):
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *arguments], check=True)'''


def setup_cell_index(notebook: nbformat.NotebookNode) -> int:
    """Index of the set-up cell; ``ValueError`` when the notebook has none."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and cell.source.lstrip().startswith(SETUP_MARK):
            return index
    raise ValueError(f"no code cell starting with {SETUP_MARK!r}")


def write_setup_cell(path: Path) -> bool:
    """Replace the set-up cell's source in ``path``; True when the file changed. Outputs are kept."""
    notebook = nbformat.read(path, as_version=4)
    cell = notebook.cells[setup_cell_index(notebook)]
    if cell.source == SETUP_SOURCE:
        return False
    cell.source = SETUP_SOURCE
    nbformat.write(notebook, path)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks whose cell differs")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    stale = []
    for path in args.notebooks:
        try:
            notebook = nbformat.read(path, as_version=4)
            index = setup_cell_index(notebook)
        except (OSError, ValueError) as error:
            print(f"{path}: {error}", file=sys.stderr)
            return 2
        if notebook.cells[index].source != SETUP_SOURCE:
            stale.append(path)
            if not args.check:
                write_setup_cell(path)
                print(f"{path}: set-up cell updated")
    if args.check and stale:
        print("stale set-up cell: " + ", ".join(map(str, stale)) + " (run python tools/setup_cell.py on them)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
