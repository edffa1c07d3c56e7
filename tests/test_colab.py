"""Colab: every notebook's set-up cell installs the packaged `utils`, and the data layer works from it.

No network: the set-up cell's install spec is pointed (``COURSE_INSTALL_SPEC``) at a wheel built from
this checkout, in a throwaway virtual environment that reuses the project's installed packages, with
a fake ``google.colab`` module so that the cell takes its Colab branch.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import nbformat
import pooch
import pytest

download = importlib.import_module("utils.download")
results = importlib.import_module("utils.results")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from setup_cell import SETUP_SOURCE, setup_cell_index  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted((ROOT / "exercises").glob("*.ipynb"))
PACKAGED = ["pyproject.toml", "requirements.txt", "README.md", "utils"]


def setup_source(path: Path) -> str:
    notebook = nbformat.read(path, as_version=4)
    return notebook.cells[setup_cell_index(notebook)].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_notebook_has_the_one_set_up_cell_near_the_top(path):
    notebook = nbformat.read(path, as_version=4)
    index = setup_cell_index(notebook)
    assert notebook.cells[index].source == SETUP_SOURCE, f"run: python tools/setup_cell.py {path.relative_to(ROOT)}"
    code_before = [c for c in notebook.cells[:index] if c.cell_type == "code"]
    assert not code_before, "the set-up cell is the first code cell"
    header = "".join(c.source for c in notebook.cells[: index + 1] if c.cell_type == "markdown")
    assert "colab.research.google.com" in header


def test_outside_a_checkout_data_and_results_stay_out_of_site_packages(tmp_path, monkeypatch):
    installed = tmp_path / "site-packages" / "utils"
    installed.mkdir(parents=True)
    monkeypatch.delenv(download.CACHE_ENV, raising=False)
    monkeypatch.delenv(results.RESULTS_ENV, raising=False)
    monkeypatch.setattr(download, "__file__", str(installed / "download.py"))
    monkeypatch.setattr(results, "CHECKOUT", installed.parent)
    monkeypatch.chdir(tmp_path)
    assert download.cache_dir() == Path(pooch.os_cache("applied-dl-course"))
    assert results.default_results_dir() == tmp_path / "results"
    monkeypatch.setattr(results, "CHECKOUT", ROOT)
    assert results.default_results_dir() == ROOT / "results"  # in a checkout: its results/


@pytest.fixture(scope="module")
def colab_venv(tmp_path_factory) -> tuple[Path, Path]:
    """A throwaway venv that sees the project's packages (torch & co) but not the checkout's `utils`,
    and a wheel of the checkout built from the files the package declares (no network)."""
    work = tmp_path_factory.mktemp("colab")
    source = work / "source"
    source.mkdir()
    for name in PACKAGED:
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, source / name)
    offline = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(work / "wheels"), str(source)], check=True, env=offline, cwd=work)
    wheel = next((work / "wheels").glob("applied_dl_course-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    # The project's site-packages, appended after the venv's own: torch, pandas, pip ... are reused, while
    # its editable-install hook (a .pth file there) is not run, so `utils` resolves only once installed.
    (purelib / "course-packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python, wheel


def run_in(python: Path, code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(not os.environ.get("COURSE_DATA_MIRROR"), reason="needs the offline mirror (COURSE_DATA_MIRROR)")
@pytest.mark.parametrize("source", sorted({setup_source(path) for path in NOTEBOOKS}), ids=lambda s: f"{len(s)}chars")
def test_set_up_cell_on_colab_installs_utils_and_the_data_layer_works(source, colab_venv, tmp_path):
    python, wheel = colab_venv
    content = tmp_path / "content"  # Colab's working directory
    content.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in (download.CACHE_ENV, results.RESULTS_ENV, "PYTHONPATH")}
    env.update(COURSE_INSTALL_SPEC=str(wheel), PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               XDG_CACHE_HOME=str(tmp_path / "cache"), HOME=str(tmp_path / "home"))

    before = run_in(python, "import utils", content, env)
    assert before.returncode != 0 and "No module named 'utils'" in before.stderr, "utils importable before set-up"

    fake_colab = "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n"
    cell = run_in(python, fake_colab + f"exec(compile({source!r}, 'set-up cell', 'exec'), {{}})", content, env)
    assert cell.returncode == 0, cell.stdout + cell.stderr

    probe = textwrap.dedent("""
        import json
        from pathlib import Path
        import utils
        from utils.download import cache_dir
        from utils.results import default_results_dir
        salary = utils.load_salary(nrows=20)
        print(json.dumps({"file": utils.__file__, "cache": str(cache_dir()), "results": str(default_results_dir()),
                          "device": str(utils.get_device()), "rows": len(salary), "source": utils.data_source()}))
    """)
    result = run_in(python, probe, content, env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    installed = Path(report["file"]).resolve()
    assert ROOT not in installed.parents and python.parent.parent in installed.parents, report
    assert "site-packages" not in report["cache"] and Path(report["cache"]) == tmp_path / "cache" / "applied-dl-course"
    assert Path(report["results"]) == content / "results"
    assert report["device"] in ("cpu", "cuda") and report["rows"] == 20


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def colab_packages() -> dict[str, str]:
    """name -> version of Colab's runtime as tests/colab-versions.txt records it."""
    lines = (ROOT / "tests" / "colab-versions.txt").read_text().splitlines()
    return dict(tuple(map(str.strip, line.split("=="))) for line in lines if line.strip() and not line.startswith("#"))


def imported_modules(path: Path) -> set[str]:
    """Top-level modules the code cells of a notebook import (IPython lines skipped)."""
    import ast

    modules = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules


def test_colab_versions_file_records_its_source_and_the_stack_the_issue_names():
    header = (ROOT / "tests" / "colab-versions.txt").read_text().split("\n\n")[0]
    assert "googlecolab/backend-info" in header and "2026-08-19" in header
    packages = {_normalized(name): version for name, version in colab_packages().items()}
    assert packages["numpy"] == "2.1.3" and packages["pandas"] == "2.2.3" and packages["scikit-learn"] == "1.6.1"
    assert packages["transformers"] == "5.15.0" and packages["ipywidgets"] == "7.7.1"


def test_the_set_up_cell_installs_exactly_what_colab_lacks():
    """Every third-party module a lesson imports is on Colab (tests/colab-versions.txt), torch, or one of the
    set-up cell's COLAB_EXTRAS; and none of the extras is already on Colab."""
    import importlib.metadata

    extras = {_normalized(name) for name in re.search(r"COLAB_EXTRAS = (\[.*?\])", SETUP_SOURCE).group(1)
              .strip("[]").replace('"', "").split(", ")}
    colab = {_normalized(name) for name in colab_packages()} | {"torch"}
    assert not extras & colab, f"the set-up cell installs what Colab has: {sorted(extras & colab)}"
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for module in imported_modules(path) - set(sys.stdlib_module_names) - {"utils", "google"}:
            names = {_normalized(name) for name in distributions.get(module, [module])}
            if not names & (colab | extras):
                missing.setdefault(path.name, []).append(module)
    assert not missing, f"imported by a lesson, not on Colab and not installed by the set-up cell: {missing}"
