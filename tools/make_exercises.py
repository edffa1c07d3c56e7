"""Generate the student notebooks in ``exercises/`` from the solved lessons in ``notebooks/``.

    python tools/make_exercises.py            # write exercises/NN_name.ipynb for every marked lesson
    python tools/make_exercises.py --check    # exit 1 when exercises/ is not what the lessons give

A graded blank is a region of a code cell between two marker comments (indented like the code)::

    ### BEGIN SOLUTION
    ### HINT: one short line telling the learner what to write
    ...solution code...
    ### END SOLUTION

In the exercise the region becomes ``# TODO: <hint>`` and ``raise NotImplementedError("<hint>")`` at
the markers' indentation. Everything else is kept, prose and check cells included (the asserts that
follow a blank are its autograder); outputs and execution counts are cleared, a banner cell on top
links the solution, and the Colab badge points at the exercise. Lessons are the notebooks numbered
01 and up; one without any region is skipped with a note. The output is byte-for-byte the same on
every run, so a test can tell when ``exercises/`` is stale.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
EXERCISES = ROOT / "exercises"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from setup_cell import BRANCH, REPOSITORY  # noqa: E402  (pyproject.toml's [project.urls] Repository)

DEFAULT_HINT = "write this step"

BEGIN = re.compile(r"^(?P<indent>\s*)### BEGIN SOLUTION\s*$")
HINT = re.compile(r"^\s*### HINT:\s*(?P<hint>.*?)\s*$")
END = re.compile(r"^(?P<indent>\s*)### END SOLUTION\s*$")
ANY_MARKER = re.compile(r"###\s*(BEGIN SOLUTION|END SOLUTION|HINT:)")


class MarkerError(ValueError):
    """Solution markers that do not pair up (unbalanced, nested, misplaced hint)."""


@dataclass(frozen=True)
class Region:
    """One graded blank: where it is, its hint, and the solution lines it hides."""

    cell: int
    hint: str
    solution: str


def lesson_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The lesson notebooks (``01_*`` and up; ``00_start_here`` has nothing to grade), sorted."""
    return [path for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")) if not path.name.startswith("00_")]


def blank_source(cell_source: str, where: str = "cell") -> tuple[str, list[tuple[str, str]]]:
    """A cell's source with each solution region replaced, and its (hint, solution) pairs.

    Raises:
        MarkerError: a BEGIN inside a region, an END or HINT outside one, a region left open, or a
            HINT that is not the region's first line; the message names ``where`` and the line.
    """
    lines = cell_source.split("\n")
    out: list[str] = []
    regions: list[tuple[str, str]] = []
    begin_line: int | None = None
    indent = hint = ""
    body: list[str] = []
    for number, line in enumerate(lines, start=1):
        begin, end, hint_match = BEGIN.match(line), END.match(line), HINT.match(line)
        if begin:
            if begin_line is not None:
                raise MarkerError(
                    f"{where}, line {number}: BEGIN SOLUTION inside the region opened on line {begin_line}")
            begin_line, indent, hint, body = number, begin["indent"], "", []
        elif end:
            if begin_line is None:
                raise MarkerError(f"{where}, line {number}: END SOLUTION without a BEGIN SOLUTION")
            hint = hint or DEFAULT_HINT
            out += [f"{indent}# TODO: {hint}", f"{indent}raise NotImplementedError({hint!r})"]
            regions.append((hint, "\n".join(body)))
            begin_line = None
        elif hint_match:
            if begin_line is None or body or hint:
                raise MarkerError(f"{where}, line {number}: ### HINT: must be the first line after BEGIN SOLUTION")
            hint = hint_match["hint"]
        elif ANY_MARKER.search(line):
            raise MarkerError(f"{where}, line {number}: malformed solution marker {line.strip()!r}")
        elif begin_line is not None:
            body.append(line)
        else:
            out.append(line)
    if begin_line is not None:
        raise MarkerError(f"{where}, line {begin_line}: BEGIN SOLUTION is never closed by END SOLUTION")
    return "\n".join(out), regions


def find_regions(notebook: nbformat.NotebookNode, name: str = "notebook") -> list[Region]:
    """Every solution region of a notebook, in order (markers checked as by :func:`blank_source`)."""
    regions = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            if ANY_MARKER.search(cell.source):
                raise MarkerError(f"{name}, cell {index}: solution markers belong in code cells")
            continue
        _, pairs = blank_source(cell.source, f"{name}, cell {index}")
        regions += [Region(index, hint, solution) for hint, solution in pairs]
    return regions


def colab_url(path: str) -> str:
    """The Colab address that opens ``path`` (relative to the repository root) from GitHub."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{path}"


def banner(stem: str, n_blanks: int) -> str:
    """The markdown cell that opens every exercise notebook."""
    return (
        f"> **Exercise version** of lesson {stem[:2]}, generated by `make exercises` from the solved notebook "
        f"[`notebooks/{stem}.ipynb`](../notebooks/{stem}.ipynb) "
        f"([open the solution in Colab]({colab_url(f'notebooks/{stem}.ipynb')})). Do not edit it here: "
        "edits belong in the solution, between its solution markers.\n>\n"
        f"> It has **{n_blanks} blanks**. Each is a code cell that says `# TODO:` and raises "
        "`NotImplementedError`: replace those two lines with your code. **How to check your work:** run the "
        "notebook top to bottom (*Run all*); the cells with `assert` right after a blank are its checks, "
        "and the notebook stops at the first blank not yet done or the first check that fails. "
        "Numbers printed by training cells may differ a little from the solution's; the asserts are what count."
    )


def make_exercise(path: Path) -> tuple[nbformat.NotebookNode, list[Region]]:
    """The exercise version of the solved notebook at ``path``, and its regions."""
    notebook = nbformat.read(path, as_version=4)
    regions = find_regions(notebook, path.name)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            cell.source = blank_source(cell.source, f"{path.name}, cell {index}")[0]
            cell.outputs = []
            cell.execution_count = None
        cell.metadata = {key: value for key, value in cell.metadata.items() if key in ("tags", "editable")}
        cell.source = cell.source.replace(f"/blob/{BRANCH}/notebooks/{path.name}",
                                          f"/blob/{BRANCH}/exercises/{path.name}")
    top = nbformat.v4.new_markdown_cell(banner(path.stem, len(regions)))
    top["id"] = "exercise-banner"
    notebook.cells.insert(0, top)
    notebook.metadata = {key: notebook.metadata[key] for key in ("kernelspec", "language_info")
                         if key in notebook.metadata}
    notebook.metadata.get("language_info", {}).pop("version", None)  # the Python that ran the solution
    return notebook, regions


def write_exercises(source: Path = NOTEBOOKS, target: Path = EXERCISES, quiet: bool = False) -> list[Path]:
    """Write one exercise per marked lesson of ``source`` into ``target``; remove stale ones. Returns the paths."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in lesson_notebooks(source):
        notebook, regions = make_exercise(path)
        if not regions:
            if not quiet:
                print(f"skipped {path.name}: no solution regions yet (see CONTRIBUTING.md, 'Exercises')")
            continue
        out = target / path.name
        out.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")
        written.append(out)
        if not quiet:
            print(f"{out.relative_to(target.parent) if target.parent in out.parents else out}: {len(regions)} blanks")
    for stale in sorted(set(target.glob("*.ipynb")) - set(written)):
        stale.unlink()
        if not quiet:
            print(f"removed {stale.name}: its lesson has no solution regions or no longer exists")
    return written


def stale_exercises(source: Path = NOTEBOOKS, target: Path = EXERCISES) -> list[str]:
    """Names of exercise files that differ from, are missing from, or are extra to a fresh generation."""
    with tempfile.TemporaryDirectory() as scratch:
        fresh = {path.name: path.read_bytes() for path in write_exercises(source, Path(scratch), quiet=True)}
    current = {path.name: path.read_bytes() for path in target.glob("*.ipynb")}
    return sorted(name for name in fresh.keys() | current.keys() if fresh.get(name) != current.get(name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if exercises/ is stale, write nothing")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_exercises()
            if stale:
                print(f"exercises/ is stale ({', '.join(stale)}): run `make exercises`", file=sys.stderr)
                return 1
            print("exercises/ is in sync with notebooks/")
            return 0
        write_exercises()
    except MarkerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
