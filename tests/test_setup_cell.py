"""tools/setup_cell.py: the set-up cell, and the header's run-time line generated from results/*.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import setup_cell  # noqa: E402
from setup_cell import (  # noqa: E402
    REPOSITORY,
    SETUP_SOURCE,
    load_record,
    main,
    read_repository,
    rewrite_runtime,
    runtime_line,
    with_badges,
)

BADGE = f'<a href="https://colab.research.google.com/github/{REPOSITORY}/blob/main/notebooks/01_demo.ipynb"></a>'
HEADER = f"""# 01 · Demo

{BADGE}

**Run time:** about 5 minutes on a 2-core laptop CPU with the offline mirror (the first
2,499 ads), every model of the lesson included; a GPU is not needed.

**Full scale:** set `FULL_SCALE = True`.

What the lesson is about. **Run time:** in prose is left alone."""
LINE = ("**Run time:** about 4 minutes on a 2-core CPU (4.2 measured on 2026-11-21 with the offline mirror's data; "
        "`make run` re-measures it).")
RECORD = {"notebook": "01_demo", "runtime_seconds": 252.1, "date": "2026-11-21", "metrics": {}}


@pytest.mark.parametrize("seconds, minutes, measured", [
    (252.1, "about 4 minutes", "(4.2 measured"), (17.5, "about 1 minute ", "(0.3 measured"),
    (546.6, "about 9 minutes", "(9.1 measured"), (150.0, "about 3 minutes", "(2.5 measured"),
    (87.0, "about 1 minute ", "(1.4 measured"), (93.0, "about 2 minutes", "(1.6 measured"),
    (0, "about 1 minute ", "(0.0"),
])
def test_runtime_line_rounds_the_measured_minutes(seconds, minutes, measured):
    line = runtime_line({"runtime_seconds": seconds, "date": "2030-01-02"})
    assert line.startswith(f"**Run time:** {minutes}") and measured in line
    assert line.endswith(" measured on 2030-01-02 with the offline mirror's data; `make run` re-measures it).")


def test_runtime_line_exact_text():
    assert runtime_line(RECORD) == LINE


def test_a_statement_over_two_lines_is_replaced_and_the_rest_kept():
    rewritten = rewrite_runtime(HEADER, LINE)
    assert rewritten == HEADER.replace(
        "**Run time:** about 5 minutes on a 2-core laptop CPU with the offline mirror (the first\n"
        "2,499 ads), every model of the lesson included; a GPU is not needed.", LINE)
    assert "\n\n**Full scale:** set `FULL_SCALE = True`.\n\nWhat the lesson is about." in rewritten
    assert rewrite_runtime(rewritten, LINE) == rewritten, "idempotent"


@pytest.mark.parametrize("old, new", [
    # one line, then a blank line
    ("**Run time:** about 1 minutes on a 2-core CPU.\n\nNext.", f"{LINE}\n\nNext."),
    # continuation lines up to a line starting with **
    ("**Run time:** about 8 minutes (7.6 measured in CI),\nonce cached.\n**Full scale:** big.\n",
     f"{LINE}\n**Full scale:** big.\n"),
    # a bold label inside the paragraph starts a new line, what follows it is kept
    ("**Run time:** about a minute (one thread); the data come from a\ndownload of 3.5 MB. **Full scale:** the\n"
     "parameters cell.\n\nBody.", f"{LINE}\n**Full scale:** the\nparameters cell.\n\nBody."),
    ("**Run time:** a minute **Full scale:** x", f"{LINE}\n**Full scale:** x"),
    # a second sentence about something else stays in the paragraph
    ("**Run time:** about 8 minutes, once cached. The cache is built **once** by `make lm`\n(14 minutes).\n",
     f"{LINE} The cache is built **once** by `make lm`\n(14 minutes).\n"),
    # no full stop at all: the paragraph is the statement
    ("**Run time:** a few minutes\non a laptop\n\nBody", f"{LINE}\n\nBody"),
    # the last line of the cell
    ("# T\n\n**Run time:** about 2 minutes.", f"# T\n\n{LINE}"),
])
def test_rewrite_runtime_shapes(old, new):
    assert rewrite_runtime(old, LINE) == new
    assert rewrite_runtime(new, LINE) == new


@pytest.mark.parametrize("markdown", ["# T\n\nno run time here", "# T\n\n  **Run time:** indented", "Run time: 3 min"])
def test_without_a_run_time_line_nothing_changes(markdown):
    assert rewrite_runtime(markdown, LINE) == markdown


def demo_notebook(header: str = HEADER) -> nbformat.NotebookNode:
    return new_notebook(cells=[new_markdown_cell(header), new_code_cell(SETUP_SOURCE),
                               new_markdown_cell("**Run time:** of a later cell stays"), new_code_cell("x = 1")])


@pytest.fixture
def project(tmp_path) -> tuple[Path, Path]:
    results, notebooks = tmp_path / "results", tmp_path / "notebooks"
    results.mkdir()
    notebooks.mkdir()
    (results / "01_demo.json").write_text(json.dumps(RECORD))
    (results / "03_banner.json").write_text(json.dumps(RECORD))
    nbformat.write(demo_notebook(), notebooks / "01_demo.ipynb")
    nbformat.write(demo_notebook(), notebooks / "02_no_results.ipynb")
    exercise = demo_notebook()  # like exercises/: a banner cell before the header
    exercise.cells.insert(0, new_markdown_cell("> **Exercise version** of lesson 03"))
    nbformat.write(exercise, notebooks / "03_banner.ipynb")
    return results, notebooks


def test_cli_rewrites_the_run_time_line_and_check_reports_stale(project, capsys):
    results, notebooks = project
    paths = sorted(notebooks.glob("*.ipynb"))
    before = {path.name: path.read_bytes() for path in paths}
    arguments = ["--results", str(results), *map(str, paths)]

    assert main(["--check", *arguments]) == 1
    err = capsys.readouterr().err
    assert "01_demo.ipynb (run-time line)" in err and "02_no_results" not in err and "03_banner" not in err
    assert {path.name: path.read_bytes() for path in paths} == before, "--check writes nothing"

    assert main(arguments) == 0
    demo = nbformat.read(notebooks / "01_demo.ipynb", as_version=4)
    assert demo.cells[0].source == rewrite_runtime(HEADER, LINE) and LINE in demo.cells[0].source
    assert demo.cells[2].source == "**Run time:** of a later cell stays", "only the first markdown cell"
    for name in ("02_no_results.ipynb", "03_banner.ipynb"):
        assert (notebooks / name).read_bytes() == before[name], f"{name} has no results or no header line"
    assert main(["--check", *arguments]) == 0

    record = dict(RECORD, runtime_seconds=600.0, date="2030-05-06")  # a new measurement
    (results / "01_demo.json").write_text(json.dumps(record))
    assert main(["--check", *arguments]) == 1
    assert main(arguments) == 0
    assert "about 10 minutes on a 2-core CPU (10.0 measured on 2030-05-06" in \
        nbformat.read(notebooks / "01_demo.ipynb", as_version=4).cells[0].source


def test_cli_also_restores_the_set_up_cell(project, capsys):
    results, notebooks = project
    path = notebooks / "02_no_results.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[1].source = "# Set-up. edited by hand"
    nbformat.write(notebook, path)
    assert main(["--check", "--results", str(results), str(path)]) == 1
    assert "(set-up cell)" in capsys.readouterr().err
    assert main(["--results", str(results), str(path)]) == 0
    assert nbformat.read(path, as_version=4).cells[1].source == SETUP_SOURCE


def test_a_results_file_without_run_time_is_an_error(project, capsys):
    results, notebooks = project
    (results / "01_demo.json").write_text(json.dumps({"notebook": "01_demo"}))
    with pytest.raises(ValueError, match="runtime_seconds"):
        load_record(notebooks / "01_demo.ipynb", results)
    assert main(["--results", str(results), str(notebooks / "01_demo.ipynb")]) == 2


def test_the_lessons_state_the_run_time_their_results_measured(capsys):
    paths = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "exercises").glob("*.ipynb"))
    assert main(["--check", *map(str, paths)]) == 0, capsys.readouterr().err


def test_the_repository_slug_is_read_from_pyproject(tmp_path):
    assert REPOSITORY.count("/") == 1 and f"git+https://github.com/{REPOSITORY}@main" in SETUP_SOURCE
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project.urls]\nRepository = "https://github.com/a-fork/the-course.git"\n')
    assert read_repository(pyproject) == "a-fork/the-course"
    pyproject.write_text('[project]\nname = "x"\n')
    with pytest.raises(ValueError, match="Repository"):
        read_repository(pyproject)


def test_badges_follow_the_setting(monkeypatch, project, capsys):
    results, notebooks = project
    monkeypatch.setattr(setup_cell, "REPOSITORY", "a-fork/the-course")
    assert with_badges(BADGE) == BADGE.replace(REPOSITORY, "a-fork/the-course")
    readme = notebooks.parent / "README.md"
    readme.write_text(f"# Course\n\n{BADGE.replace('01_demo', '00_start')}\n\nprose\n")
    paths = [str(readme), str(notebooks / "02_no_results.ipynb")]
    assert main(["--check", "--results", str(results), *paths]) == 1
    assert "README.md (Colab badge)" in capsys.readouterr().err
    assert main(["--results", str(results), *paths]) == 0
    assert "github/a-fork/the-course/blob/main/notebooks/00_start.ipynb" in readme.read_text()
    header = nbformat.read(notebooks / "02_no_results.ipynb", as_version=4).cells[0].source
    assert "github/a-fork/the-course/blob/main/notebooks/01_demo.ipynb" in header


def test_the_slug_is_written_once_by_hand():
    """pyproject.toml's [project.urls] Repository is the one place; README.md's badge is generated (checked
    here), and the notebooks' and exercises' badges and set-up cells are checked by the run-time test above."""
    import subprocess

    listed = subprocess.run(["git", "grep", "-l", "-F", REPOSITORY, "--", ":!notebooks", ":!exercises"], cwd=ROOT,
                            capture_output=True, text=True, check=False).stdout.split()
    assert set(listed) <= {"pyproject.toml", "README.md"}, \
        f"the slug {REPOSITORY} is written by hand in {sorted(set(listed) - {'pyproject.toml', 'README.md'})}: " \
        "read it from tools/setup_cell.py (REPOSITORY) instead"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert with_badges(readme) == readme, "run: python tools/setup_cell.py README.md"
